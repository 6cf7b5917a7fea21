"""The escalation workflow, statemachines/escalation.asl.json, run for real on moto.

Escalations are created with the repository (as the API does) and driven by SendTaskSuccess
with the token the execution stored on the escalation. Assertions read the execution
history, the table and the events the bus delivered.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from chalicelib import composition
from chalicelib.domain.errors import Conflict, Unavailable
from chalicelib.domain.escalations import NO_TARGET_SECONDS, new_escalation, renew_at, run_name
from chalicelib.domain.tickets import Ticket
from chalicelib.domain.visibility import Caller
from chalicelib.storage.escalations import EscalationWorkflow
from tests.workflows.stack import EscalationStack, escalation_stack, wait_for

# Every wait is preceded by its Wait_<stage> choice (renewal due? a 30-day slice or the last?);
# without targets every wait is a slice.
HAPPY_PATH = [
    "Start",
    "Enter_submitted",
    "Wait_submitted",
    "AwaitSlice_submitted",
    "Enter_review",
    "Wait_review",
    "AwaitSlice_review",
    "Enter_engineering",
    "Wait_engineering",
    "AwaitSlice_engineering",
    "Enter_verification",
    "Wait_verification",
    "AwaitSlice_verification",
    "VerificationOutcome",
    "Enter_resolved",
]
# Billed state transitions: the target for a whole escalation is at most 15. Each stage's event
# is an item in the stage's own transaction (the outbox), so publishing costs no transition.
MAX_TRANSITIONS_HAPPY_PATH = 15
TRANSITIONS_PER_VERIFICATION_LOOP = 7  # choice + engineering (3) + verification (3)
DAY = 24 * 3600


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[EscalationStack]:
    with escalation_stack(monkeypatch.setenv) as provisioned:
        yield provisioned


@pytest.fixture
def escalate(stack: EscalationStack) -> Callable[..., str]:
    """Create a ticket and an escalation on it (as the API does) and start its execution."""
    counter = iter(range(1, 1000))

    def make(*, timers: dict[str, int] | None = None, create_item: bool = True) -> str:
        number = next(counter)
        now = datetime.now(UTC)
        ticket_id = f"t{number}"
        ticket = Ticket(ticket_id, number, "VPN drops", "hourly", "alice", now, now, now, organization_id="acme", version=1)
        composition.ticket_repository().create(ticket, [], "agent-1")
        escalation = new_escalation(number, ticket_id, "Sync fails", "agent-1", now)
        if create_item:
            composition.escalation_repository().create(escalation)
        start(stack, escalation.id, ticket_id, timers)
        return escalation.id

    return make


def start(stack: EscalationStack, escalation_id: str, ticket_id: str, timers: dict[str, int] | None = None) -> None:
    payload = {
        "escalation_id": escalation_id,
        "ticket_id": ticket_id,
        "run": 1,
        "renew_at": renew_at(new_escalation(1, ticket_id, "x", "agent-1", datetime.now(UTC))),
        "timers": {
            "submitted": NO_TARGET_SECONDS,
            "review": NO_TARGET_SECONDS,
            "engineering": NO_TARGET_SECONDS,
            "verification": NO_TARGET_SECONDS,
            **(timers or {}),
        },
        "signal": {
            "from": None,
            "to": "submitted",
            "note": "",
            "actor_id": "agent-1",
            "uid": str(uuid.uuid4()),
            "fields": {"escalation_id": escalation_id, "stage": "submitted"},
        },
    }
    boto3.client("stepfunctions").start_execution(
        stateMachineArn=stack.state_machine_arn, name=escalation_id, input=json.dumps(payload)
    )


def signal(stack: EscalationStack, escalation_id: str, src: str, dst: str, **output: Any) -> str:
    """Send what the API sends when `src` → `dst` is accepted; returns the token used."""
    token = stack.waiting_token(escalation_id, src)
    body = {"from": src, "to": dst, "note": f"why {dst}", "actor_id": "agent-1", "estimated_resolution_date": None, **output}
    boto3.client("stepfunctions").send_task_success(taskToken=token, output=json.dumps(body))
    return token


def walk(stack: EscalationStack, escalation_id: str, moves: list[tuple[str, str]]) -> None:
    for src, dst in moves:
        signal(stack, escalation_id, src, dst)


FORWARD = [("submitted", "review"), ("review", "engineering"), ("engineering", "verification"), ("verification", "resolved")]


def test_happy_path_takes_ten_state_transitions_and_writes_every_stage(stack: EscalationStack, escalate) -> None:
    escalation_id = escalate()
    walk(stack, escalation_id, FORWARD)

    assert stack.finished(escalation_id)["status"] == "SUCCEEDED"
    entered = stack.entered_states(escalation_id)
    assert entered == HAPPY_PATH
    assert len(entered) <= MAX_TRANSITIONS_HAPPY_PATH
    stored = stack.escalation(escalation_id)
    assert stored["stage"] == "resolved"
    assert [s["stage"] for s in stored["stages"]] == ["submitted", "review", "engineering", "verification", "resolved"]
    assert [s["note"] for s in stored["stages"][1:]] == ["why review", "why engineering", "why verification", "why resolved"]
    entered_at = [datetime.fromisoformat(s["entered_at"]) for s in stored["stages"]]
    assert entered_at == sorted(entered_at) and all(s["entered_at"].endswith("Z") for s in stored["stages"])
    assert "task_token" not in stored and "claim_id" not in stored


def test_each_stage_updates_the_ticket_summary_and_bumps_its_version(stack: EscalationStack, escalate) -> None:
    escalation_id = escalate()
    ticket_id = stack.escalation(escalation_id)["ticket_id"]
    version_after_create = stack.item(f"TICKET#{ticket_id}", "TICKET")["version"]
    walk(stack, escalation_id, FORWARD[:2])
    signal(stack, escalation_id, "engineering", "verification", estimated_resolution_date="2026-04-30")
    stack.waiting_token(escalation_id, "verification")

    ticket = stack.item(f"TICKET#{ticket_id}", "TICKET")
    assert json.loads(ticket["escalation"]) == {
        "id": escalation_id,
        "stage": "verification",
        "estimated_resolution_date": "2026-04-30",
    }
    assert ticket["version"] == version_after_create + 3
    assert json.loads(stack.escalation(escalation_id)["estimated_resolution_date"]) == "2026-04-30"


def test_every_stage_appends_a_public_system_entry_without_the_note(stack: EscalationStack, escalate) -> None:
    escalation_id = escalate()
    walk(stack, escalation_id, FORWARD)
    stack.finished(escalation_id)
    ticket_id = stack.escalation(escalation_id)["ticket_id"]

    entries = sorted(stack.activities(ticket_id), key=lambda a: a["at"])
    assert [a["subject"] for a in entries] == [
        f"Escalation {escalation_id} submitted",
        *(f"Escalation {escalation_id} moved to {stage}" for stage in ("review", "engineering", "verification", "resolved")),
    ]
    for entry in entries:
        assert (entry["kind"], entry["type"], entry["visibility"], entry["actor_id"]) == (
            "activity",
            "system",
            "public",
            "agent-1",
        )
        assert entry["SK"] == f"ACT#1#{entry['id']}" == entry["GSI1SK"] and entry["GSI1PK"] == f"PUBLIC#{ticket_id}"
        assert entry["id"].startswith(entry["at"]) and entry["at"].endswith("Z")
        assert json.loads(entry["fields"])["escalation_id"] == escalation_id
        assert "why" not in json.dumps(entry)  # the transition notes stay on the escalation
    assert len(stack.public_timeline(ticket_id)) == 5


def test_every_stage_change_is_published_on_the_bus(stack: EscalationStack, escalate) -> None:
    escalation_id = escalate()
    walk(stack, escalation_id, FORWARD)
    stack.finished(escalation_id)

    events = wait_for(lambda: len(stack.events("escalation.stage_changed")) == 5 and stack.events("escalation.stage_changed"))
    assert {e["source"] for e in events} == {"helpdesk"}
    changes = [e["detail"]["changes"] for e in events]
    assert changes == [[{"property": "escalation.stage", "old": old, "new": new}] for old, new in [(None, "submitted"), *FORWARD]]
    detail = events[-1]["detail"]
    assert set(detail) == {"schema_version", "ticket_id", "escalation_id", "version", "actor_id", "at", "changes", "event_id"}
    assert (detail["schema_version"], detail["escalation_id"], detail["actor_id"]) == (1, escalation_id, "agent-1")
    assert detail["version"] is None and detail["at"].endswith("Z")


def test_each_stage_writes_its_event_item_in_the_stage_transaction(stack: EscalationStack, escalate) -> None:
    """The outbox item has the shape Python writers use, so the feed and the publisher read both."""
    escalation_id = escalate()
    walk(stack, escalation_id, FORWARD)
    stack.finished(escalation_id)
    ticket_id = stack.escalation(escalation_id)["ticket_id"]

    items = stack.outbox("escalation.stage_changed")
    assert len(items) == 5
    for item, stage in zip(items, stack.escalation(escalation_id)["stages"], strict=True):
        assert set(item) == {"PK", "SK", "kind", "id", "type", "at", "ticket_id", "detail"}
        assert (item["PK"], item["kind"], item["ticket_id"]) == ("EVENTS", "event", ticket_id)
        assert item["SK"] == f"{item['at']}#{item['id']}" and item["at"].endswith("Z")
        if stage["stage"] != "submitted":  # the API writes submitted's entry; the workflow, its event
            assert item["at"] == stage["entered_at"]
        detail = json.loads(item["detail"])  # a JSON string, as the feed stores it
        assert detail["at"] == item["at"] and detail["changes"][0]["new"] == stage["stage"]
    published = stack.events("escalation.stage_changed")
    assert [e["detail"]["event_id"] for e in published] == [item["id"] for item in items]


def test_a_stage_whose_transaction_fails_writes_no_event(stack: EscalationStack, escalate) -> None:
    escalation_id = escalate()
    ticket_id = stack.escalation(escalation_id)["ticket_id"]
    stack.waiting_token(escalation_id, "submitted")
    boto3.client("dynamodb").delete_item(TableName=stack.table, Key={"PK": {"S": f"TICKET#{ticket_id}"}, "SK": {"S": "TICKET"}})
    signal(stack, escalation_id, "submitted", "review")
    stack.finished(escalation_id, timeout=90)  # a cancelled stage transaction is retried with backoff first (≤ ~35 s)

    assert [json.loads(i["detail"])["changes"][0]["new"] for i in stack.outbox("escalation.stage_changed")] == ["submitted"]


def test_a_failed_verification_goes_back_to_engineering_for_seven_more_transitions(stack: EscalationStack, escalate) -> None:
    escalation_id = escalate()
    walk(stack, escalation_id, FORWARD[:3])
    walk(stack, escalation_id, [("verification", "engineering"), ("engineering", "verification"), ("verification", "resolved")])

    assert stack.finished(escalation_id)["status"] == "SUCCEEDED"
    entered = stack.entered_states(escalation_id)
    assert len(entered) == len(HAPPY_PATH) + TRANSITIONS_PER_VERIFICATION_LOOP
    stages = [s["stage"] for s in stack.escalation(escalation_id)["stages"]]
    assert stages == ["submitted", "review", "engineering", "verification", "engineering", "verification", "resolved"]


def test_a_repeated_start_is_a_no_op(stack: EscalationStack, escalate) -> None:
    escalation_id = escalate()
    stack.waiting_token(escalation_id, "submitted")
    ticket_id = stack.escalation(escalation_id)["ticket_id"]

    with pytest.raises(ClientError, match="ExecutionAlreadyExists"):
        start(stack, escalation_id, ticket_id)
    composition.escalation_workflow().start(escalation_id, {"escalation_id": escalation_id})  # the stream's start
    inserted = [r for r in stack.stream_records() if r["dynamodb"]["Keys"]["PK"]["S"] == f"ESC#{escalation_id}"]
    assert stack.deliver("ticket_stream", inserted) == {"batchItemFailures": []}  # redelivered: refused as a duplicate

    sfn = boto3.client("stepfunctions")
    assert len(sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]) == 1
    assert stack.entered_states(escalation_id) == HAPPY_PATH[:4]


def test_a_used_token_cannot_move_the_escalation_twice(stack: EscalationStack, escalate) -> None:
    escalation_id = escalate()
    used = signal(stack, escalation_id, "submitted", "review")
    stack.waiting_token(escalation_id, "review")

    # AWS answers InvalidToken/TaskDoesNotExist here; moto 5.2.5 accepts a consumed token of a
    # running execution silently. Either way the consumed wait does not fire again.
    try:
        boto3.client("stepfunctions").send_task_success(taskToken=used, output=json.dumps({"to": "review"}))
    except ClientError as exc:
        assert exc.response["Error"]["Code"] in ("InvalidToken", "TaskDoesNotExist")
    signal(stack, escalation_id, "review", "engineering")
    stack.waiting_token(escalation_id, "engineering")

    assert [s["stage"] for s in stack.escalation(escalation_id)["stages"]] == ["submitted", "review", "engineering"]
    assert stack.entered_states(escalation_id).count("Enter_review") == 1


def test_overrunning_a_stage_target_records_notifies_and_keeps_waiting(stack: EscalationStack, escalate) -> None:
    escalation_id = escalate(timers={"submitted": 1})
    first = stack.escalation(escalation_id)
    stored = wait_for(lambda: (item := stack.escalation(escalation_id)).get("overruns") and item.get("task_stage") and item)

    assert stored["stage"] == "submitted"  # no stage is skipped automatically
    assert [(o["stage"], o["target_seconds"]) for o in stored["overruns"]] == [("submitted", 1)]
    overdue = wait_for(lambda: stack.events("escalation.stage_overdue"))
    assert overdue[0]["detail"]["stage"] == "submitted" and overdue[0]["detail"]["target_seconds"] == 1
    assert overdue[0]["detail"]["actor_id"] == "system" and overdue[0]["detail"]["changes"] == []
    assert [i["id"] for i in stack.outbox("escalation.stage_overdue")] == [overdue[0]["detail"]["event_id"]]
    ticket_id = stored["ticket_id"]
    internal = [a for a in stack.activities(ticket_id) if a["visibility"] == "internal"]
    assert [a["subject"] for a in internal] == [f"Escalation {escalation_id} overran its submitted target of 1 seconds"]
    assert all(a["visibility"] == "public" for a in stack.public_timeline(ticket_id))
    history = [e["type"] for e in stack.history(escalation_id)]
    assert "TaskTimedOut" in history and stack.describe(escalation_id)["status"] == "RUNNING"

    assert stored["task_token"] != first.get("task_token")  # waiting again, with a new token
    signal(stack, escalation_id, "submitted", "review")
    assert stack.waiting_token(escalation_id, "review")
    assert stack.entered_states(escalation_id).count("RecordOverdue") == 1  # the timer fired once


def test_a_failing_write_is_recorded_on_the_escalation_published_and_fails_the_execution(
    stack: EscalationStack, escalate
) -> None:
    escalation_id = escalate()
    ticket_id = stack.escalation(escalation_id)["ticket_id"]
    stack.waiting_token(escalation_id, "submitted")
    boto3.client("dynamodb").delete_item(TableName=stack.table, Key={"PK": {"S": f"TICKET#{ticket_id}"}, "SK": {"S": "TICKET"}})
    signal(stack, escalation_id, "submitted", "review")

    described = stack.finished(escalation_id, timeout=90)
    assert (described["status"], described["error"]) == ("FAILED", "Helpdesk.EscalationFailed")
    failure = stack.escalation(escalation_id)["failure"]
    assert failure["error"] == "DynamoDb.TransactionCanceledException"
    assert stack.escalation(escalation_id)["stage"] == "submitted"  # the transaction wrote nothing
    published = wait_for(lambda: stack.events("escalation.failed"))
    assert published[0]["detail"]["error"] == "DynamoDb.TransactionCanceledException"
    entered = stack.entered_states(escalation_id)
    assert entered[-3:] == ["RecordFailure", "PublishFailure", "Failed"]
    failed_attempts = [e for e in stack.history(escalation_id) if e["type"] == "TaskFailed"]
    assert len(failed_attempts) == 7  # six retries of a cancelled transaction (backoff), then the Catch


def test_an_execution_without_its_escalation_fails_loudly(stack: EscalationStack, escalate) -> None:
    escalation_id = escalate(create_item=False)

    assert stack.finished(escalation_id)["status"] == "FAILED"
    assert stack.entered_states(escalation_id)[-3:] == ["RecordFailure", "PublishFailure", "Failed"]
    published = wait_for(lambda: stack.events("escalation.failed"))
    assert published[0]["detail"]["error"] == "DynamoDb.ConditionalCheckFailedException"


def test_throttled_writes_are_retried(stack: EscalationStack, escalate, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
    from moto.dynamodb.models import DynamoDBBackend

    escalation_id = escalate()
    stack.waiting_token(escalation_id, "submitted")
    original = DynamoDBBackend.transact_write_items
    throttled: list[int] = []

    def throttle_once(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        if not throttled:
            throttled.append(1)
            raise DynamodbException(ERROR_TYPE_PREFIX + "ProvisionedThroughputExceededException", "slow down")
        return original(self, transact_items)

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", throttle_once)
    signal(stack, escalation_id, "submitted", "review")

    stack.waiting_token(escalation_id, "review")
    failed = [e["taskFailedEventDetails"]["error"] for e in stack.history(escalation_id) if e["type"] == "TaskFailed"]
    assert failed == ["DynamoDb.ProvisionedThroughputExceededException"]
    assert stack.entered_states(escalation_id).count("Enter_review") == 1  # a retry is not a new transition


@pytest.mark.parametrize("code", ["TaskDoesNotExist", "InvalidToken", "TaskTimedOut"])
def test_a_token_that_no_longer_waits_is_a_conflict(code: str) -> None:
    # moto never answers TaskTimedOut or TaskDoesNotExist (it accepts a timed-out token
    # silently), so the gateway's translation is checked against botocore's own stubs.
    client = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(client) as stubbed:
        stubbed.add_client_error("send_task_success", service_error_code=code, http_status_code=400)
        with pytest.raises(Conflict):
            EscalationWorkflow(lambda: client, "arn:aws:states:us-east-1:1:stateMachine:x").signal("t", {})


def test_a_workflow_service_failure_is_unavailable_not_a_conflict() -> None:
    client = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(client) as stubbed:
        stubbed.add_client_error("send_task_success", service_error_code="ServiceUnavailable", http_status_code=503)
        with pytest.raises(Unavailable):
            EscalationWorkflow(lambda: client, "arn:aws:states:us-east-1:1:stateMachine:x").signal("t", {})


def test_an_operator_redrive_gives_a_failed_escalation_a_new_run_that_resumes_in_its_stage(
    stack: EscalationStack, escalate, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib.cli import main

    escalation_id = escalate()
    ticket_id = stack.escalation(escalation_id)["ticket_id"]
    stack.waiting_token(escalation_id, "submitted")
    key = {"PK": {"S": f"TICKET#{ticket_id}"}, "SK": {"S": "TICKET"}}
    ticket = boto3.client("dynamodb").get_item(TableName=stack.table, Key=key)["Item"]
    boto3.client("dynamodb").delete_item(TableName=stack.table, Key=key)
    signal(stack, escalation_id, "submitted", "review")
    assert stack.finished(escalation_id, timeout=90)["status"] == "FAILED"
    boto3.client("dynamodb").put_item(TableName=stack.table, Item=ticket)  # the cause is fixed

    assert main(["redrive-escalation", escalation_id, "--table", stack.table]) == 0
    assert capsys.readouterr().out.strip() == f"started {escalation_id}-r2"
    assert main(["redrive-escalation", escalation_id, "--table", stack.table]) == 1  # its new run is running
    stack.waiting_token(escalation_id, "submitted")
    item = stack.escalation(escalation_id)
    assert item["run"] == 2 and "failure" not in item
    signal(stack, escalation_id, "submitted", "review")
    stack.waiting_token(escalation_id, "review")
    assert [s["stage"] for s in stack.escalation(escalation_id)["stages"]] == ["submitted", "review"]
    run2 = stack.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{escalation_id}-r2"
    entered = [e["stateEnteredEventDetails"]["name"] for e in stack._history_of(run2) if e["type"].endswith("StateEntered")]
    assert entered[:4] == ["Start", "ResumeWaiting", "Wait_submitted", "Await_submitted"]  # submitted is not entered again
    # The new run's age counts from the redrive, not from the escalation's creation.
    restarted = datetime.fromisoformat(item["run_started_at"])
    assert datetime.now(UTC) - restarted < timedelta(minutes=5)
    renews = json.loads(boto3.client("stepfunctions").describe_execution(executionArn=run2)["input"])["renew_at"]
    assert renews == (restarted + timedelta(days=330)).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- waits in slices, and runs that continue before an execution's one-year limit ------------
SLICE = 30 * DAY
SUBMITTED_TARGET = 14400  # infra/template.json's HELPDESK_ESCALATION_STAGE_TARGETS, as the stream starts runs
AGENT = Caller("agent-1", "agent", access="all")


@pytest.fixture
def fast_days(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's task token waits pass a day in 10 ms (a 30-day slice in 0.3 s); the history keeps
    the timeouts the definition asked for, so the slices are counted there, not timed."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )

    original = StateTaskServiceCallback._wait_for_task_token_timeout

    def faster(self: Any, timeout_seconds: int, callback_endpoint: Any) -> Any:
        return original(self, timeout_seconds * 0.01 / DAY, callback_endpoint)

    monkeypatch.setattr(StateTaskServiceCallback, "_wait_for_task_token_timeout", faster)


def run_history(stack: EscalationStack, escalation_id: str, run: int) -> list[dict[str, Any]]:
    return stack._history_of(stack.execution_arn(run_name(escalation_id, run)))


def run_entered(stack: EscalationStack, escalation_id: str, run: int) -> list[str]:
    events = run_history(stack, escalation_id, run)
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def wait_timeouts(events: list[dict[str, Any]]) -> list[int]:
    """The timeout of every task token wait scheduled, in order (the history's TaskScheduled)."""
    return [
        e["taskScheduledEventDetails"]["timeoutInSeconds"]
        for e in events
        if e["type"] == "TaskScheduled" and "timeoutInSeconds" in e["taskScheduledEventDetails"]
    ]


def escalated_long_ago(days: int, *, number: int, **item: Any) -> str:
    """A ticket, and an escalation on it created `days` ago (as the API wrote it, but then), with
    `item` attributes set on the escalation item; the stream has its INSERT."""
    from chalicelib.storage import keys
    from chalicelib.storage.escalations import _item

    now = datetime.now(UTC)
    ticket_id = f"old{number}"
    ticket = Ticket(ticket_id, number, "VPN drops", "hourly", "alice", now, now, now, organization_id="acme", version=1)
    composition.ticket_repository().create(ticket, [], "agent-1")
    escalation = new_escalation(number, ticket_id, "Sync fails", "agent-1", now - timedelta(days=days))
    stored = _item(escalation)
    for name, value in item.items():
        setattr(stored, name, keys.stamp(value) if isinstance(value, datetime) else value)
    stored.save()
    return escalation.id


def test_a_stage_timer_longer_than_30_days_is_waited_in_slices_and_overruns_only_when_all_of_it_passed(
    stack: EscalationStack, escalate, fast_days: None
) -> None:
    escalation_id = escalate(timers={"submitted": 65 * DAY})
    stored = wait_for(lambda: (item := stack.escalation(escalation_id)).get("overruns") and item)

    assert [(o["stage"], o["target_seconds"]) for o in stored["overruns"]] == [("submitted", 65 * DAY)]
    history = stack.history(escalation_id)
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]
    slice_ended = ["Wait_submitted", "AwaitSlice_submitted", "SliceEnded", "NextSlice", "ResumeWaiting"]
    assert entered[: entered.index("RecordOverdue") + 1] == [
        "Start",
        "Enter_submitted",
        *slice_ended,
        *slice_ended,
        "Wait_submitted",
        "Await_submitted",
        "RecordOverdue",
    ]
    overdue_at = next(i for i, e in enumerate(history) if e.get("stateEnteredEventDetails", {}).get("name") == "RecordOverdue")
    assert wait_timeouts(history[:overdue_at]) == [SLICE, SLICE, 5 * DAY]  # 65 days, then the overrun

    # Overrun, the stage has no timer any more: it waits slice after slice, and never overruns again.
    wait_for(lambda: stack.entered_states(escalation_id).count("AwaitSlice_submitted") >= 4, what="two more slices")
    entered = stack.entered_states(escalation_id)
    assert entered.count("RecordOverdue") == 1 and entered.count("NextSlice") == 2
    assert stack.describe(escalation_id)["status"] == "RUNNING"


def test_a_run_due_for_renewal_hands_its_stage_over_to_the_next_run_which_takes_the_next_transition(
    stack: EscalationStack,
) -> None:
    escalation_id = escalated_long_ago(331, number=501)
    ticket_id = stack.escalation(escalation_id)["ticket_id"]
    stack.start_escalation_runs()  # the stream starts run 1 (CP-n) for the INSERT

    assert stack.finished(escalation_id)["status"] == "SUCCEEDED"
    assert stack.entered_states(escalation_id) == ["Start", "Enter_submitted", "Wait_submitted", "Renew", "Renewed"]
    item = stack.escalation(escalation_id)
    assert (item["run"], item["timer_left"], item["stage"]) == (2, SUBMITTED_TARGET, "submitted")
    assert "task_token" not in item and "task_stage" not in item

    # Between the runs, a transition is accepted and queued for the next run's wait.
    moved = composition.escalation_service().transition(AGENT, escalation_id, "review", "why review", None, composition.clock())
    assert moved.pending_stage(composition.clock()) == "review"
    stack.waiting_token(escalation_id, "review")  # the stream started run 2, which took it

    second = boto3.client("stepfunctions").describe_execution(executionArn=stack.execution_arn(f"{escalation_id}-r2"))
    payload = json.loads(second["input"])
    assert payload["current"] == {"stage": "submitted", "target": SUBMITTED_TARGET, "timer": {"seconds": SUBMITTED_TARGET}}
    started = datetime.fromisoformat(item["run_started_at"])
    assert payload["renew_at"] == (started + timedelta(days=330)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert run_entered(stack, escalation_id, 2)[:3] == ["Start", "ResumeWaiting", "Wait_submitted"]  # not entered again

    # A redelivered batch starts nothing more: two runs, run raised once.
    records = [r for r in stack.stream_records() if r["dynamodb"]["Keys"]["PK"]["S"] == f"ESC#{escalation_id}"]
    assert stack.deliver("ticket_stream", records) == {"batchItemFailures": []}
    executions = boto3.client("stepfunctions").list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
    assert sorted(e["name"] for e in executions) == [escalation_id, f"{escalation_id}-r2"]
    assert stack.escalation(escalation_id)["run"] == 2

    # Nothing twice: one entry and one event per stage entered.
    subjects = [a["subject"] for a in sorted(stack.activities(ticket_id), key=lambda a: a["at"])]
    assert subjects == [f"Escalation {escalation_id} submitted", f"Escalation {escalation_id} moved to review"]
    assert len(stack.public_timeline(ticket_id)) == 2
    changes = [json.loads(i["detail"])["changes"][0]["new"] for i in stack.outbox("escalation.stage_changed")]
    assert changes == ["submitted", "review"]
    assert [s["stage"] for s in stack.escalation(escalation_id)["stages"]] == ["submitted", "review"]


def test_a_continued_run_waits_only_for_the_timer_its_predecessor_left(stack: EscalationStack) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=331)
    escalation_id = escalated_long_ago(400, number=502, run=2, run_started_at=long_ago, timer_left=3600)
    stack.start_escalation_runs()  # run 2, itself 331 days old: it renews at its first wait

    run2 = boto3.client("stepfunctions").describe_execution(executionArn=stack.execution_arn(f"{escalation_id}-r2"))
    assert json.loads(run2["input"])["current"]["timer"] == {"seconds": 3600}
    token = stack.waiting_token(escalation_id, "submitted")  # run 3
    assert run_entered(stack, escalation_id, 2) == ["Start", "ResumeWaiting", "Wait_submitted", "Renew", "Renewed"]
    assert run_entered(stack, escalation_id, 3) == ["Start", "ResumeWaiting", "Wait_submitted", "Await_submitted"]
    assert wait_timeouts(run_history(stack, escalation_id, 3)) == [3600]  # what was left, not the 4 h target
    assert stack.escalation(escalation_id)["run"] == 3

    boto3.client("stepfunctions").send_task_success(
        taskToken=token,
        output=json.dumps(
            {"from": "submitted", "to": "review", "note": "", "actor_id": "agent-1", "estimated_resolution_date": None}
        ),
    )
    stack.waiting_token(escalation_id, "review")
    item = stack.escalation(escalation_id)
    assert "timer_left" not in item  # a stage entered gets its own full timer
    assert [s["stage"] for s in item["stages"]] == ["submitted", "review"]


def test_after_every_execution_was_lost_open_escalations_resume_in_their_stage_and_take_a_queued_transition(
    stack: EscalationStack, escalate
) -> None:
    from chalicelib.services.escalations import EscalationStarter

    repository = composition.escalation_repository()
    waiting, queued, resolved = escalate(), escalate(), escalate()
    for _ in range(3):
        repository.next_number()  # as the API's create takes each number
    walk(stack, resolved, FORWARD)
    stack.finished(resolved)
    stack.waiting_token(waiting, "submitted")
    stack.waiting_token(queued, "submitted")
    # The local stack's moto restarts: every execution is gone. One transition had been queued
    # while its workflow was between two waits (no token).
    client = boto3.client("stepfunctions")
    for escalation_id in (waiting, queued):
        client.stop_execution(executionArn=stack.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{escalation_id}")
    summary = {"id": queued, "stage": "review", "estimated_resolution_date": None}
    queued_signal = {
        "from": "submitted",
        "to": "review",
        "note": "queued before the restart",
        "actor_id": "agent-1",
        "uid": str(uuid.uuid4()),
        "summary": summary,
        "fields": {"escalation_id": queued, "stage": "review"},
    }
    boto3.client("dynamodb").update_item(
        TableName=stack.table,
        Key={"PK": {"S": f"ESC#{queued}"}, "SK": {"S": "ESC"}},
        UpdateExpression="SET queued_signal = :signal, queued_from = :from REMOVE task_token, task_stage",
        ExpressionAttributeValues={":signal": {"S": json.dumps(queued_signal)}, ":from": {"S": "submitted"}},
    )
    starter = EscalationStarter(EscalationWorkflow(lambda: client, stack.state_machine_arn), {})

    assert starter.resume_all(repository, datetime.now(UTC)) == [f"{waiting}-r2", f"{queued}-r2"]
    resumed = datetime.fromisoformat(stack.escalation(waiting)["run_started_at"])
    assert datetime.now(UTC) - resumed < timedelta(minutes=5)  # the new run's age counts from the resume

    stack.waiting_token(queued, "review")  # the queued transition was taken at the new run's wait
    signal(stack, waiting, "submitted", "review")
    stack.waiting_token(waiting, "review")
    assert [s["stage"] for s in stack.escalation(waiting)["stages"]] == ["submitted", "review"]
    assert stack.escalation(resolved)["stage"] == "resolved" and "run" not in stack.escalation(resolved)
