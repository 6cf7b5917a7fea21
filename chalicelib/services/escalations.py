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
    run_name,
    stage_timers,
    validate_description,
    validate_note,
    verification_target,
    workflow_input,
)
from chalicelib.domain.tickets import Ticket
from chalicelib.domain.visibility import Caller
from chalicelib.services.tickets import TicketService
from chalicelib.storage.escalations import EscalationRepository, EscalationWorkflow, TicketRefused, escalation_run_of_record


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
        # The workflow is started from the table's stream (chalicelib/handlers/ticket_changes.py,
        # execution named after the escalation): no escalation can be left without its workflow.
        return escalation

    def transition(
        self, caller: Caller, escalation_id: str, to: str, note: str, estimated_resolution_date: date | Any | None, now: datetime
    ) -> Escalation:
        """An agent moves the escalation one stage on (or back from verification to engineering)."""
        if not caller.is_staff:
            raise NotAllowed("only agents and admins move escalations")
        escalation, _ticket = self.get(caller, escalation_id)
        check_transition(escalation.entering(now), to)
        target = Stage(to)

        def erd_of(current: Escalation) -> date | None:
            return current.estimated_resolution_date if estimated_resolution_date is UNSET else estimated_resolution_date

        return self._signal(caller, escalation, target, validate_note(note), erd_of, now)

    def verify(self, caller: Caller, escalation_id: str, confirmed: bool, comment: str, now: datetime) -> Escalation:
        """The customer's answer in verification: confirmed → resolved, not confirmed → engineering."""
        escalation, ticket = self.get(caller, escalation_id)
        if not may_verify(caller, ticket):
            raise NotAllowed("only the ticket's requester or an admin of its organization verifies the fix")
        if escalation.entering(now) != Stage.VERIFICATION:
            raise Conflict(f"the escalation is in {escalation.stage}, not waiting for verification")
        target = verification_target(confirmed)
        comment = validate_note(comment, "comment")
        return self._signal(caller, escalation, target, comment, lambda current: current.estimated_resolution_date, now)

    # A queued transition's write can lose a race with the workflow reaching its wait; then the
    # escalation is read again and the signal sent (or queued) on what it shows.
    SIGNAL_ATTEMPTS = 3

    def _signal(
        self,
        caller: Caller,
        escalation: Escalation,
        target: Stage,
        note: str,
        erd_of: Callable[[Escalation], date | None],
        now: datetime,
    ) -> Escalation:
        """Signal the waiting workflow, or, while it is between two waits, queue the transition
        for its next wait (valid from the stage it is in or entering; one queued at a time)."""
        for attempt in range(self.SIGNAL_ATTEMPTS):
            if attempt:
                current = self._escalations.get(escalation.id)
                if current is None:
                    raise NotFound("escalation not found")
                escalation = current
            entering = escalation.entering(now)
            if not can_transition(entering, target):  # the callers checked; the table decides on what is read now
                raise Conflict(f"an escalation in {entering!r} cannot move to {target.value!r}")
            erd = erd_of(escalation)
            try:
                if escalation.waiting(now):
                    return self._send(caller, escalation, target, note, erd, now)
                return self._queue(caller, escalation, entering, target, note, erd, now)
            except _Reread:
                continue
        raise Conflict("the escalation is moving; reload it in a moment", retry_after=1)

    def _send(
        self, caller: Caller, escalation: Escalation, target: Stage, note: str, erd: date | None, now: datetime
    ) -> Escalation:
        assert escalation.task_token is not None
        claim_id = self._new_id()
        try:
            self._escalations.claim(
                escalation.id, token=escalation.task_token, stage=escalation.stage, to=target.value, claim_id=claim_id, now=now
            )
        except Conflict as exc:  # another signal won the token, or the workflow moved on
            raise _Reread() from exc
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

    def _queue(
        self, caller: Caller, escalation: Escalation, entering: str, target: Stage, note: str, erd: date | None, now: datetime
    ) -> Escalation:
        if escalation.pending_stage(now) is not None and escalation.queued_to is not None:
            raise Conflict(f"a transition to {escalation.queued_to} is already pending; reload it in a moment", retry_after=1)
        # Exactly what the workflow's wait would have made of the signal (statemachines/generate.py).
        summary = {"id": escalation.id, "stage": target.value, "estimated_resolution_date": erd.isoformat() if erd else None}
        signal = {
            "from": entering,
            "to": target.value,
            "note": note,
            "actor_id": caller.user_id,
            "uid": self._new_id(),
            "summary": summary,
            "fields": {"escalation_id": escalation.id, "stage": target.value},
        }
        try:
            self._escalations.queue(escalation.id, stage=escalation.stage, entering=entering, signal=signal, now=now)
        except Conflict as exc:
            raise _Reread() from exc
        return dataclasses.replace(escalation, queued_from=entering, queued_to=target.value, estimated_resolution_date=erd)


class EscalationStarter:
    """Starts the workflow run an escalation's stream record calls for (the ticket stream)."""

    def __init__(self, workflow: EscalationWorkflow, stage_targets: Mapping[str, int]) -> None:
        self._workflow = workflow
        self._timers = stage_timers(stage_targets)

    def start_for(self, record: Mapping[str, Any]) -> str | None:
        """The execution name started (or already started) for the record, None if it calls for none."""
        found = escalation_run_of_record(record)
        if found is None:
            return None
        escalation, run = found
        if run > 1 and escalation.stage == Stage.RESOLVED:
            return None
        name = run_name(escalation.id, run)
        self._workflow.start(name, workflow_input(escalation, self._timers, run))
        return name

    def redrive(self, escalations: EscalationRepository, escalation_id: str, now: datetime) -> str:
        """Operator redrive (docs/operations.md): give an escalation whose workflow run failed,
        or never started, a run again. Refuses while its run is running or once it is resolved."""
        escalation = escalations.get(escalation_id)
        if escalation is None:
            raise NotFound(f"no escalation {escalation_id}")
        if escalation.stage == Stage.RESOLVED:
            raise Conflict(f"{escalation_id} is resolved: nothing to drive")
        run = escalations.run_of(escalation_id)
        name = run_name(escalation_id, run)
        status = self._workflow.status(name)
        if status == "RUNNING":
            raise Conflict(f"{name} is running: nothing to redrive")
        if status is not None:  # failed, timed out, aborted (or ended without resolving): the next run resumes
            escalations.restart(escalation_id, run=run, now=now)
            run += 1
            name = run_name(escalation_id, run)
            escalation = escalations.get(escalation_id) or escalation
        # The stream starts the same run under the same name; whichever is first, it runs once.
        self._workflow.start(name, workflow_input(escalation, self._timers, run))
        return name

    def resume_all(self, escalations: EscalationRepository, now: datetime) -> list[str]:
        """After every execution was lost (the local stack restarted moto): give each open
        escalation a new run that waits in its current stage; a queued transition is taken at
        that wait. Visits CP-1 … CP-<last number> (GetItem each; no index, no Scan). Answers the
        runs started."""
        started = []
        for number in range(1, escalations.last_number() + 1):
            escalation_id = f"CP-{number}"
            escalation = escalations.get(escalation_id)
            if escalation is None or escalation.stage == Stage.RESOLVED:
                continue
            run = escalations.run_of(escalation_id)
            try:
                escalations.restart_lost(escalation_id, run=run, now=now)
            except Conflict:
                continue  # resolved or moved meanwhile: its own run drives it
            escalation = escalations.get(escalation_id) or escalation
            name = run_name(escalation_id, run + 1)
            # The stream starts the same run for the MODIFY raising `run`; whichever is first runs it once.
            self._workflow.start(name, workflow_input(escalation, self._timers, run + 1))
            started.append(name)
        return started


class _Reread(Exception):
    """The escalation changed between reading and writing: read it again."""
