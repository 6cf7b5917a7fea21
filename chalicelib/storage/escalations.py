"""Escalations in the table, and the gateway to their Step Functions workflow.

The repository writes what the API owns (creation, claims on a task token); the workflow
(`statemachines/escalation.asl.json`) writes the stages. The gateway translates Step Functions
errors into domain errors, so nothing above storage sees botocore.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.expressions.operand import Path

from chalicelib.domain.errors import Conflict, DomainError, NotFound, Throttled, Unavailable
from chalicelib.domain.escalations import CLAIM_LEASE_SECONDS, Escalation, Overrun, Stage, StageEntry
from chalicelib.storage import keys
from chalicelib.storage.base import Repository, next_counter_value
from chalicelib.storage.errors import THROTTLING, TransactionCancelled, translated
from chalicelib.storage.models import CounterItem, EscalationItem, StageEntryAttribute, TicketItem

# Quoted, `"resolved"` can only be the summary's stage value (ids are CP-<n>, dates digits);
# it matches both JSON spellings the summary is written in (PynamoDB's and the workflow's).
_RESOLVED_TOKEN = f'"{Stage.RESOLVED.value}"'
# SendTaskSuccess answers these when the token no longer waits: the signal lost a race,
# the stage timer replaced the token, or the execution ended.
STALE_TOKEN_ERRORS = frozenset({"TaskDoesNotExist", "InvalidToken", "TaskTimedOut"})


class TicketRefused(DomainError):
    """The ticket's condition in the create transaction failed; the service explains why."""


def parse_time(value: str) -> datetime:
    """RFC 3339 as written by the API (µs, Z) or by the workflow ($$.State.EnteredTime, ms or µs)."""
    return datetime.fromisoformat(value)


def run_of(escalation_id: str) -> int:
    """The escalation's current workflow run (1 until it was continued or restarted)."""
    with translated():
        item = EscalationItem.get(keys.escalation_pk(escalation_id), keys.ESCALATION_SK, consistent_read=True)
    return int(item.run or 1)


def _to_escalation(item: EscalationItem) -> Escalation:
    erd = item.estimated_resolution_date
    return Escalation(
        id=item.id,
        ticket_id=item.ticket_id,
        description=item.description,
        stage=item.stage,
        created_at=parse_time(item.created_at),
        updated_at=parse_time(item.updated_at),
        created_by=item.created_by,
        stages=[StageEntry(s.stage, parse_time(s.entered_at), s.note or "", s.actor_id) for s in item.stages or []],
        estimated_resolution_date=date.fromisoformat(erd) if erd else None,
        task_token=item.task_token,
        claimed_to=item.claimed_to,
        claimed_at=parse_time(item.claimed_at) if item.claimed_at else None,
        overruns=[Overrun(o.stage, int(o.target_seconds), parse_time(o.at)) for o in item.overruns or []],
        failure=item.failure.as_dict() if item.failure is not None else None,
        queued_from=item.queued_from,
        queued_to=json.loads(item.queued_signal)["to"] if item.queued_signal else None,
        run=int(item.run or 1),
        run_started_at=parse_time(item.run_started_at) if item.run_started_at else None,
        timer_left=int(item.timer_left) if item.timer_left is not None else None,
    )


def _item(escalation: Escalation) -> EscalationItem:
    return EscalationItem(
        keys.escalation_pk(escalation.id),
        keys.ESCALATION_SK,
        id=escalation.id,
        ticket_id=escalation.ticket_id,
        description=escalation.description,
        stage=escalation.stage,
        stages=[
            StageEntryAttribute(stage=s.stage, entered_at=keys.stamp(s.entered_at), note=s.note, actor_id=s.actor_id)
            for s in escalation.stages
        ],
        created_by=escalation.created_by,
        created_at=keys.stamp(escalation.created_at),
        updated_at=keys.stamp(escalation.updated_at),
        version=1,
    )


class EscalationRepository(Repository):
    def next_number(self) -> int:
        return next_counter_value(keys.ESCALATION_NUMBER_SK)

    def last_number(self) -> int:
        """The highest escalation number handed out so far (0 before the first): every
        escalation is `CP-1` … `CP-<last>`, so they can be visited without an index or a Scan."""
        with translated():
            try:
                counter = CounterItem.get(keys.COUNTER_PK, keys.ESCALATION_NUMBER_SK, consistent_read=True)
            except CounterItem.DoesNotExist:
                return 0
        return int(counter.value or 0)

    def get(self, escalation_id: str) -> Escalation | None:
        with translated():
            try:
                item = EscalationItem.get(keys.escalation_pk(escalation_id), keys.ESCALATION_SK, consistent_read=True)
            except EscalationItem.DoesNotExist:
                return None
        return _to_escalation(item)

    def create(self, escalation: Escalation) -> None:
        """One transaction: the escalation, and the ticket's `escalation` summary (ADD version 1).

        The ticket's condition makes "one open escalation per ticket" atomic: it must exist, not
        be deleted or closed, and have no summary or a resolved one.
        """
        ticket = TicketItem(keys.ticket_pk(escalation.ticket_id), keys.TICKET_SK)
        condition = (
            TicketItem.PK.exists()
            & TicketItem.deleted_at.does_not_exist()
            & (TicketItem.status_category != "closed")
            & (TicketItem.escalation.does_not_exist() | Path(TicketItem.escalation.attr_name).contains(_RESOLVED_TOKEN))
        )
        try:
            record = _item(escalation)
            with translated(), self._transaction() as tx:
                tx.save(record, condition=EscalationItem.PK.does_not_exist())
                tx.update(
                    ticket,
                    actions=[TicketItem.escalation.set(escalation.summary()), TicketItem.version.add(1)],
                    condition=condition,
                )
        except TransactionCancelled as cancelled:
            failed = cancelled.failed_keys()
            if (ticket.PK, ticket.SK) in failed:
                raise TicketRefused("the ticket refused the escalation") from cancelled
            if (record.PK, record.SK) in failed:
                raise Unavailable(f"escalation number {escalation.id} is taken; retry") from cancelled
            raise Unavailable("the ticket is being changed by another request; retry", retry_after=1) from cancelled

    def claim(self, escalation_id: str, *, token: str, stage: str, to: str, claim_id: str, now: datetime) -> None:
        """Take the waiting task token for one signal: only one of two racing signals gets it.

        Conditional on the token and stage read, and on no live claim by another request.
        """
        expired = keys.stamp(datetime.fromtimestamp(now.timestamp() - CLAIM_LEASE_SECONDS, tz=now.tzinfo))
        item = EscalationItem(keys.escalation_pk(escalation_id), keys.ESCALATION_SK)
        with translated(lambda: Conflict("the escalation moved or another signal is in flight; reload it", retry_after=1)):
            item.update(
                actions=[
                    EscalationItem.claim_id.set(claim_id),
                    EscalationItem.claimed_at.set(keys.stamp(now)),
                    EscalationItem.claimed_to.set(to),
                    # A queued transition left behind by a signal that failed after queuing:
                    # the token waits, so nothing would ever take it.
                    EscalationItem.queued_signal.remove(),
                    EscalationItem.queued_from.remove(),
                ],
                condition=(EscalationItem.task_token == token)
                & (EscalationItem.stage == stage)
                & (EscalationItem.claimed_at.does_not_exist() | (EscalationItem.claimed_at < expired)),
            )

    def queue(self, escalation_id: str, *, stage: str, entering: str, signal: Mapping[str, Any], now: datetime) -> None:
        """Record a transition for the workflow to take at its next wait (in `entering`).

        Only while the workflow is between two waits (no token, or a live claim) and nothing is
        queued yet, and only if the stage read is still the stage; otherwise a Conflict (the
        caller re-reads: the workflow may be waiting now, so the signal can be sent).
        """
        expired = keys.stamp(datetime.fromtimestamp(now.timestamp() - CLAIM_LEASE_SECONDS, tz=now.tzinfo))
        item = EscalationItem(keys.escalation_pk(escalation_id), keys.ESCALATION_SK)
        with translated(lambda: Conflict("the escalation moved meanwhile; reload it", retry_after=1)):
            item.update(
                actions=[
                    EscalationItem.queued_signal.set(json.dumps(dict(signal))),
                    EscalationItem.queued_from.set(entering),
                ],
                condition=(EscalationItem.stage == stage)
                & EscalationItem.queued_signal.does_not_exist()
                & (EscalationItem.task_token.does_not_exist() | (EscalationItem.claimed_at >= expired)),
            )

    def run_of(self, escalation_id: str) -> int:
        return run_of(escalation_id)

    def restart(self, escalation_id: str, *, run: int, now: datetime) -> None:
        """Ask for run `run + 1` (the ticket stream starts it): only from run `run`, on an open
        escalation, clearing the recorded failure. The new run counts its age from `now`."""
        self._raise_run(escalation_id, run, now)

    def restart_lost(self, escalation_id: str, *, run: int, now: datetime) -> None:
        """Ask for run `run + 1` after every execution was lost (the local stack's moto restarted):
        as `restart`, and the dead task token and any claim on it go too, so the API queues a
        transition for the new run's wait instead of signalling a token nobody waits on."""
        self._raise_run(
            escalation_id,
            run,
            now,
            EscalationItem.task_token.remove(),
            EscalationItem.task_stage.remove(),
            EscalationItem.claim_id.remove(),
            EscalationItem.claimed_at.remove(),
            EscalationItem.claimed_to.remove(),
        )

    @staticmethod
    def _raise_run(escalation_id: str, run: int, now: datetime, *also: Any) -> None:
        item = EscalationItem(keys.escalation_pk(escalation_id), keys.ESCALATION_SK)
        current = (EscalationItem.run == run) if run > 1 else EscalationItem.run.does_not_exist()
        with translated(lambda: Conflict("the escalation changed meanwhile (or is resolved); reload it")):
            item.update(
                actions=[
                    EscalationItem.run.set(run + 1),
                    EscalationItem.run_started_at.set(keys.stamp(now)),
                    EscalationItem.failure.remove(),
                    *also,
                ],
                condition=EscalationItem.PK.exists() & current & (EscalationItem.stage != Stage.RESOLVED.value),
            )

    def release(self, escalation_id: str, claim_id: str) -> None:
        """Give a claimed token back after a failed signal (no-op if the workflow moved on)."""
        item = EscalationItem(keys.escalation_pk(escalation_id), keys.ESCALATION_SK)
        try:
            with translated(lambda: NotFound("claim already gone")):
                item.update(
                    actions=[
                        EscalationItem.claim_id.remove(),
                        EscalationItem.claimed_at.remove(),
                        EscalationItem.claimed_to.remove(),
                    ],
                    condition=EscalationItem.claim_id == claim_id,
                )
        except NotFound:
            pass


def escalation_run_of_record(record: Mapping[str, Any]) -> tuple[Escalation, int] | None:
    """(escalation, run) of a stream record that calls for a workflow run: an escalation item
    inserted (run 1), or one whose `run` went up (continued or restarted)."""
    change = record.get("dynamodb") or {}
    new = change.get("NewImage") or {}
    if new.get("SK", {}).get("S") != keys.ESCALATION_SK or not new.get("PK", {}).get("S", "").startswith("ESC#"):
        return None
    run = int((new.get("run") or {}).get("N") or 1)
    if record.get("eventName") == "MODIFY":
        old = change.get("OldImage") or {}
        if run <= int((old.get("run") or {}).get("N") or 1):
            return None
    elif record.get("eventName") != "INSERT":
        return None
    return _to_escalation(EscalationItem.from_raw_data(dict(new))), run


class EscalationWorkflow:
    """Starts and signals escalation executions (one Standard execution per escalation run)."""

    def __init__(self, client: Callable[[], Any], state_machine_arn: str) -> None:
        self._client = client
        self._arn = state_machine_arn

    def start(self, name: str, payload: Mapping[str, Any]) -> None:
        """Start the execution of that (deterministic) name; a repeated start is a no-op."""
        if not self._arn:
            raise Unavailable("escalations are not configured here (HELPDESK_ESCALATION_STATE_MACHINE is empty)")
        try:
            self._client().start_execution(stateMachineArn=self._arn, name=name, input=json.dumps(payload))
        except ClientError as exc:
            if _code(exc) == "ExecutionAlreadyExists":
                return
            raise _general(exc) from exc
        except BotoCoreError as exc:
            raise Unavailable("the workflow service is unreachable; retry") from exc

    def status(self, name: str) -> str | None:
        """The execution's status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED), None if it never started."""
        arn = self._arn.replace(":stateMachine:", ":execution:") + f":{name}"
        try:
            return str(self._client().describe_execution(executionArn=arn)["status"])
        except ClientError as exc:
            if _code(exc) == "ExecutionDoesNotExist":
                return None
            raise _general(exc) from exc
        except BotoCoreError as exc:
            raise Unavailable("the workflow service is unreachable; retry") from exc

    def signal(self, token: str, output: Mapping[str, Any]) -> None:
        """SendTaskSuccess; a token that no longer waits is a 409, never a second transition."""
        try:
            self._client().send_task_success(taskToken=token, output=json.dumps(output))
        except ClientError as exc:
            if _code(exc) in STALE_TOKEN_ERRORS:
                raise Conflict("the escalation moved meanwhile; reload it and retry") from exc
            raise _general(exc) from exc
        except BotoCoreError as exc:
            raise Unavailable("the workflow service is unreachable; retry") from exc


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _general(exc: ClientError) -> DomainError:
    if _code(exc) in THROTTLING:
        return Throttled("the workflow service is throttling requests; retry shortly", retry_after=1)
    return Unavailable("the workflow service failed; retry shortly")
