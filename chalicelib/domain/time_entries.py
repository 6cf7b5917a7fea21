"""Time entries: minutes logged on a ticket and its running total."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from chalicelib.domain.activities import Activity, actor_teams
from chalicelib.domain.errors import FieldError, NotAllowed, ValidationFailed
from chalicelib.domain.tickets import Change, Ticket
from chalicelib.domain.visibility import Caller

# -- time entries -------------------------------------------------------------------------
MAX_MINUTES = 24 * 60
TIME_NOTE_MAX = 2_000


def time_entry(caller: Caller, ticket: Ticket, minutes: int, note: str, billable: bool, now: datetime, entry_id: str) -> Activity:
    """Time worked: an internal `time_entry` activity (never public, whatever is asked)."""
    if not caller.is_staff:
        raise NotAllowed("only agents and admins log time")
    if not 1 <= minutes <= MAX_MINUTES:
        raise ValidationFailed([FieldError("minutes", f"must be 1 to {MAX_MINUTES}")])
    return Activity(
        id=entry_id,
        ticket_id=ticket.id,
        type="time_entry",
        visibility="internal",
        actor_id=caller.user_id,
        at=now,
        body=note or None,
        fields={"minutes": minutes, "billable": billable},
        team_ids=actor_teams(caller),
    )


def with_time(ticket: Ticket, minutes: int, now: datetime) -> tuple[Ticket, list[Change]]:
    total = ticket.time_spent_minutes + minutes
    updated = dataclasses.replace(ticket, time_spent_minutes=total, updated_at=now, version=ticket.version + 1)
    return updated, [Change("time_spent_minutes", ticket.time_spent_minutes, total)]
