"""The SLA timer, statemachines/sla-timer.asl.json, run for real on moto.

Tickets are written through the services (as the API does) at injected past times, so due
times are in the past or a second or two ahead: nothing sleeps for minutes. Timers are started
by the real stream handler (`ticket_stream`) from the table's stream records. Assertions
read the execution history and the table.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib import composition
from chalicelib.domain.visibility import Caller
from chalicelib.handlers.sla_timers import start_timers
from tests.workflows.stack import EscalationStack, escalation_stack, wait_for

AGENT = Caller("agent-1", "agent", access="all")
ADMIN = Caller("admin-1", "admin")
MAX_TRANSITIONS_PER_CLOCK = 5


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[EscalationStack]:
    with escalation_stack(monkeypatch.setenv) as provisioned:
        composition.directory_service().create(
            ADMIN,
            "sla_policy",
            {"id": "one-minute", "name": "One minute", "targets": {"normal": {"first_response_minutes": 1}}},
            datetime.now(UTC),
        )
        yield provisioned
        _wait_until_timers_finish(provisioned)


class Timers:
    """Feeds the table's stream to the timer starter, as the event source mapping does."""

    def __init__(self, stack: EscalationStack) -> None:
        self.stack = stack
        self.streamed = 0

    @property
    def arn(self) -> str:
        return self.stack.provisioned.physical["SlaTimerStateMachine"]

    def records(self) -> list[dict[str, Any]]:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        region = boto3.session.Session().region_name
        shard = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].get_table(self.stack.table).stream_shard
        records = [copy.deepcopy(record.record) for record in shard.items]
        for record in records:
            record["dynamodb"]["ApproximateCreationDateTime"] = 0
            record["eventSourceARN"] = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/s"
        return records

    def deliver(self) -> dict[str, Any]:
        """Every stream record so far through the deployed entry point (as the mapping calls it)."""
        from app import app

        result: dict[str, Any] = app.handler_map["ticket_stream"]({"Records": self.records()}, None)
        return result

    def executions(self) -> dict[str, dict[str, Any]]:
        listed = boto3.client("stepfunctions").list_executions(stateMachineArn=self.arn)["executions"]
        return {e["name"]: e for e in listed}

    def finished(self, name: str) -> dict[str, Any]:
        arn = self.arn.replace(":stateMachine:", ":execution:") + f":{name}"
        sfn = boto3.client("stepfunctions")
        return wait_for(
            lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
            timeout=30,
            what=f"timer {name} to finish",
        )

    def entered(self, name: str) -> list[str]:
        arn = self.arn.replace(":stateMachine:", ":execution:") + f":{name}"
        history = boto3.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
        return [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]


def _wait_until_timers_finish(stack: EscalationStack) -> None:
    """No execution thread may outlive the mock: every timer here is due within seconds."""
    sfn = boto3.client("stepfunctions")
    arn = stack.provisioned.physical["SlaTimerStateMachine"]
    wait_for(
        lambda: not sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"],
        timeout=30,
        what="SLA timers to finish",
    )


def now_second() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def ledger(stack: EscalationStack, ticket_id: str) -> list[dict[str, Any]]:
    raw = boto3.client("dynamodb").query(
        TableName=stack.table,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :sla)",
        ExpressionAttributeValues={":pk": {"S": f"TICKET#{ticket_id}"}, ":sla": {"S": "SLA#"}},
    )
    from boto3.dynamodb.types import TypeDeserializer

    plain = TypeDeserializer()
    return [{k: plain.deserialize(v) for k, v in item.items()} for item in raw["Items"]]


def test_an_unanswered_ticket_breaches_in_five_transitions(stack: EscalationStack) -> None:
    t = now_second()
    ticket = composition.ticket_service().create(AGENT, {"subject": "Down", "description": "all of it"}, t - timedelta(minutes=2))
    timers = Timers(stack)
    assert timers.deliver() == {"batchItemFailures": []}
    name = f"{ticket.id}-first_response-1"
    assert set(timers.executions()) == {name}
    assert timers.finished(name)["status"] == "SUCCEEDED"
    entered = timers.entered(name)
    assert entered == ["WaitUntilDue", "DueYet", "Record", "RecordBreach", "Breached"]
    assert len(entered) <= MAX_TRANSITIONS_PER_CLOCK

    item = stack.item(f"TICKET#{ticket.id}", "TICKET")
    assert item is not None
    clock = item["sla"]["clocks"]["first_response"]
    assert clock["status"] == "breached" and clock["breached_at"].endswith("Z")
    assert item["version"] == ticket.version + 1  # API writers based on the old version retry
    assert [line["event"] for line in ledger(stack, ticket.id)] == ["applied", "started", "breached"]
    internal = [a for a in stack.activities(ticket.id) if a["type"] == "system"]
    assert [a["subject"] for a in internal] == [f"SLA first response target breached (due {clock['due_at']})"]
    assert internal[0]["visibility"] == "internal" and "GSI1PK" not in internal[0]
    breached = stack.outbox("sla.breached")
    assert len(breached) == 1 and breached[0]["ticket_id"] == ticket.id
    counted: list[tuple[str, int]] = []
    start_timers(timers.records(), composition.sla_timers(), lambda name, n: counted.append((name, n)))
    assert counted == [("SlaBreached", 1)]  # the breach-rate alarm's metric
    # Lists follow the breach: the stream copies it onto the ticket's list entries.
    assert timers.deliver() == {"batchItemFailures": []}
    entries = boto3.client("dynamodb").query(
        TableName=stack.table,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :idx)",
        ExpressionAttributeValues={":pk": {"S": f"TICKET#{ticket.id}"}, ":idx": {"S": "IDX#"}},
    )["Items"]
    assert len(entries) >= 4
    for entry in entries:
        assert entry["sla"]["M"]["clocks"]["M"]["first_response"]["M"]["status"]["S"] == "breached"
        assert int(entry["version"]["N"]) == item["version"]

    # The API reads the recorded breach, and a later agent write keeps it.
    sla = composition.sla_service().clocks(composition.ticket_service().get(AGENT, ticket.id), datetime.now(UTC))
    breached_at = clock["breached_at"][:19] + "Z"  # the API shows whole seconds
    assert sla[0]["status"] == "breached" and sla[0]["breached_at"] == breached_at
    composition.ticket_service().update(AGENT, ticket.id, {"priority": "high"}, expected_version=None, now=datetime.now(UTC))
    stored = stack.item(f"TICKET#{ticket.id}", "TICKET")
    assert stored is not None and stored["sla"]["clocks"]["first_response"]["breached_at"][:19] == breached_at[:19]


def test_a_timer_for_a_clock_met_meanwhile_exits_without_effect(stack: EscalationStack) -> None:
    t = now_second()
    ticket = composition.ticket_service().create(AGENT, {"subject": "Slow", "description": "very"}, t - timedelta(minutes=2))
    composition.conversation_service().comment(
        AGENT, ticket.id, body="On it", visibility="public", cc=[], notify=[], status=None, now=t - timedelta(seconds=90)
    )
    timers = Timers(stack)
    timers.deliver()  # the timer starts late (after the reply): its Wait returns at once
    name = f"{ticket.id}-first_response-1"
    assert timers.finished(name)["status"] == "SUCCEEDED"
    assert timers.entered(name) == ["WaitUntilDue", "DueYet", "Record", "RecordBreach", "WhyCancelled", "Stale"]
    item = stack.item(f"TICKET#{ticket.id}", "TICKET")
    assert item is not None and item["sla"]["clocks"]["first_response"]["status"] == "met"
    assert "breached" not in [line["event"] for line in ledger(stack, ticket.id)]
    assert stack.outbox("sla.breached") == []
    counted: list[tuple[str, int]] = []
    start_timers(timers.records(), composition.sla_timers(), lambda name, n: counted.append((name, n)))
    assert counted == [("SlaMet", 1)]


def test_pause_and_resume_start_a_new_generation_and_the_old_timer_is_stale(stack: EscalationStack) -> None:
    t = now_second()
    service = composition.ticket_service()
    ticket = service.create(AGENT, {"subject": "Waiting", "description": "on you"}, t - timedelta(seconds=120))
    service.update(AGENT, ticket.id, {"status": "pending"}, expected_version=None, now=t - timedelta(seconds=100))
    # 20 s ran before the pause; resumed 38 s before now, the remaining 40 s end 2 s from now.
    service.update(AGENT, ticket.id, {"status": "open"}, expected_version=None, now=t - timedelta(seconds=38))
    timers = Timers(stack)
    assert timers.deliver() == {"batchItemFailures": []}
    old, new = f"{ticket.id}-first_response-1", f"{ticket.id}-first_response-2"
    assert set(timers.executions()) == {old, new}
    assert timers.finished(old)["status"] == "SUCCEEDED" and timers.entered(old)[-1] == "Stale"
    assert timers.finished(new)["status"] == "SUCCEEDED" and timers.entered(new)[-1] == "Breached"
    events = [(line["event"], line.get("generation")) for line in ledger(stack, ticket.id)]
    assert events == [("applied", None), ("started", 1), ("paused", 1), ("resumed", 2), ("breached", 2)]
    item = stack.item(f"TICKET#{ticket.id}", "TICKET")
    assert item is not None and item["sla"]["clocks"]["first_response"]["due_at"] == (t + timedelta(seconds=2)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def test_a_redelivered_stream_batch_starts_nothing_twice(stack: EscalationStack) -> None:
    t = now_second()
    ticket = composition.ticket_service().create(AGENT, {"subject": "Twice", "description": "?"}, t - timedelta(minutes=2))
    timers = Timers(stack)
    assert timers.deliver() == {"batchItemFailures": []}
    assert timers.deliver() == {"batchItemFailures": []}
    assert list(timers.executions()) == [f"{ticket.id}-first_response-1"]
    timers.finished(f"{ticket.id}-first_response-1")
    assert [line["event"] for line in ledger(stack, ticket.id)].count("breached") == 1


def test_after_a_local_restart_running_clocks_get_their_timers_again(stack: EscalationStack) -> None:
    """devstack.timers: moto forgets executions across a restart; the restored clocks restart theirs."""
    from devstack.timers import restart_sla_timers

    t = now_second()
    overdue = composition.ticket_service().create(AGENT, {"subject": "Lost", "description": "timer"}, t - timedelta(minutes=2))
    met = composition.ticket_service().create(AGENT, {"subject": "Met", "description": "no timer"}, t - timedelta(minutes=2))
    composition.conversation_service().comment(
        AGENT, met.id, body="Done", visibility="public", cc=[], notify=[], status=None, now=t - timedelta(seconds=90)
    )
    assert restart_sla_timers(boto3.client("dynamodb"), stack.table) == 1
    timers = Timers(stack)
    assert set(timers.executions()) == {f"{overdue.id}-first_response-1"}
    assert timers.finished(f"{overdue.id}-first_response-1")["status"] == "SUCCEEDED"
    assert [line["event"] for line in ledger(stack, overdue.id)][-1] == "breached"


class BreachFaults:
    """Fails the first `times` breach transactions of one ticket, as DynamoDB cancels a
    transaction: `TransactionCanceledException` with the reason of each item. The timer's
    calls come from moto's execution thread, so every thread's calls are watched."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, ticket_id: str, reason: str, times: int = 1) -> None:
        from botocore.client import BaseClient

        self.failed = 0
        make_api_call = BaseClient._make_api_call

        def api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            items = params.get("TransactItems") or [{}]
            key = (items[0].get("Update") or {}).get("Key", {}).get("PK", {}).get("S")
            if operation == "TransactWriteItems" and key == f"TICKET#{ticket_id}" and self.failed < times:
                self.failed += 1
                reasons = [reason] + ["None"] * (len(items) - 1)
                message = f"Transaction cancelled, please refer cancellation reasons for specific reasons [{', '.join(reasons)}]"
                error = {
                    "Error": {"Code": "TransactionCanceledException", "Message": message},
                    "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "injected"},
                    "CancellationReasons": [{"Code": code} for code in reasons],
                }
                raise client.exceptions.TransactionCanceledException(error, operation)
            return make_api_call(client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", api_call)


@pytest.mark.parametrize("reason", ["TransactionConflict", "ThrottlingError"])
def test_a_breach_cancelled_by_a_colliding_write_or_throttling_is_retried_and_recorded(
    stack: EscalationStack, monkeypatch: pytest.MonkeyPatch, reason: str
) -> None:
    t = now_second()
    ticket = composition.ticket_service().create(AGENT, {"subject": "Busy", "description": "!"}, t - timedelta(minutes=2))
    faults = BreachFaults(monkeypatch, ticket.id, reason)
    timers = Timers(stack)
    assert timers.deliver() == {"batchItemFailures": []}
    name = f"{ticket.id}-first_response-1"
    assert timers.finished(name)["status"] == "SUCCEEDED"
    assert faults.failed == 1
    entered = timers.entered(name)
    assert entered.count("RecordBreach") == 2 and entered[-1] == "Breached"
    item = stack.item(f"TICKET#{ticket.id}", "TICKET")
    assert item is not None and item["sla"]["clocks"]["first_response"]["status"] == "breached"
    assert [line["event"] for line in ledger(stack, ticket.id)].count("breached") == 1
    assert len([a for a in stack.activities(ticket.id) if a["type"] == "system"]) == 1
    assert len(stack.outbox("sla.breached")) == 1


def test_a_breach_is_never_recorded_before_its_due_time(stack: EscalationStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """The timer's Wait wakes early (moto truncates the wait to whole seconds; one breach on AWS
    was recorded 0.6 s early): here it returns at once, 3 s before the clock is due."""
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp

    monkeypatch.setattr(Timestamp, "_get_wait_seconds", lambda self, env: (self.string.eval(env=env), env.stack.pop(), 0)[-1])
    t = now_second()
    # One-minute target, opened 57 s ago: due 3 s from now.
    ticket = composition.ticket_service().create(AGENT, {"subject": "Soon", "description": "."}, t - timedelta(seconds=57))
    timers = Timers(stack)
    assert timers.deliver() == {"batchItemFailures": []}
    name = f"{ticket.id}-first_response-1"
    assert timers.finished(name)["status"] == "SUCCEEDED"
    assert timers.entered(name)[-1] == "Breached"
    item = stack.item(f"TICKET#{ticket.id}", "TICKET")
    assert item is not None
    clock = item["sla"]["clocks"]["first_response"]
    due = datetime.fromisoformat(clock["due_at"])
    assert due == t + timedelta(seconds=3)
    assert datetime.fromisoformat(clock["breached_at"]) >= due
    (breach,) = [line for line in ledger(stack, ticket.id) if line["event"] == "breached"]
    assert datetime.fromisoformat(breach["at"]) >= due
