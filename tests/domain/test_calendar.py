"""Business-calendar engine: examples, DST edges, validation and invariants."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chalicelib.domain import calendar as calmod
from chalicelib.domain.calendar import (
    WEEKDAYS,
    BusinessCalendar,
    add_business_time,
    business_seconds_between,
    is_business_time,
    next_business_instant,
)
from chalicelib.domain.errors import ValidationFailed

HOUR = 3600
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
OFFICE_WEEK = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[arg-type,misc]


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)  # type: ignore[arg-type,misc]


def berlin_office(holidays: list[dict[str, str]] | None = None) -> BusinessCalendar:
    return BusinessCalendar.from_config("Europe/Berlin", OFFICE_WEEK, holidays or [])


def one_day_calendar(zone: str, weekday: str, *intervals: tuple[str, str]) -> BusinessCalendar:
    return BusinessCalendar.from_config(zone, {weekday: [list(i) for i in intervals]}, [])


def field_paths(excinfo: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [e.field for e in excinfo.value.errors]


# --------------------------------------------------------------------------- examples


def test_due_time_skips_the_weekend() -> None:
    friday_4pm = local(BERLIN, 2026, 6, 5, 16)
    due = add_business_time(berlin_office(), friday_4pm, 8 * HOUR)
    assert due == local(BERLIN, 2026, 6, 8, 16)
    assert due.tzinfo is UTC


def test_due_time_over_a_dst_weekend_keeps_the_wall_clock() -> None:
    # Clocks spring forward on Sunday 2026-03-29; Monday 16:00 is now CEST.
    friday_4pm = local(BERLIN, 2026, 3, 27, 16)
    due = add_business_time(berlin_office(), friday_4pm, 8 * HOUR)
    assert due == local(BERLIN, 2026, 3, 30, 16)
    assert due == utc(2026, 3, 30, 14)


def test_start_outside_hours_counts_from_the_next_opening() -> None:
    saturday = local(BERLIN, 2026, 6, 6, 11, 30)
    assert add_business_time(berlin_office(), saturday, HOUR) == local(BERLIN, 2026, 6, 8, 10)
    early_monday = local(BERLIN, 2026, 6, 8, 7)
    assert add_business_time(berlin_office(), early_monday, 90) == local(BERLIN, 2026, 6, 8, 9, 1, 30)


def test_target_that_fits_exactly_is_due_at_closing_time() -> None:
    friday_4pm = local(BERLIN, 2026, 6, 5, 16)
    due = add_business_time(berlin_office(), friday_4pm, HOUR)
    assert due == local(BERLIN, 2026, 6, 5, 17)
    assert not is_business_time(berlin_office(), due)
    assert is_business_time(berlin_office(), due - timedelta(seconds=1))


def test_zero_target_is_the_next_business_instant() -> None:
    cal = berlin_office()
    saturday = local(BERLIN, 2026, 6, 6, 11)
    assert add_business_time(cal, saturday, 0) == local(BERLIN, 2026, 6, 8, 9)
    assert next_business_instant(cal, saturday) == local(BERLIN, 2026, 6, 8, 9)
    inside = local(BERLIN, 2026, 6, 8, 10, 15, 7)
    assert add_business_time(cal, inside, 0) == inside
    assert next_business_instant(cal, inside) == inside
    closing = local(BERLIN, 2026, 6, 8, 17)
    assert next_business_instant(cal, closing) == local(BERLIN, 2026, 6, 9, 9)


def test_interval_start_is_business_time_and_its_end_is_not() -> None:
    cal = berlin_office()
    assert is_business_time(cal, local(BERLIN, 2026, 6, 8, 9))
    assert not is_business_time(cal, local(BERLIN, 2026, 6, 8, 8, 59, 59))
    assert is_business_time(cal, local(BERLIN, 2026, 6, 8, 16, 59, 59))
    assert not is_business_time(cal, local(BERLIN, 2026, 6, 8, 17))
    assert not is_business_time(cal, local(BERLIN, 2026, 6, 6, 12))


def test_holiday_range_is_skipped() -> None:
    cal = berlin_office([{"start": "2026-12-24", "end": "2026-12-31"}, {"date": "2027-01-01"}])
    wednesday = local(BERLIN, 2026, 12, 23, 16)
    assert add_business_time(cal, wednesday, 2 * HOUR) == local(BERLIN, 2027, 1, 4, 10)
    assert not is_business_time(cal, local(BERLIN, 2026, 12, 28, 10))
    assert business_seconds_between(cal, local(BERLIN, 2026, 12, 24), local(BERLIN, 2027, 1, 4)) == 0


def test_single_holiday_is_skipped() -> None:
    cal = berlin_office([{"date": "2026-06-08"}])
    friday_4pm = local(BERLIN, 2026, 6, 5, 16)
    assert add_business_time(cal, friday_4pm, 8 * HOUR) == local(BERLIN, 2026, 6, 9, 16)


def test_a_year_long_holiday_range_is_skipped_quickly() -> None:
    cal = berlin_office([{"start": "2026-01-01", "end": "2026-12-31"}])
    started = time.perf_counter()
    due = add_business_time(cal, local(BERLIN, 2025, 12, 31, 16), 2 * HOUR)
    assert time.perf_counter() - started < 0.05
    assert due == local(BERLIN, 2027, 1, 1, 10)  # 2027-01-01 is a Friday


def test_thirty_days_of_business_minutes_is_fast_and_exact() -> None:
    cal = berlin_office([{"start": "2026-07-01", "end": "2026-07-31"}])
    start = local(BERLIN, 2026, 6, 1, 9)
    target = 30 * 24 * 60 * 60  # 720 business hours = 18 office weeks
    started = time.perf_counter()
    due = add_business_time(cal, start, target)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.1
    # June's 22 weekdays give 176 h; July is off; the remaining 544 h are the
    # 68 weekdays from Monday 3 August, ending Wednesday 4 November at 17:00.
    assert due == local(BERLIN, 2026, 11, 4, 17)
    assert business_seconds_between(cal, start, due) == target


def test_split_shift_skips_the_lunch_break() -> None:
    week = {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]}
    cal = BusinessCalendar.from_config("Europe/Berlin", week, [])
    monday_11 = local(BERLIN, 2026, 6, 8, 11)
    assert add_business_time(cal, monday_11, 2 * HOUR) == local(BERLIN, 2026, 6, 8, 14)
    assert add_business_time(cal, monday_11, HOUR) == local(BERLIN, 2026, 6, 8, 12)
    assert not is_business_time(cal, local(BERLIN, 2026, 6, 8, 12, 30))
    assert business_seconds_between(cal, local(BERLIN, 2026, 6, 8), local(BERLIN, 2026, 6, 9)) == 7 * HOUR


def test_midnight_end_runs_into_an_all_day_saturday() -> None:
    week = {
        "fri": [["22:00", "24:00"]],
        "sat": [["00:00", "24:00"]],
        "sun": [["00:00", "06:00"]],
    }
    cal = BusinessCalendar.from_config("Europe/Berlin", week, [])
    assert cal.weekly_seconds == 32 * HOUR
    friday_23 = local(BERLIN, 2026, 6, 5, 23)
    assert is_business_time(cal, local(BERLIN, 2026, 6, 6))  # midnight Fri/Sat
    assert add_business_time(cal, friday_23, HOUR) == local(BERLIN, 2026, 6, 6)
    assert add_business_time(cal, friday_23, 26 * HOUR) == local(BERLIN, 2026, 6, 7, 1)
    assert add_business_time(cal, friday_23, 31 * HOUR) == local(BERLIN, 2026, 6, 7, 6)
    assert add_business_time(cal, friday_23, 31 * HOUR + 1) == local(BERLIN, 2026, 6, 12, 22, 0, 1)


def test_always_calendar_is_plain_addition() -> None:
    cal = BusinessCalendar.always()
    start = utc(2026, 3, 29, 0, 59, 59)
    for seconds in (0, 1, 3601, 86_400 * 400 + 17):
        assert add_business_time(cal, start, seconds) == start + timedelta(seconds=seconds)
    assert business_seconds_between(cal, start, start + timedelta(days=9)) == 9 * 86_400
    assert is_business_time(cal, start)
    assert next_business_instant(cal, start) == start


def test_all_week_calendar_in_a_dst_zone_is_plain_addition() -> None:
    all_day = {day: [["00:00", "24:00"]] for day in WEEKDAYS}
    cal = BusinessCalendar.from_config("Europe/Berlin", all_day, [])
    start = utc(2026, 3, 28, 12)
    for seconds in (1, 86_400, 3 * 86_400 + 5):
        assert add_business_time(cal, start, seconds) == start + timedelta(seconds=seconds)
    autumn = utc(2026, 10, 24, 12)
    assert business_seconds_between(cal, autumn, autumn + timedelta(days=2)) == 2 * 86_400


def test_between_counts_only_business_seconds() -> None:
    cal = berlin_office()
    monday_8 = local(BERLIN, 2026, 6, 8, 8)
    assert business_seconds_between(cal, monday_8, local(BERLIN, 2026, 6, 8, 10)) == HOUR
    assert business_seconds_between(cal, monday_8, local(BERLIN, 2026, 6, 15, 8)) == 40 * HOUR
    assert business_seconds_between(cal, local(BERLIN, 2026, 6, 8, 10), monday_8) == 0
    assert business_seconds_between(cal, monday_8, monday_8) == 0


def test_kolkata_half_hour_offset() -> None:
    cal = BusinessCalendar.from_config("Asia/Kolkata", OFFICE_WEEK, [])
    monday = utc(2026, 6, 8)
    assert next_business_instant(cal, monday) == utc(2026, 6, 8, 3, 30)
    assert add_business_time(cal, monday, 8 * HOUR) == utc(2026, 6, 8, 11, 30)


# --------------------------------------------------------------------------- DST


@pytest.mark.parametrize(
    ("zone", "day", "weekday", "hours", "opens_utc", "closes_utc"),
    [
        # Spring forward: 02:00-03:00 never happens, the interval lasts 2 h.
        (
            "Europe/Berlin",
            date(2026, 3, 29),
            "sun",
            2,
            utc(2026, 3, 29, 0),
            utc(2026, 3, 29, 2),
        ),
        (
            "America/New_York",
            date(2026, 3, 8),
            "sun",
            2,
            utc(2026, 3, 8, 6),
            utc(2026, 3, 8, 8),
        ),
        # Fall back: 02:00-03:00 (01:00-02:00 in New York) happens twice, 4 h.
        (
            "Europe/Berlin",
            date(2026, 10, 25),
            "sun",
            4,
            utc(2026, 10, 24, 23),
            utc(2026, 10, 25, 3),
        ),
        (
            "America/New_York",
            date(2026, 11, 1),
            "sun",
            4,
            utc(2026, 11, 1, 5),
            utc(2026, 11, 1, 9),
        ),
    ],
)
def test_interval_across_a_dst_change_lasts_its_real_elapsed_time(
    zone: str,
    day: date,
    weekday: str,
    hours: int,
    opens_utc: datetime,
    closes_utc: datetime,
) -> None:
    cal = one_day_calendar(zone, weekday, ("01:00", "04:00"))
    tz = ZoneInfo(zone)
    day_start = local(tz, day.year, day.month, day.day)
    next_day = day_start.date() + timedelta(days=1)
    day_end = local(tz, next_day.year, next_day.month, next_day.day)
    assert business_seconds_between(cal, day_start, day_end) == hours * HOUR
    assert next_business_instant(cal, day_start) == opens_utc
    assert add_business_time(cal, day_start, hours * HOUR) == closes_utc
    assert add_business_time(cal, day_start, hours * HOUR + 1) > day_end
    half = add_business_time(cal, day_start, hours * HOUR // 2)
    assert half == opens_utc + (closes_utc - opens_utc) / 2


def test_spring_forward_due_time_jumps_over_the_missing_hour() -> None:
    cal = one_day_calendar("Europe/Berlin", "sun", ("01:00", "04:00"))
    one_thirty = local(BERLIN, 2026, 3, 29, 1, 30)
    # 30 min until 02:00 CET, then the clock reads 03:00 CEST: due 03:30 CEST.
    assert add_business_time(cal, one_thirty, HOUR) == local(BERLIN, 2026, 3, 29, 3, 30)
    assert add_business_time(cal, one_thirty, HOUR) == utc(2026, 3, 29, 1, 30)


def test_fall_back_due_time_counts_the_repeated_hour_twice() -> None:
    cal = one_day_calendar("America/New_York", "sun", ("01:00", "04:00"))
    first_one_thirty = local(NEW_YORK, 2026, 11, 1, 1, 30, fold=0)  # EDT, 05:30Z
    due = add_business_time(cal, first_one_thirty, HOUR)
    # Compare in UTC: PEP 495 makes fold=1 times unequal to every other zone's times.
    assert due == local(NEW_YORK, 2026, 11, 1, 1, 30, fold=1).astimezone(UTC)
    assert due == utc(2026, 11, 1, 6, 30)  # the same wall time again, now EST


def test_interval_starting_inside_the_spring_gap_opens_at_the_transition() -> None:
    cal = one_day_calendar("Europe/Berlin", "sun", ("02:30", "05:00"))
    day_start = local(BERLIN, 2026, 3, 29)
    assert next_business_instant(cal, day_start) == utc(2026, 3, 29, 1)  # 03:00 CEST
    assert business_seconds_between(cal, day_start, local(BERLIN, 2026, 3, 30)) == 2 * HOUR


def test_interval_wholly_inside_the_spring_gap_is_empty_that_day() -> None:
    cal = one_day_calendar("Europe/Berlin", "sun", ("02:00", "02:30"))
    day_start = local(BERLIN, 2026, 3, 29)
    assert business_seconds_between(cal, day_start, local(BERLIN, 2026, 3, 30)) == 0
    assert next_business_instant(cal, day_start) == local(BERLIN, 2026, 4, 5, 2)
    assert business_seconds_between(cal, local(BERLIN, 2026, 4, 5), local(BERLIN, 2026, 4, 6)) == (HOUR // 2)


def test_interval_ending_inside_the_repeated_hour_covers_both_occurrences() -> None:
    cal = one_day_calendar("Europe/Berlin", "sun", ("02:00", "02:30"))
    day_start = local(BERLIN, 2026, 10, 25)
    assert business_seconds_between(cal, day_start, local(BERLIN, 2026, 10, 26)) == HOUR
    first = next_business_instant(cal, day_start)
    assert first == utc(2026, 10, 25, 0)  # 02:00 CEST
    assert add_business_time(cal, day_start, HOUR // 2) == utc(2026, 10, 25, 0, 30)
    assert add_business_time(cal, day_start, HOUR // 2 + 1) == utc(2026, 10, 25, 1, 0, 1)
    assert not is_business_time(cal, utc(2026, 10, 25, 0, 45))  # 02:45 CEST
    assert is_business_time(cal, utc(2026, 10, 25, 1, 15))  # 02:15 CET


def test_lord_howe_half_hour_dst_changes_the_day_by_thirty_minutes() -> None:
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    cal = one_day_calendar("Australia/Lord_Howe", "sun", ("01:00", "04:00"))

    def sunday_seconds(year: int, month: int, day: int) -> int:
        start = local(lord_howe, year, month, day)
        return business_seconds_between(cal, start, start + timedelta(days=1))

    assert sunday_seconds(2026, 10, 4) == 2 * HOUR + 30 * 60  # 02:00 -> 02:30
    assert sunday_seconds(2026, 4, 5) == 3 * HOUR + 30 * 60  # 02:00 -> 01:30
    assert sunday_seconds(2026, 6, 7) == 3 * HOUR


def test_zone_that_changes_at_midnight_starts_the_day_at_the_transition() -> None:
    # Santiago springs forward at 24:00 -> 01:00: 2026-09-06 has no 00:xx.
    cal = one_day_calendar("America/Santiago", "sun", ("00:00", "02:00"))
    saturday_noon = utc(2026, 9, 5, 16)
    assert next_business_instant(cal, saturday_noon) == utc(2026, 9, 6, 4)  # 01:00 -03
    assert add_business_time(cal, saturday_noon, HOUR) == utc(2026, 9, 6, 5)
    assert add_business_time(cal, saturday_noon, HOUR + 1) == utc(2026, 9, 13, 3, 0, 1)


# --------------------------------------------------------------------------- seconds & inputs


def test_sub_second_inputs_are_floored_to_the_second() -> None:
    cal = berlin_office()
    start = local(BERLIN, 2026, 6, 8, 10, 0, 0) + timedelta(microseconds=999_999)
    due = add_business_time(cal, start, 60)
    assert due == local(BERLIN, 2026, 6, 8, 10, 1)
    assert due.microsecond == 0
    assert next_business_instant(cal, start) == local(BERLIN, 2026, 6, 8, 10)
    end = local(BERLIN, 2026, 6, 8, 10, 0, 5) + timedelta(microseconds=500_000)
    assert business_seconds_between(cal, start, end) == 5
    before_opening = local(BERLIN, 2026, 6, 8, 8, 59, 59) + timedelta(microseconds=999_999)
    assert not is_business_time(cal, before_opening)


def test_any_aware_zone_is_accepted_and_the_result_is_utc() -> None:
    cal = berlin_office()
    start = local(NEW_YORK, 2026, 6, 5, 10)  # 16:00 in Berlin
    due = add_business_time(cal, start, 8 * HOUR)
    assert due == local(BERLIN, 2026, 6, 8, 16)
    assert due.tzinfo is UTC


def test_naive_datetimes_are_rejected() -> None:
    cal = berlin_office()
    naive = datetime(2026, 6, 8, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(cal, naive, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        business_seconds_between(cal, naive, utc(2026, 6, 9))
    with pytest.raises(ValueError, match="timezone-aware"):
        is_business_time(cal, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        next_business_instant(cal, naive)


def test_negative_targets_are_rejected() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        add_business_time(berlin_office(), utc(2026, 6, 8), -1)


def test_running_past_the_supported_date_range_raises_overflow() -> None:
    with pytest.raises(OverflowError):
        add_business_time(berlin_office(), utc(9999, 12, 1), 10**9)
    with pytest.raises(OverflowError):
        add_business_time(
            berlin_office([{"start": "2030-01-01", "end": "9999-12-31"}]),
            utc(2030, 1, 1),
            1,
        )


# --------------------------------------------------------------------------- configuration


def test_config_is_normalised() -> None:
    week = {"mon": [["13:00", "17:00"], ["09:00", "13:00"]], "tue": []}
    holidays = [
        {"date": "2026-12-26"},
        {"start": "2026-12-24", "end": "2026-12-25"},
        {"date": "2026-12-31"},
    ]
    cal = BusinessCalendar.from_config("Europe/Berlin", week, holidays)
    assert cal.weekly[0] == ((9 * HOUR, 17 * HOUR),)
    assert cal.weekly[1:] == ((),) * 6
    assert cal.holidays == (
        (date(2026, 12, 24), date(2026, 12, 26)),
        (date(2026, 12, 31), date(2026, 12, 31)),
    )
    assert cal.is_holiday(date(2026, 12, 25))
    assert not cal.is_holiday(date(2026, 12, 27))
    assert cal.weekly_seconds == 8 * HOUR
    assert cal == BusinessCalendar.from_config("Europe/Berlin", week, holidays)
    assert hash(cal) == hash(BusinessCalendar.from_config("Europe/Berlin", week, holidays))


@pytest.mark.parametrize(
    ("timezone", "weekly", "holidays", "paths"),
    [
        ("Mars/Olympus", OFFICE_WEEK, [], ["timezone"]),
        ("", OFFICE_WEEK, [], ["timezone"]),
        ("localtime", OFFICE_WEEK, [], ["timezone"]),
        ("../etc/passwd", OFFICE_WEEK, [], ["timezone"]),
        ("Europe/Berlin", {"mon": [["9:00", "17:00"]]}, [], ["weekly.mon[0][0]"]),
        ("Europe/Berlin", {"mon": [["09:00", "17:60"]]}, [], ["weekly.mon[0][1]"]),
        ("Europe/Berlin", {"mon": [["24:00", "24:00"]]}, [], ["weekly.mon[0][0]"]),
        ("Europe/Berlin", {"mon": [["09:00", "24:01"]]}, [], ["weekly.mon[0][1]"]),
        (
            "Europe/Berlin",
            {"mon": [["09:00", "12:00"], ["13:00", "13:00"]]},
            [],
            ["weekly.mon[1]"],
        ),
        ("Europe/Berlin", {"mon": [["17:00", "09:00"]]}, [], ["weekly.mon[0]"]),
        (
            "Europe/Berlin",
            {"mon": [["09:00", "12:00"], ["11:00", "17:00"]]},
            [],
            ["weekly.mon[1]"],
        ),
        (
            "Europe/Berlin",
            {"mon": [["12:00", "17:00"], ["09:00", "12:30"]]},
            [],
            ["weekly.mon[1]"],
        ),
        ("Europe/Berlin", {"mon": [["09:00"]]}, [], ["weekly.mon[0]"]),
        ("Europe/Berlin", {"mon": "09:00-17:00"}, [], ["weekly.mon"]),
        ("Europe/Berlin", {"monday": [["09:00", "17:00"]]}, [], ["weekly.monday"]),
        ("Europe/Berlin", {"mon": [], "sun": []}, [], ["weekly"]),
        ("Europe/Berlin", {}, [], ["weekly"]),
        ("Europe/Berlin", OFFICE_WEEK, [{"date": "2026-02-30"}], ["holidays[0].date"]),
        ("Europe/Berlin", OFFICE_WEEK, [{"date": "20261225"}], ["holidays[0].date"]),
        (
            "Europe/Berlin",
            OFFICE_WEEK,
            [{"date": "2026-12-25"}, {"start": "2026-12-31", "end": "2026-12-24"}],
            ["holidays[1].end"],
        ),
        ("Europe/Berlin", OFFICE_WEEK, [{"start": "2026-12-24"}], ["holidays[0]"]),
        (
            "Europe/Berlin",
            OFFICE_WEEK,
            [{"date": "2026-12-25", "name": 7}],
            ["holidays[0].name"],
        ),
        ("Europe/Berlin", OFFICE_WEEK, [{"date": "2026-12-25", "note": "X"}], ["holidays[0].note"]),
        ("Europe/Berlin", OFFICE_WEEK, ["2026-12-25"], ["holidays[0]"]),
    ],
)
def test_invalid_config_names_the_offending_field(timezone: str, weekly: object, holidays: object, paths: list[str]) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        BusinessCalendar.from_config(timezone, weekly, holidays)  # type: ignore[arg-type]
    assert field_paths(excinfo) == paths


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        BusinessCalendar.from_config(
            "Nowhere/Town",
            {"mon": [["09:00", "08:00"]], "xyz": []},
            [{"start": "2026-01-02", "end": "2026-01-01"}],
        )
    assert field_paths(excinfo) == [
        "timezone",
        "weekly.xyz",
        "weekly.mon[0]",
        "holidays[0].end",
    ]


# --------------------------------------------------------------------------- properties

ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "America/Santiago",
    "America/Sao_Paulo",
)
# Instants near DST changes of the zones above (Sao Paulo dropped DST in 2019).
TRANSITIONS = tuple(
    utc(*args)
    for args in (
        (2026, 3, 29, 1),
        (2026, 10, 25, 1),
        (2026, 3, 8, 7),
        (2026, 11, 1, 6),
        (2026, 4, 4, 15),
        (2026, 10, 3, 15, 30),
        (2026, 4, 5, 3),
        (2026, 9, 6, 4),
        (2018, 11, 4, 3),
        (2019, 2, 17, 2),
    )
)
LOW, HIGH = utc(2018, 6, 1), utc(2027, 6, 1)
QUARTER = 15 * 60
HEALTH = [HealthCheck.too_slow, HealthCheck.filter_too_much]


def _clock(quarter_hours: int) -> str:
    return f"{quarter_hours // 4:02d}:{quarter_hours % 4 * 15:02d}"


day_hours = st.lists(st.integers(0, 96), max_size=6, unique=True).map(
    lambda marks: [[_clock(a), _clock(b)] for a, b in zip(sorted(marks)[0::2], sorted(marks)[1::2], strict=False)]
)
weekly_hours = st.fixed_dictionaries({day: day_hours for day in WEEKDAYS}).filter(lambda week: any(week.values()))


@st.composite
def holiday_entries(draw: st.DrawFn) -> dict[str, str]:
    first = draw(st.dates(LOW.date(), HIGH.date()))
    length = draw(st.one_of(st.just(0), st.integers(0, 20), st.integers(0, 400)))
    if length == 0 and draw(st.booleans()):
        return {"date": first.isoformat()}
    last = first + timedelta(days=length)
    return {"start": first.isoformat(), "end": last.isoformat()}


calendars = st.builds(
    BusinessCalendar.from_config,
    st.sampled_from(ZONES),
    weekly_hours,
    st.lists(holiday_entries(), max_size=4),
)


def instants(*, minute_aligned: bool = False) -> st.SearchStrategy[datetime]:
    near = st.tuples(st.sampled_from(TRANSITIONS), st.integers(-4 * 86_400, 4 * 86_400)).map(
        lambda pair: pair[0] + timedelta(seconds=pair[1])
    )
    anywhere = st.datetimes(
        min_value=LOW.replace(tzinfo=None),
        max_value=HIGH.replace(tzinfo=None),
        timezones=st.just(UTC),
    )
    strategy = st.one_of(near, anywhere)
    if minute_aligned:
        return strategy.map(lambda t: t.replace(second=0, microsecond=0))
    return strategy.map(lambda t: t.replace(microsecond=0))


durations = st.one_of(
    st.integers(0, 4 * HOUR),
    st.integers(0, 30 * 86_400),
    st.sampled_from([0, 1, QUARTER]),
)


@settings(max_examples=80, deadline=None, suppress_health_check=HEALTH)
@given(cal=calendars, t=instants(), s1=durations, s2=durations)
def test_adding_more_business_time_never_gives_an_earlier_due_time(cal: BusinessCalendar, t: datetime, s1: int, s2: int) -> None:
    small, large = sorted((s1, s2))
    assert add_business_time(cal, t, small) <= add_business_time(cal, t, large)


@settings(max_examples=80, deadline=None, suppress_health_check=HEALTH)
@given(cal=calendars, t1=instants(), t2=instants(), s=durations)
def test_starting_later_never_gives_an_earlier_due_time(cal: BusinessCalendar, t1: datetime, t2: datetime, s: int) -> None:
    early, late = sorted((t1, t2))
    assert add_business_time(cal, early, s) <= add_business_time(cal, late, s)


@settings(max_examples=80, deadline=None, suppress_health_check=HEALTH)
@given(cal=calendars, t=instants(), a=durations, b=durations)
def test_adding_in_two_steps_equals_adding_at_once(cal: BusinessCalendar, t: datetime, a: int, b: int) -> None:
    two_steps = add_business_time(cal, add_business_time(cal, t, a), b)
    at_once = add_business_time(cal, t, a + b)
    if b > 0 or a == 0:
        assert two_steps == at_once
    else:  # b == 0 moves an interval end on to the next opening
        assert two_steps == next_business_instant(cal, at_once)


@settings(max_examples=80, deadline=None, suppress_health_check=HEALTH)
@given(cal=calendars, t=instants(), s=durations)
def test_due_time_is_reached_by_exactly_the_target(cal: BusinessCalendar, t: datetime, s: int) -> None:
    due = add_business_time(cal, t, s)
    assert business_seconds_between(cal, t, due) == s
    if s > 0:
        last_second = due - timedelta(seconds=1)
        assert is_business_time(cal, last_second)
        assert business_seconds_between(cal, last_second, due) == 1
    else:
        assert is_business_time(cal, due)
        assert due == next_business_instant(cal, t)


@settings(max_examples=80, deadline=None, suppress_health_check=HEALTH)
@given(cal=calendars, a=instants(), b=instants(), c=instants())
def test_between_is_additive_over_a_split_point(cal: BusinessCalendar, a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    assume(c - a < timedelta(days=3 * 365))
    whole = business_seconds_between(cal, a, c)
    assert whole == business_seconds_between(cal, a, b) + business_seconds_between(cal, b, c)
    assert business_seconds_between(cal, c, a) == 0


@settings(max_examples=40, deadline=None, suppress_health_check=HEALTH)
@given(
    cal=calendars,
    start=instants(minute_aligned=True),
    minutes=st.integers(0, 3 * 24 * 60),
)
def test_between_matches_a_minute_by_minute_count(cal: BusinessCalendar, start: datetime, minutes: int) -> None:
    # Every zone here has whole-minute offsets, so business time changes only on minutes.
    marks = [start + timedelta(minutes=m) for m in range(minutes)]
    expected = 60 * sum(is_business_time(cal, m) for m in marks)
    assert business_seconds_between(cal, start, start + timedelta(minutes=minutes)) == expected


@settings(max_examples=80, deadline=None, suppress_health_check=HEALTH)
@given(cal=calendars, t=instants())
def test_next_business_instant_agrees_with_is_business_time(cal: BusinessCalendar, t: datetime) -> None:
    nxt = next_business_instant(cal, t)
    assert nxt >= t
    assert is_business_time(cal, nxt)
    assert (nxt == t) == is_business_time(cal, t)
    assert business_seconds_between(cal, t, nxt) == 0


@settings(max_examples=60, deadline=None, suppress_health_check=HEALTH)
@given(
    cal=calendars.filter(lambda c: bool(c.holidays)),
    pick=st.integers(0, 3),
    fractions=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=5),
)
def test_holidays_contain_no_business_time(cal: BusinessCalendar, pick: int, fractions: list[float]) -> None:
    first, last = cal.holidays[pick % len(cal.holidays)]
    zone = cal.zone
    after = last + timedelta(days=1)
    opens = datetime(first.year, first.month, first.day, tzinfo=zone)
    closes = datetime(after.year, after.month, after.day, tzinfo=zone)
    assert business_seconds_between(cal, opens, closes) == 0
    span = (closes - opens).total_seconds()
    for fraction in fractions:
        inside = (opens + timedelta(seconds=int(span * fraction))).astimezone(UTC)
        assert not is_business_time(cal, inside)
    assert next_business_instant(cal, opens) >= closes


@settings(max_examples=40, deadline=None, suppress_health_check=HEALTH)
@given(
    cal=calendars,
    t=instants(),
    s=st.integers(0, 10 * 86_400),
    stop_days=st.integers(0, 60),
)
def test_week_skipping_matches_the_day_by_day_walk(cal: BusinessCalendar, t: datetime, s: int, stop_days: int) -> None:
    t0 = calmod._to_seconds(t)
    assert calmod._walk(cal, t0, s, None) == calmod._walk(cal, t0, s, None, skip_weeks=False)
    stop = t0 + stop_days * 86_400 + 12_345
    assert calmod._walk(cal, t0, None, stop) == calmod._walk(cal, t0, None, stop, skip_weeks=False)
