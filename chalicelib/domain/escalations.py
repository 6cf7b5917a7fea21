"""Escalations: the stages, the allowed moves as data, stage timers and who may verify.

The stages are driven by `statemachines/escalation.asl.json`; this module is the rule book
the API checks before it signals the workflow (tests compare the two).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from chalicelib.domain.errors import Conflict, FieldError, InvalidTransition, ValidationFailed
from chalicelib.domain.tickets import DESCRIPTION_MAX_BYTES, Ticket, stored_bytes
from chalicelib.domain.visibility import Caller

# "Leave as it is" for optional fields of a transition (None means "clear it").
UNSET: Any = object()


class Stage(StrEnum):
    SUBMITTED = "submitted"
    REVIEW = "review"
    ENGINEERING = "engineering"
    VERIFICATION = "verification"
    RESOLVED = "resolved"


# Forward one stage at a time; the single way back is verification → engineering, when
# the customer says the fix does not work (seed 002). Resolved is final.
ALLOWED_MOVES: Mapping[Stage, frozenset[Stage]] = {
    Stage.SUBMITTED: frozenset({Stage.REVIEW}),
    Stage.REVIEW: frozenset({Stage.ENGINEERING}),
    Stage.ENGINEERING: frozenset({Stage.VERIFICATION}),
    Stage.VERIFICATION: frozenset({Stage.RESOLVED, Stage.ENGINEERING}),
    Stage.RESOLVED: frozenset(),
}

ID_PREFIX = "CP-"
ESCALATION_ID = re.compile(r"^CP-[1-9][0-9]{0,11}$")
ESTIMATE_NOTE = "Estimate only, not a guarantee: the date may change until the escalation is resolved."
# A Standard execution lives at most one year; a stage without a target waits that long.
NO_TARGET_SECONDS = 365 * 24 * 3600
# ... so a run waits in slices of at most 30 days, and hands over to a new run (continue-as-new)
# once it is 330 days old: a wait starts before that and lasts at most 30, well inside the year.
WAIT_SLICE_SECONDS = 30 * 24 * 3600
RUN_RENEWAL = timedelta(days=330)
NOTE_MAX = 10_000
# Stage entries pile up on the escalation item (each engineering/verification round adds two):
# 8 KiB each as stored JSON leaves room for ~20 rounds next to a full description.
NOTE_MAX_BYTES = 8 * 1024
# A claim on the workflow's task token older than this belongs to a request that died between
# claiming and signalling; another signal may then take the token over.
CLAIM_LEASE_SECONDS = 60
DESCRIPTION_MAX = 65_536


def can_transition(current: str, target: str) -> bool:
    try:
        return Stage(target) in ALLOWED_MOVES[Stage(current)]
    except ValueError:
        return False


def check_transition(current: str, target: str) -> Stage:
    """The target stage, or InvalidTransition (409) if the table does not allow the move."""
    if not can_transition(current, target):
        raise InvalidTransition(f"an escalation in {current!r} cannot move to {target!r}")
    return Stage(target)


def waiting_stages() -> tuple[Stage, ...]:
    """Stages in which the workflow waits for a signal (every stage with a way out)."""
    return tuple(stage for stage in Stage if ALLOWED_MOVES[stage])


def is_open(stage: str) -> bool:
    return stage != Stage.RESOLVED


def escalation_id(number: int) -> str:
    if number < 1:
        raise ValueError("escalation numbers start at 1")
    return f"{ID_PREFIX}{number}"


def verification_target(confirmed: bool) -> Stage:
    """The customer's answer in verification: the fix works → resolved, otherwise back to engineering."""
    return Stage.RESOLVED if confirmed else Stage.ENGINEERING


def stage_timers(targets: Mapping[str, int]) -> dict[str, int]:
    """Seconds each waiting stage may last before it counts as overrun (`targets` may omit stages).

    Overrunning records and notifies; it never moves the escalation by itself.
    """
    unknown = sorted(set(targets) - {stage.value for stage in waiting_stages()})
    if unknown:
        raise ValueError(f"stage targets name stages without a timer: {', '.join(unknown)}")
    timers = {}
    for stage in waiting_stages():
        seconds = int(targets.get(stage.value, NO_TARGET_SECONDS))
        if not 1 <= seconds <= NO_TARGET_SECONDS:
            raise ValueError(f"target of {stage.value} must be 1..{NO_TARGET_SECONDS} seconds, not {seconds}")
        timers[stage.value] = seconds
    return timers


def may_verify(caller: Caller, ticket: Ticket) -> bool:
    """The requester, or an admin of the ticket's organization, answers the verification."""
    if caller.role != "customer":
        return False
    if ticket.requester_id == caller.user_id:
        return True
    return caller.org_admin and caller.org_id is not None and ticket.organization_id == caller.org_id


def check_may_escalate(ticket: Ticket) -> None:
    """One open escalation per ticket, never on a closed one (the write re-checks atomically)."""
    if ticket.status_category == "closed":
        raise Conflict("a closed ticket cannot be escalated")
    summary = ticket.escalation or {}
    if summary and is_open(str(summary.get("stage"))):
        raise Conflict(f"the ticket already has an open escalation, {summary.get('id')}")


def validate_description(description: str) -> str:
    text = description.strip()
    if not text:
        raise ValidationFailed([FieldError("description", "must not be blank")])
    if stored_bytes(text) > DESCRIPTION_MAX_BYTES:
        raise ValidationFailed([FieldError("description", f"at most {DESCRIPTION_MAX_BYTES} bytes as stored JSON")])
    return text


def validate_note(note: str, field_name: str = "note") -> str:
    """A stage note (or verification comment) that fits its stage entry: NOTE_MAX_BYTES as stored JSON."""
    if stored_bytes(note) > NOTE_MAX_BYTES:
        raise ValidationFailed([FieldError(field_name, f"at most {NOTE_MAX_BYTES} bytes as stored JSON")])
    return note


@dataclass(frozen=True)
class StageEntry:
    stage: str
    entered_at: datetime
    note: str
    actor_id: str


@dataclass(frozen=True)
class Overrun:
    stage: str
    target_seconds: int
    at: datetime


@dataclass
class Escalation:
    """The escalation record. `stage` and `stages` are written by the workflow only."""

    id: str
    ticket_id: str
    description: str
    stage: str
    created_at: datetime
    updated_at: datetime
    created_by: str
    stages: list[StageEntry] = field(default_factory=list)
    estimated_resolution_date: date | None = None
    task_token: str | None = None
    claimed_to: str | None = None
    claimed_at: datetime | None = None
    overruns: list[Overrun] = field(default_factory=list)
    failure: dict[str, Any] | None = None
    queued_from: str | None = None  # a transition accepted between two waits: from which stage
    queued_to: str | None = None  # ... and to which; the workflow applies it at its next wait
    run: int = 1  # the workflow run (execution) that drives it
    run_started_at: datetime | None = None  # when a run continued the previous one (absent: created_at)
    timer_left: int | None = None  # the stage timer left when the previous run handed over

    def claimed_stage(self, now: datetime) -> str | None:
        """The stage a signal accepted a moment ago is moving the escalation to, if any."""
        if self.claimed_to is None or self.claimed_at is None:
            return None
        if (now - self.claimed_at).total_seconds() > CLAIM_LEASE_SECONDS:
            return None  # its request died before signalling; the token is free again
        return self.claimed_to

    def entering(self, now: datetime) -> str:
        """The stage the escalation is in, or entering after a signal in flight."""
        return self.claimed_stage(now) or self.stage

    def waiting(self, now: datetime) -> bool:
        """The workflow waits in the escalation's stage with a token nobody has claimed."""
        return self.task_token is not None and self.claimed_stage(now) is None

    def pending_stage(self, now: datetime) -> str | None:
        """Where accepted signals are taking the escalation: a queued transition, else a claim."""
        if self.queued_to is not None and self.queued_from in (self.stage, self.claimed_stage(now)):
            return self.queued_to
        return self.claimed_stage(now)

    def summary(self, stage: str | None = None) -> dict[str, Any]:
        """What the ticket shows of its escalation (`ticket.escalation`)."""
        erd = self.estimated_resolution_date
        return {"id": self.id, "stage": stage or self.stage, "estimated_resolution_date": erd.isoformat() if erd else None}


def new_escalation(number: int, ticket_id: str, description: str, actor_id: str, now: datetime) -> Escalation:
    """A submitted escalation: its first stage entry is its creation."""
    return Escalation(
        id=escalation_id(number),
        ticket_id=ticket_id,
        description=validate_description(description),
        stage=Stage.SUBMITTED.value,
        created_at=now,
        updated_at=now,
        created_by=actor_id,
        stages=[StageEntry(Stage.SUBMITTED.value, now, "", actor_id)],
    )


# The first run's uid (timeline entry, event id, the stage transaction's idempotency token) is
# derived from the escalation id: every start of the same escalation sends the same input.
_SUBMITTED_UID_NAMESPACE = uuid.UUID("5b0e8c1e-6a52-4d7e-9d0c-7c1f0f3e2a11")


def run_name(escalation_id: str, run: int) -> str:
    """The execution name of an escalation's run: the id for the first, `<id>-r<run>` after."""
    return escalation_id if run <= 1 else f"{escalation_id}-r{run}"


def renew_at(escalation: Escalation, run: int = 1) -> str:
    """When a run hands over to the next one (a Choice timestamp, RFC 3339 with Z): 330 days
    after it started. Derived from the escalation, never the clock, so every start of a run
    sends the same input: `created_at` for the first (the stream starts it within its 24 h
    retention), `run_started_at` (written with the raised run) for later ones."""
    started = escalation.run_started_at if run > 1 and escalation.run_started_at is not None else escalation.created_at
    return (started + RUN_RENEWAL).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def workflow_input(escalation: Escalation, timers: Mapping[str, int], run: int = 1) -> dict[str, Any]:
    """The execution input of a run. The first enters submitted; a later run (continued before
    the one-year limit of an execution, or restarted by an operator) resumes waiting in the
    escalation's stage, with the timer the previous run left (its full stage timer if none)."""
    payload: dict[str, Any] = {
        "escalation_id": escalation.id,
        "ticket_id": escalation.ticket_id,
        "timers": dict(timers),
        "run": run,
        "renew_at": renew_at(escalation, run),
    }
    if run <= 1:
        payload["signal"] = {
            "from": None,
            "to": Stage.SUBMITTED.value,
            "note": "",
            "actor_id": escalation.created_by,
            "uid": str(uuid.uuid5(_SUBMITTED_UID_NAMESPACE, escalation.id)),
            "fields": {"escalation_id": escalation.id, "stage": Stage.SUBMITTED.value},
        }
    else:
        target = int(timers.get(escalation.stage, NO_TARGET_SECONDS))
        left = target if escalation.timer_left is None else escalation.timer_left
        payload["current"] = {"stage": escalation.stage, "target": target, "timer": {"seconds": left}}
    return payload
