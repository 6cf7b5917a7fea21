"""Business-calendar engine: business hours, holidays and business-time arithmetic.

Pure standard library (plus ``chalicelib.domain.errors``); no AWS imports.

Semantics
---------
*Business time* is a set of real instants. An instant ``u`` is business time when
its wall-clock reading in the calendar's zone -- local date ``d`` and time of day
``x`` -- satisfies both:

* ``d`` is not inside any holiday (holiday dates are local dates, inclusive), and
* ``x`` lies in one of the half-open wall-clock intervals ``[start, end)`` that
  ``weekly`` defines for ``d``'s weekday (``"24:00"`` as an end means the end of
  the local day).

Every duration is measured in real elapsed seconds. Consequences at DST
transitions, which follow from the definition above with no special case:

* spring forward (a gap): wall-clock times that never happen contribute nothing,
  so an interval spanning the gap is shorter that day (Berlin 2026-03-29,
  ``01:00-04:00`` lasts 2 h). An interval *starting* inside the gap begins at
  the transition instant; one lying wholly inside the gap is empty that day.
* fall back (a repetition): wall-clock times that happen twice count twice, so
  an interval spanning the repetition is longer that day (Berlin 2026-10-25,
  ``01:00-04:00`` lasts 4 h). An interval with an end point inside the repeated
  hour covers exactly the instants whose reading lies in it, which may be two
  separate stretches of real time (``02:00-02:30`` on that day is 30 min in
  summer time plus 30 min in winter time).

In fold terms: an end point outside any gap or repetition maps to its unique
instant; a start in a gap maps to the transition instant; a start or end inside
a repetition splits the interval as described. Assumption: the zone changes its
UTC offset at most once in any 7-day stretch and never moves the clock back
across local midnight (true for every current zone; only some historic
transitions break it).

Boundary conventions
--------------------
* Intervals are half-open: an interval's start is business time, its end is not
  (unless the next interval starts there, e.g. ``"24:00"`` followed by
  ``"00:00"`` the next day). ``is_business_time`` at an interval end is False.
* ``add_business_time(cal, t, s)`` with ``s > 0`` returns the instant at which
  the ``s``-th business second *elapsed*: the second just before the result is
  business time, and the result itself may be exactly an interval end (a target
  that fits Friday's remaining hours exactly is due at Friday 17:00, not Monday
  09:00).
* ``add_business_time(cal, t, 0)`` returns ``next_business_instant(cal, t)``:
  the first business instant at or after ``t``.
* So ``add(add(t, a), b) == add(t, a + b)`` whenever ``b > 0`` or ``a == 0``; for
  ``a > 0, b == 0`` the left side may be later (an interval end moves on to the
  next interval start).

Sub-second inputs
-----------------
All arithmetic is in whole seconds. Every input instant is floored to the whole
second (microseconds dropped) before use, and every returned datetime has
``microsecond == 0`` and ``tzinfo == timezone.utc``. Interval bounds are whole
seconds, so flooring never changes whether an instant is business time.

Inputs must be timezone-aware (any zone; naive raises ``ValueError``); outputs
are UTC. Work that reaches within about two weeks of year 1 or year 9999
raises ``OverflowError``.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.domain.errors import FieldError, ValidationFailed

__all__ = [
    "WEEKDAYS",
    "BusinessCalendar",
    "add_business_time",
    "business_seconds_between",
    "is_business_time",
    "next_business_instant",
]

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

DAY = 86_400
WEEK = 7 * DAY
_SECOND = timedelta(seconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_TIME_RE = re.compile(r"\A([0-9]{2}):([0-9]{2})\Z")
_NOT_IANA_NAMES = frozenset({"localtime", "posixrules", "Factory"})
_DATE_RE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")

# (start, end) seconds since local midnight, 0 <= start < end <= 86400.
Interval = tuple[int, int]


@dataclass(frozen=True)
class BusinessCalendar:
    """Validated, normalised business hours. Build with ``from_config`` or ``always``.

    ``weekly[i]`` holds weekday ``i``'s (Monday = 0) sorted, merged intervals in
    seconds since local midnight; ``holidays`` holds sorted, merged inclusive
    ``(first, last)`` local-date ranges.
    """

    timezone: str
    weekly: tuple[tuple[Interval, ...], ...]
    holidays: tuple[tuple[date, date], ...] = ()
    _holiday_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _holiday_ends: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _weekly_seconds: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ValueError("weekly must have 7 entries (Monday first)")
        ZoneInfo(self.timezone)  # fail fast on direct construction with a bad zone
        starts = tuple(first.toordinal() for first, _ in self.holidays)
        ends = tuple(last.toordinal() for _, last in self.holidays)
        object.__setattr__(self, "_holiday_starts", starts)
        object.__setattr__(self, "_holiday_ends", ends)
        total = sum(end - start for day in self.weekly for start, end in day)
        object.__setattr__(self, "_weekly_seconds", total)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)  # ZoneInfo caches instances by key

    @property
    def weekly_seconds(self) -> int:
        """Wall-clock business seconds in a week without holidays or DST changes."""
        return self._weekly_seconds

    @classmethod
    def always(cls) -> BusinessCalendar:
        """24/7 in UTC with no holidays: business time equals elapsed time."""
        return cls(timezone="UTC", weekly=(((0, DAY),),) * 7)

    @classmethod
    def from_config(
        cls,
        timezone: str,
        weekly: Mapping[str, Sequence[Sequence[str]]],
        holidays: Sequence[Mapping[str, str]],
    ) -> BusinessCalendar:
        """Validate the API shape and build a calendar.

        Raises ``ValidationFailed`` listing every problem with a field path
        (``timezone``, ``weekly``, ``weekly.mon``, ``weekly.mon[1]``,
        ``weekly.mon[1][0]``, ``holidays[0]``, ``holidays[0].end``, ...).
        A weekday missing from ``weekly`` has no business hours.
        """
        errors: list[FieldError] = []
        zone_name = _validate_zone(timezone, errors)
        days = _validate_weekly(weekly, errors)
        ranges = _validate_holidays(holidays, errors)
        if days is not None and not errors and not any(days):
            errors.append(FieldError("weekly", "must contain some business hours in the week"))
        if errors or zone_name is None or days is None or ranges is None:
            raise ValidationFailed(errors)
        return cls(timezone=zone_name, weekly=days, holidays=ranges)

    def is_holiday(self, day: date) -> bool:
        return self._holiday_end(day.toordinal()) is not None

    def _holiday_end(self, ordinal: int) -> int | None:
        """Last ordinal of the holiday range containing ``ordinal``, else None."""
        i = bisect_right(self._holiday_starts, ordinal) - 1
        if i >= 0 and self._holiday_ends[i] >= ordinal:
            return self._holiday_ends[i]
        return None

    def _next_holiday_start(self, ordinal: int) -> int | None:
        """First ordinal > ``ordinal`` starting a holiday range, else None."""
        i = bisect_right(self._holiday_starts, ordinal)
        return self._holiday_starts[i] if i < len(self._holiday_starts) else None

    def _is_always(self) -> bool:
        return not self.holidays and all(day == ((0, DAY),) for day in self.weekly)


# --------------------------------------------------------------------------- validation


def _validate_zone(name: object, errors: list[FieldError]) -> str | None:
    if not isinstance(name, str) or not name:
        errors.append(FieldError("timezone", "must be an IANA time zone name"))
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        errors.append(FieldError("timezone", f"unknown time zone {name!r}"))
        return None
    if name in _NOT_IANA_NAMES or name.startswith(("posix/", "right/")):
        # Files some systems keep beside the zones; "localtime" is the host's zone.
        errors.append(FieldError("timezone", f"unknown time zone {name!r}"))
        return None
    return name


def _parse_clock(value: object, *, is_end: bool) -> int | None:
    """Seconds since midnight for "HH:MM"; "24:00" only as an end."""
    if not isinstance(value, str):
        return None
    m = _TIME_RE.match(value)
    if m is None:
        return None
    hours, minutes = int(m.group(1)), int(m.group(2))
    if hours == 24 and minutes == 0 and is_end:
        return DAY
    if hours > 23 or minutes > 59:
        return None
    return hours * 3600 + minutes * 60


def _validate_weekly(weekly: object, errors: list[FieldError]) -> tuple[tuple[Interval, ...], ...] | None:
    if not isinstance(weekly, Mapping):
        errors.append(FieldError("weekly", "must be an object keyed by weekday (mon..sun)"))
        return None
    ok = True
    days: list[tuple[Interval, ...]] = [()] * 7
    for key in weekly:
        if key not in WEEKDAYS:
            errors.append(
                FieldError(
                    f"weekly.{key}",
                    "unknown weekday; use mon, tue, wed, thu, fri, sat, sun",
                )
            )
            ok = False
    for index, name in enumerate(WEEKDAYS):
        if name not in weekly:
            continue
        parsed = _validate_day(f"weekly.{name}", weekly[name], errors)
        if parsed is None:
            ok = False
        else:
            days[index] = parsed
    return tuple(days) if ok else None


def _validate_day(path: str, value: object, errors: list[FieldError]) -> tuple[Interval, ...] | None:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        errors.append(FieldError(path, 'must be a list of ["HH:MM", "HH:MM"] intervals'))
        return None
    ok = True
    found: list[tuple[int, int, int]] = []  # (start, end, position)
    for i, pair in enumerate(value):
        item = f"{path}[{i}]"
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            errors.append(FieldError(item, 'must be a pair ["HH:MM", "HH:MM"]'))
            ok = False
            continue
        start = _parse_clock(pair[0], is_end=False)
        end = _parse_clock(pair[1], is_end=True)
        if start is None:
            errors.append(FieldError(f"{item}[0]", "must be a time HH:MM from 00:00 to 23:59"))
        if end is None:
            errors.append(FieldError(f"{item}[1]", "must be a time HH:MM from 00:00 to 24:00"))
        if start is None or end is None:
            ok = False
            continue
        if end <= start:
            errors.append(FieldError(item, "end must be after start (use 24:00 for midnight)"))
            ok = False
            continue
        found.append((start, end, i))
    found.sort()
    for (_, prev_end, prev_i), (start, _, i) in itertools.pairwise(found):
        if start < prev_end:
            later, earlier = max(i, prev_i), min(i, prev_i)
            errors.append(FieldError(f"{path}[{later}]", f"overlaps {path}[{earlier}]"))
            ok = False
    if not ok:
        return None
    merged: list[Interval] = []
    for start, end, _ in found:
        if merged and start == merged[-1][1]:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def _parse_date(path: str, value: object, errors: list[FieldError]) -> date | None:
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    errors.append(FieldError(path, "must be a date YYYY-MM-DD"))
    return None


def _validate_holidays(holidays: object, errors: list[FieldError]) -> tuple[tuple[date, date], ...] | None:
    if isinstance(holidays, (str, bytes, Mapping)) or not isinstance(holidays, Sequence):
        errors.append(FieldError("holidays", "must be a list"))
        return None
    ok = True
    ranges: list[tuple[date, date]] = []
    for i, entry in enumerate(holidays):
        path = f"holidays[{i}]"
        if not isinstance(entry, Mapping):
            errors.append(FieldError(path, 'must be {"date": ...} or {"start": ..., "end": ...}'))
            ok = False
            continue
        keys = set(entry) - {"name"}  # a label for people; no effect on the arithmetic
        name = entry.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > 100):
            errors.append(FieldError(f"{path}.name", "must be text of at most 100 characters"))
            ok = False
        if keys == {"date"}:
            day = _parse_date(f"{path}.date", entry["date"], errors)
            if day is None:
                ok = False
            else:
                ranges.append((day, day))
        elif keys == {"start", "end"}:
            first = _parse_date(f"{path}.start", entry["start"], errors)
            last = _parse_date(f"{path}.end", entry["end"], errors)
            if first is None or last is None:
                ok = False
            elif last < first:
                errors.append(FieldError(f"{path}.end", "must not be before start"))
                ok = False
            else:
                ranges.append((first, last))
        else:
            unknown = sorted(str(k) for k in keys - {"date", "start", "end"})
            if unknown:
                for key in unknown:
                    errors.append(FieldError(f"{path}.{key}", "unknown field"))
            else:
                errors.append(FieldError(path, 'must have either "date" or both "start" and "end"'))
            ok = False
    if not ok:
        return None
    ranges.sort()
    merged: list[tuple[date, date]] = []
    for first, last in ranges:
        if merged and first.toordinal() <= merged[-1][1].toordinal() + 1:
            if last > merged[-1][1]:
                merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return tuple(merged)


# --------------------------------------------------------------------------- time helpers


def _to_seconds(t: datetime) -> int:
    """Whole seconds since the Unix epoch, floored; rejects naive datetimes."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")
    return (t - _EPOCH) // _SECOND


def _from_seconds(u: int) -> datetime:
    return _EPOCH + timedelta(seconds=u)


def _offset_at(zone: ZoneInfo, u: int) -> int:
    """UTC offset in seconds in effect at instant ``u``."""
    off = datetime.fromtimestamp(u, zone).utcoffset()
    assert off is not None
    return off // _SECOND


def _wall_offsets(zone: ZoneInfo, n: int) -> tuple[int, int]:
    """UTC offsets zoneinfo gives naive local second ``n`` with fold=0 and fold=1."""
    naive = _NAIVE_EPOCH + timedelta(seconds=n)
    o0 = naive.replace(tzinfo=zone).utcoffset()
    o1 = naive.replace(tzinfo=zone, fold=1).utcoffset()
    assert o0 is not None and o1 is not None
    return o0 // _SECOND, o1 // _SECOND


def _local_ordinal(zone: ZoneInfo, u: int) -> int:
    return (u + _offset_at(zone, u)) // DAY + _EPOCH_ORDINAL


def _day_window(zone: ZoneInfo, ordinal: int) -> tuple[int, int]:
    """UTC range holding every instant whose local date is ``ordinal``."""
    n = (ordinal - _EPOCH_ORDINAL) * DAY
    a0, a1 = _wall_offsets(zone, n)
    b0, b1 = _wall_offsets(zone, n + DAY)
    return n - max(a0, a1), n + DAY - min(b0, b1)


def _constant_offset_pieces(zone: ZoneInfo, lo: int, hi: int) -> list[tuple[int, int, int]]:
    """Split UTC ``[lo, hi)`` into ``(start, end, offset)`` pieces of constant offset."""
    pieces: list[tuple[int, int, int]] = []
    while lo < hi:
        first = _offset_at(zone, lo)
        if _offset_at(zone, hi - 1) == first:
            pieces.append((lo, hi, first))
            break
        good, bad = lo, hi - 1  # offset(good) == first != offset(bad)
        while bad - good > 1:
            mid = (good + bad) // 2
            if _offset_at(zone, mid) == first:
                good = mid
            else:
                bad = mid
        pieces.append((lo, bad, first))
        lo = bad
    return pieces


def _day_intervals(cal: BusinessCalendar, zone: ZoneInfo, ordinal: int) -> list[tuple[int, int]]:
    """Sorted disjoint UTC intervals of business time whose local date is ``ordinal``."""
    hours = cal.weekly[(ordinal - 1) % 7]  # date.fromordinal(1) is a Monday
    if not hours or cal._holiday_end(ordinal) is not None:
        return []
    n = (ordinal - _EPOCH_ORDINAL) * DAY
    lo, hi = _day_window(zone, ordinal)
    out: list[tuple[int, int]] = []
    for p0, p1, off in _constant_offset_pieces(zone, lo, hi):
        for start, end in hours:
            a = max(p0, n + start - off)
            b = min(p1, n + end - off)
            if a < b:
                out.append((a, b))
    out.sort()
    merged: list[tuple[int, int]] = []
    for a, b in out:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def _regular_week_start(zone: ZoneInfo, ordinal: int) -> int | None:
    """UTC start of local day ``ordinal`` if it and day ``ordinal + 7`` share one offset.

    Then the week ``[ordinal, ordinal + 7)`` maps to UTC by one constant shift
    (given the module's at-most-one-transition-per-week assumption).
    """
    n = (ordinal - _EPOCH_ORDINAL) * DAY
    a0, a1 = _wall_offsets(zone, n)
    b0, b1 = _wall_offsets(zone, n + WEEK)
    if a0 == a1 == b0 == b1:
        return n - a0
    return None


def _no_holiday_within(cal: BusinessCalendar, ordinal: int, days: int) -> bool:
    """True when no holiday touches local days ``[ordinal, ordinal + days)``."""
    if cal._holiday_end(ordinal) is not None:
        return False
    following = cal._next_holiday_start(ordinal)
    return following is None or following >= ordinal + days


# --------------------------------------------------------------------------- the walker


def _walk(
    cal: BusinessCalendar,
    t0: int,
    target: int | None,
    stop: int | None,
    *,
    skip_weeks: bool = True,
) -> tuple[int, int]:
    """Count business seconds from instant ``t0``.

    With ``target``: returns ``(instant, target)`` where ``instant`` is when
    ``target`` seconds have elapsed (for ``target == 0``, the next business
    instant). With ``stop``: returns ``(stop, seconds in [t0, stop))``.
    """
    zone = cal.zone
    weekly_seconds = cal.weekly_seconds
    ordinal = _local_ordinal(zone, t0)
    cursor = t0
    counted = 0
    while True:
        holiday_end = cal._holiday_end(ordinal)
        if holiday_end is not None:
            ordinal = holiday_end + 1
            if stop is not None and _day_window(zone, ordinal)[0] >= stop:
                return stop, counted
            continue
        if (
            skip_weeks
            and weekly_seconds > 0
            and (target is None or target - counted > weekly_seconds)
            and (stop is None or stop - cursor > WEEK)
            and _no_holiday_within(cal, ordinal, 7)
        ):
            week_start = _regular_week_start(zone, ordinal)
            if week_start is not None and cursor <= week_start and (stop is None or stop >= week_start + WEEK):
                counted += weekly_seconds
                cursor = week_start + WEEK
                ordinal += 7
                continue
        for a, b in _day_intervals(cal, zone, ordinal):
            if b <= cursor:
                continue
            a = max(a, cursor)
            if stop is not None and a >= stop:
                return stop, counted
            end = b if stop is None else min(b, stop)
            length = end - a
            if target is not None and counted + length >= target:
                return a + (target - counted), target
            counted += length
            cursor = end
            if stop is not None and end >= stop:
                return stop, counted
        ordinal += 1
        if stop is not None and _day_window(zone, ordinal)[0] >= stop:
            return stop, counted


def _walk_in_range(cal: BusinessCalendar, t0: int, target: int | None, stop: int | None) -> tuple[int, int]:
    try:
        return _walk(cal, t0, target, stop)
    except (OverflowError, ValueError) as exc:  # datetime's year 1..9999 limits
        raise OverflowError("business time runs outside the supported date range") from exc


# --------------------------------------------------------------------------- public API


def add_business_time(cal: BusinessCalendar, start: datetime, seconds: int) -> datetime:
    """The UTC instant at which ``seconds`` of business time have elapsed after ``start``.

    Counting begins at ``start`` or, outside business hours, at the next business
    instant. ``seconds == 0`` returns ``next_business_instant(cal, start)``. For
    ``seconds > 0`` the result may be exactly an interval end (see module doc).
    ``start`` is floored to the whole second.
    """
    if seconds < 0:
        raise ValueError("seconds must be >= 0")
    t0 = _to_seconds(start)
    if cal._is_always():
        return _from_seconds(t0 + seconds)
    instant, _ = _walk_in_range(cal, t0, seconds, None)
    return _from_seconds(instant)


def business_seconds_between(cal: BusinessCalendar, a: datetime, b: datetime) -> int:
    """Business seconds in ``[a, b)`` (both floored to the second); 0 if ``b <= a``."""
    t0, t1 = _to_seconds(a), _to_seconds(b)
    if t1 <= t0:
        return 0
    if cal._is_always():
        return t1 - t0
    _, counted = _walk_in_range(cal, t0, None, t1)
    return counted


def is_business_time(cal: BusinessCalendar, t: datetime) -> bool:
    """Whether ``t`` (floored to the second) is business time; False at an interval end."""
    u = _to_seconds(t)
    zone = cal.zone
    local = u + _offset_at(zone, u)
    ordinal = local // DAY + _EPOCH_ORDINAL
    if cal._holiday_end(ordinal) is not None:
        return False
    second = local % DAY
    return any(start <= second < end for start, end in cal.weekly[(ordinal - 1) % 7])


def next_business_instant(cal: BusinessCalendar, t: datetime) -> datetime:
    """The first business instant at or after ``t`` (``t`` floored, if it is inside)."""
    return add_business_time(cal, t, 0)
