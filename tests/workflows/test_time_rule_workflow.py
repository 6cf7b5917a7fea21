"""The time-rule wait, statemachines/time-rule.asl.json, run for real on moto: it waits until the
rule is due and records that under the ticket once (the ticket stream acts on that item)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tests.workflows.stack import EscalationStack, escalation_stack, wait_for


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[EscalationStack]:
    with escalation_stack(monkeypatch.setenv) as provisioned:
        yield provisioned


def run(stack: EscalationStack, name: str, due_at: datetime, version: int = 4) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")
    payload = {
        "ticket_id": "t1",
        "rule_id": "remind",
        "expected_version": version,
        "anchor": "2026-12-01T10:00:00Z",
        "due_at": due_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ttl": 1_900_000_000,
    }
    arn = stack.provisioned.physical["TimeRuleStateMachine"]
    execution = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))["executionArn"]
    return wait_for(
        lambda: (d := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and d,
        timeout=30,
        what=f"time rule {name} to finish",
    )


def entered(execution_arn: str) -> list[str]:
    events = boto3.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=100)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def test_a_due_rule_is_recorded_under_its_ticket_once_and_not_before_it_is_due(stack: EscalationStack) -> None:
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    first = run(stack, "t1-v4-remind", due)
    assert first["status"] == "SUCCEEDED"
    assert entered(first["executionArn"])[-2:] == ["RecordDue", "Recorded"]
    item = stack.item("TICKET#t1", "TIMERULE#4#remind")
    assert item is not None
    assert (item["kind"], item["rule_id"], item["expected_version"]) == ("time_rule_due", "remind", 4)
    assert datetime.fromisoformat(item["fired_at"].replace("Z", "+00:00")) >= due

    again = run(stack, "t1-v4-remind-redriven", due - timedelta(minutes=1))  # the same wait, repeated
    assert again["status"] == "SUCCEEDED"
    assert entered(again["executionArn"])[-2:] == ["RecordDue", "AlreadyRecorded"]
    assert stack.item("TICKET#t1", "TIMERULE#4#remind")["fired_at"] == item["fired_at"]
