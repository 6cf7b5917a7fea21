"""Escalation use cases: the API validates against the domain table and signals the workflow.

The workflow owns the stage. A signal first claims the task token stored on the escalation
(conditional write: of two racing signals only one gets it), then calls SendTaskSuccess; a
stale token is a 409, never a second transition.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from chalicelib.domain.errors import Conflict, DomainError, NotAllowed, NotFound
from chalicelib.domain.escalations import (
    ESCALATION_ID,
    UNSET,
    Escalation,
    Stage,
    can_transition,
    check_may_escalate,
    check_transition,
    may_verify,
    new_escalation,
    stage_timers,
    validate_description,
    validate_note,
    verification_target,
)
from chalicelib.domain.tickets import Ticket
from chalicelib.domain.visibility import Caller
from chalicelib.services.tickets import TicketService
from chalicelib.storage.escalations import EscalationRepository, EscalationWorkflow, TicketRefused


def new_uid() -> str:
    return str(uuid.uuid4())


class EscalationService:
    def __init__(
        self,
        escalations: EscalationRepository,
        workflow: EscalationWorkflow,
        tickets: TicketService,
        stage_targets: Mapping[str, int],
        new_id: Callable[[], str] = new_uid,
    ) -> None:
        self._escalations = escalations
        self._workflow = workflow
        self._tickets = tickets
        self._timers = stage_timers(stage_targets)
        self._new_id = new_id

    # -- reads -----------------------------------------------------------------------
    def get(self, caller: Caller, escalation_id: str) -> tuple[Escalation, Ticket]:
        """The escalation and its ticket; 404 unless the caller sees the ticket."""
        escalation = self._escalations.get(escalation_id) if ESCALATION_ID.fullmatch(escalation_id) else None
        if escalation is None:
            raise NotFound("escalation not found")
        try:
            ticket = self._tickets.get(caller, escalation.ticket_id)
        except NotFound as exc:
            raise NotFound("escalation not found") from exc
        return escalation, ticket

    # -- writes ----------------------------------------------------------------------
    def create(self, caller: Caller, ticket_id: str, description: str, now: datetime) -> Escalation:
        if not caller.is_staff:
            raise NotAllowed("only agents and admins escalate tickets")
        ticket = self._tickets.get(caller, ticket_id)
        check_may_escalate(ticket)
        description = validate_description(description)
        # Taken after validation so that refused requests do not burn numbers.
        escalation = new_escalation(self._escalations.next_number(), ticket.id, description, caller.user_id, now)
        try:
            self._escalations.create(escalation)
        except TicketRefused:
            check_may_escalate(self._tickets.get(caller, ticket_id))  # explains a concurrent change
            raise Conflict("the ticket changed meanwhile; retry", retry_after=1) from None
        payload = {
            "escalation_id": escalation.id,
            "ticket_id": ticket.id,
            "timers": self._timers,
            "signal": {
                "from": None,
                "to": Stage.SUBMITTED.value,
                "note": "",
                "actor_id": caller.user_id,
                "uid": self._new_id(),
                "fields": {"escalation_id": escalation.id, "stage": Stage.SUBMITTED.value},
            },
        }
        try:
            self._workflow.start(escalation.id, payload)
        except DomainError:
            # Without its workflow the escalation could never move, and it would block the
            # ticket's next one: take it back, then report the failure.
            self._escalations.abandon(escalation, ticket.escalation)
            raise
        return escalation

    def transition(
        self, caller: Caller, escalation_id: str, to: str, note: str, estimated_resolution_date: date | Any | None, now: datetime
    ) -> Escalation:
        """An agent moves the escalation one stage on (or back from verification to engineering)."""
        if not caller.is_staff:
            raise NotAllowed("only agents and admins move escalations")
        escalation, _ticket = self.get(caller, escalation_id)
        target = check_transition(escalation.stage, to)
        erd = escalation.estimated_resolution_date if estimated_resolution_date is UNSET else estimated_resolution_date
        return self._signal(caller, escalation, target, validate_note(note), erd, now)

    def verify(self, caller: Caller, escalation_id: str, confirmed: bool, comment: str, now: datetime) -> Escalation:
        """The customer's answer in verification: confirmed → resolved, not confirmed → engineering."""
        escalation, ticket = self.get(caller, escalation_id)
        if not may_verify(caller, ticket):
            raise NotAllowed("only the ticket's requester or an admin of its organization verifies the fix")
        if escalation.stage != Stage.VERIFICATION:
            raise Conflict(f"the escalation is in {escalation.stage}, not waiting for verification")
        target = verification_target(confirmed)
        comment = validate_note(comment, "comment")
        return self._signal(caller, escalation, target, comment, escalation.estimated_resolution_date, now)

    def _signal(
        self, caller: Caller, escalation: Escalation, target: Stage, note: str, erd: date | None, now: datetime
    ) -> Escalation:
        if not can_transition(escalation.stage, target):  # both callers checked; the table decides
            raise Conflict(f"an escalation in {escalation.stage!r} cannot move to {target.value!r}")
        if escalation.task_token is None or escalation.pending_stage(now) is not None:
            raise Conflict("the escalation is moving; reload it in a moment", retry_after=1)
        claim_id = self._new_id()
        self._escalations.claim(
            escalation.id, token=escalation.task_token, stage=escalation.stage, to=target.value, claim_id=claim_id, now=now
        )
        output = {
            "from": escalation.stage,
            "to": target.value,
            "note": note,
            "actor_id": caller.user_id,
            "estimated_resolution_date": erd.isoformat() if erd else None,
        }
        try:
            self._workflow.signal(escalation.task_token, output)
        except DomainError:
            self._escalations.release(escalation.id, claim_id)
            raise
        return dataclasses.replace(escalation, claimed_to=target.value, claimed_at=now, estimated_resolution_date=erd)
