"""Time-based automation rules (issue 11): "pending for 3 business days -> remind, then close after 7".

Pure: no AWS. A time rule is an automation whose trigger is `{"event": "time", "status_category":
<category>, "after": {"business_days": n} | {"business_hours": n}}`. It fires once the ticket has
stayed in that status category, unchanged by anyone but automations, for that long, measured on
the ticket's business calendar from the last change that was not an automation's (the anchor).

Planning (docs/decisions.md, "Time-based automation rules"): the ticket stream starts one wait
per (ticket, anchor) for the *first* rule due (`first_due`); when it fires, the next one is
planned from the same anchor (`next_due`), so a reminder written by the first rule does not
restart the clock, while any human change moves the anchor and makes the pending wait a no-op
(its expected version no longer matches): cancellation without a table sweep.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.calendar import BusinessCalendar, add_business_time, next_business_instant
from chalicelib.domain.errors import FieldError

STATUS_CATEGORIES = ("open", "pending", "resolved")  # closed tickets change no more
UNITS = ("business_days", "business_hours")
MAX_BUSINESS_DAYS = 365
MAX_BUSINESS_HOURS = 24 * 365
# The due item outlives its stream record (redelivered for at most 24 hours), then TTL removes it.
DUE_RETENTION = timedelta(days=2)
# Step Functions execution names: at most 80 characters of these.
_NAME_LIMIT = 80
_NAME_CHARS = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class TimeTrigger:
    status_category: str
    unit: str
    amount: int

    def to_data(self) -> dict[str, Any]:
        return {"event": "time", "status_category": self.status_category, "after": {self.unit: self.amount}}


@dataclass(frozen=True)
class Due:
    """A time rule's next firing for a ticket: which rule, and when (UTC)."""

    rule_id: str
    at: datetime


def check_trigger(trigger: Mapping[str, Any], errors: list[FieldError]) -> TimeTrigger | None:
    """The trigger of a time rule, or None with the problems appended (paths under `trigger`)."""
    category = trigger.get("status_category")
    if category not in STATUS_CATEGORIES:
        errors.append(FieldError("trigger.status_category", f"must be one of {', '.join(STATUS_CATEGORIES)}"))
    after = trigger.get("after")
    if not isinstance(after, Mapping) or len(after) != 1 or next(iter(after)) not in UNITS:
        errors.append(FieldError("trigger.after", f"must be one of {{{'|'.join(UNITS)}: n}}"))
        return None
    ((unit, amount),) = after.items()
    limit = MAX_BUSINESS_DAYS if unit == "business_days" else MAX_BUSINESS_HOURS
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= limit:
        errors.append(FieldError(f"trigger.after.{unit}", f"must be a whole number from 1 to {limit}"))
        return None
    if category not in STATUS_CATEGORIES:
        return None
    return TimeTrigger(str(category), str(unit), amount)


def is_business_day(calendar: BusinessCalendar, day: Any) -> bool:
    return bool(calendar.weekly[day.weekday()]) and not calendar.is_holiday(day)


def due_at(trigger: TimeTrigger, anchor: datetime, calendar: BusinessCalendar) -> datetime:
    """When a rule anchored at `anchor` fires, on `calendar`.

    `business_hours: n` is n hours of business time (the SLA clocks' arithmetic). `business_days: n`
    is the same local time of day on the n-th business day (a weekday with hours, not a holiday)
    after the anchor's local date, moved to the next business instant if that time is outside hours:
    pending on Friday 15:00 for 3 business days (Mon-Fri) fires on Wednesday 15:00."""
    if trigger.unit == "business_hours":
        return add_business_time(calendar, anchor, trigger.amount * 3600)
    local = anchor.astimezone(calendar.zone)
    day, counted = local.date(), 0
    while counted < trigger.amount:
        day += timedelta(days=1)
        counted += is_business_day(calendar, day)
    wall = datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=calendar.zone)
    return next_business_instant(calendar, wall.astimezone(anchor.tzinfo))


def planned(rules: Sequence[tuple[str, TimeTrigger]], category: str, anchor: datetime, calendar: BusinessCalendar) -> list[Due]:
    """Every rule of the ticket's status category with its due time, soonest first (ties by id)."""
    dues = [Due(rule_id, due_at(t, anchor, calendar)) for rule_id, t in rules if t.status_category == category]
    return sorted(dues, key=lambda d: (d.at, d.rule_id))


def first_due(
    rules: Sequence[tuple[str, TimeTrigger]], category: str, anchor: datetime, calendar: BusinessCalendar
) -> Due | None:
    """What the stream waits for after a change that was not an automation's (None: nothing)."""
    dues = planned(rules, category, anchor, calendar)
    return dues[0] if dues else None


def next_due(
    rules: Sequence[tuple[str, TimeTrigger]], category: str, anchor: datetime, calendar: BusinessCalendar, fired: Due
) -> Due | None:
    """What comes after `fired` for the same anchor (None: nothing left). A rule the ticket's
    category no longer has (the first rule closed it) is not planned."""
    later = [d for d in planned(rules, category, anchor, calendar) if (d.at, d.rule_id) > (fired.at, fired.rule_id)]
    return later[0] if later else None


def wait_name(ticket_id: str, version: int, rule_id: str) -> str:
    """The wait's execution name: one per (ticket, version, rule), so a redelivered stream record,
    or a second event of the same ticket version, starts nothing twice (ExecutionAlreadyExists)."""
    name = f"{ticket_id}-v{version}-{rule_id}"
    if len(name) <= _NAME_LIMIT and _NAME_CHARS.match(name):
        return name
    return "tr-" + hashlib.sha256(name.encode()).hexdigest()[:64]


def stamp(at: datetime) -> str:
    """Whole seconds, `Z`: the form a Wait's TimestampPath accepts on AWS and on moto."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def wait_input(ticket_id: str, version: int, anchor: datetime, due: Due) -> dict[str, Any]:
    """The time-rule execution's input (statemachines/time-rule.asl.json)."""
    return {
        "ticket_id": ticket_id,
        "rule_id": due.rule_id,
        "expected_version": version,
        "anchor": stamp(anchor),
        "due_at": stamp(due.at + timedelta(microseconds=(1_000_000 - due.at.microsecond) % 1_000_000)),  # never early
        "ttl": int((due.at + DUE_RETENTION).timestamp()),
    }
