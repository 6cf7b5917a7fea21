"""Time-based automation rules (issue 11): when a rule anchored at a ticket's last human change
fires, on the ticket's business calendar, and in which order a status's rules are planned."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain import time_rules as tr
from chalicelib.domain.calendar import BusinessCalendar
from chalicelib.domain.errors import FieldError
from chalicelib.domain.time_rules import TimeTrigger, check_trigger, due_at, first_due, next_due

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE_WEEK = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
OFFICE = BusinessCalendar.from_config("Europe/Berlin", OFFICE_WEEK, [])
REMIND = TimeTrigger("pending", "business_days", 3)
CLOSE = TimeTrigger("pending", "business_days", 7)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[arg-type,misc]


def test_three_business_days_after_a_friday_afternoon_is_wednesday_at_the_same_time():
    assert due_at(REMIND, berlin(2026, 12, 4, 15, 0), OFFICE) == berlin(2026, 12, 9, 15, 0)


def test_business_days_skip_holidays_and_land_inside_business_hours():
    christmas = BusinessCalendar.from_config("Europe/Berlin", OFFICE_WEEK, [{"start": "2026-12-24", "end": "2026-12-25"}])
    # Wed 23rd 18:00 (after hours): Mon 28th, Tue 29th, Wed 30th -> 18:00 is closed -> Thu 31st 09:00
    assert due_at(REMIND, berlin(2026, 12, 23, 18, 0), christmas) == berlin(2026, 12, 31, 9, 0)


def test_business_hours_count_only_open_hours():
    # Friday 16:00 + 4 business hours: one hour on Friday, three on Monday
    assert due_at(TimeTrigger("pending", "business_hours", 4), berlin(2026, 12, 4, 16, 0), OFFICE) == berlin(2026, 12, 7, 12, 0)


def test_on_the_always_calendar_a_business_day_is_a_day():
    anchor = datetime(2026, 12, 5, 10, 30, tzinfo=UTC)
    assert due_at(REMIND, anchor, BusinessCalendar.always()) == datetime(2026, 12, 8, 10, 30, tzinfo=UTC)


def test_a_pending_ticket_waits_for_the_reminder_first_then_for_the_close_from_the_same_anchor():
    rules = [("close", CLOSE), ("remind", REMIND), ("solved", TimeTrigger("resolved", "business_days", 1))]
    anchor = berlin(2026, 12, 4, 15, 0)  # Friday
    first = first_due(rules, "pending", anchor, OFFICE)
    assert first is not None and (first.rule_id, first.at) == ("remind", berlin(2026, 12, 9, 15, 0))
    second = next_due(rules, "pending", anchor, OFFICE, first)
    assert second is not None and (second.rule_id, second.at) == ("close", berlin(2026, 12, 15, 15, 0))
    assert next_due(rules, "pending", anchor, OFFICE, second) is None
    assert first_due(rules, "open", anchor, OFFICE) is None


@pytest.mark.parametrize(
    ("trigger", "fields"),
    [
        ({"event": "time", "status_category": "pending", "after": {"business_days": 3}}, []),
        ({"event": "time", "status_category": "closed", "after": {"business_days": 3}}, ["trigger.status_category"]),
        ({"event": "time", "status_category": "pending", "after": {"days": 3}}, ["trigger.after"]),
        ({"event": "time", "status_category": "pending", "after": {"business_days": 0}}, ["trigger.after.business_days"]),
        ({"event": "time", "status_category": "pending", "after": {"business_hours": True}}, ["trigger.after.business_hours"]),
        ({"event": "time"}, ["trigger.status_category", "trigger.after"]),
    ],
)
def test_a_time_trigger_names_a_status_category_and_a_whole_business_duration(trigger, fields):
    errors: list[FieldError] = []
    parsed = check_trigger(trigger, errors)
    assert [e.field for e in errors] == fields
    assert (parsed is not None) == (not fields)
    if parsed is not None:
        assert parsed.to_data() == trigger


def test_a_wait_is_named_by_ticket_version_and_rule_within_step_functions_limits_and_never_due_early():
    assert tr.wait_name("t1", 4, "remind") == "t1-v4-remind"
    long = tr.wait_name("a" * 40, 12, "b" * 40)
    assert len(long) <= 80 and long == tr.wait_name("a" * 40, 12, "b" * 40) != tr.wait_name("a" * 40, 13, "b" * 40)
    due = tr.Due("remind", datetime(2026, 11, 11, 15, 0, 0, 1, tzinfo=UTC))
    payload = tr.wait_input("t1", 4, datetime(2026, 11, 6, 15, 0, 0, 900_000, tzinfo=UTC), due)
    assert (payload["anchor"], payload["due_at"]) == ("2026-11-06T15:00:00Z", "2026-11-11T15:00:01Z")  # due rounded up
