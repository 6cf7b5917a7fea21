"""The local stack starts pending time-rule waits again after a restart (devstack/time_rule_waits.py):
every start of the real workflow on moto is noted, and a restart starts again exactly the waits
whose ticket is still at the expected version and whose due item is absent, without a Scan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from devstack import time_rule_waits
from devstack.time_rule_waits import WaitLedger, restart
from tests.workflows.stack import EscalationStack, escalation_stack, wait_for

PAST_DUE = "2026-11-11T15:00:00Z"


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[EscalationStack]:
    with escalation_stack(monkeypatch.setenv) as provisioned:
        yield provisioned


@pytest.fixture
def ledger(stack: EscalationStack, tmp_path: Path) -> Iterator[WaitLedger]:
    noted = WaitLedger(tmp_path, stack.provisioned.physical["TimeRuleStateMachine"])
    time_rule_waits.track(noted)
    yield noted
    time_rule_waits.track(None)


def wait_input(ticket_id: str, version: int, rule_id: str = "remind") -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "rule_id": rule_id,
        "expected_version": version,
        "anchor": "2026-11-06T15:00:00Z",
        "due_at": PAST_DUE,
        "ttl": 1_900_000_000,
    }


def put(stack: EscalationStack, pk: str, sk: str, **fields: Any) -> None:
    item = {"PK": {"S": pk}, "SK": {"S": sk}, **{k: {"N": str(v)} for k, v in fields.items()}}
    boto3.client("dynamodb").put_item(TableName=stack.table, Item=item)


def test_every_started_wait_is_noted_and_a_restart_starts_again_only_those_that_may_still_fire(stack, ledger):
    sfn = boto3.client("stepfunctions")
    arn = stack.provisioned.physical["TimeRuleStateMachine"]
    put(stack, "TICKET#waiting", "TICKET", version=4)
    put(stack, "TICKET#changed", "TICKET", version=6)  # a human changed it after the wait started
    put(stack, "TICKET#fired", "TICKET", version=2)
    put(stack, "TICKET#fired", "TIMERULE#2#remind", expected_version=2)
    for ticket_id, version in (("waiting", 4), ("changed", 5), ("fired", 2)):
        name = f"{ticket_id}-v{version}-remind"
        sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(wait_input(ticket_id, version)))
    ledger.note(stack.provisioned.physical["SlaTimerStateMachine"], "not-ours", "{}")  # other workflows are not noted
    assert [w["name"] for w in ledger.noted()] == ["waiting-v4-remind", "changed-v5-remind", "fired-v2-remind"]
    # The waits are due at once on moto; let them finish, then take back the first one's due item:
    # as if the stack had been killed before that wait was due (moto forgets every execution).
    wait_for(
        lambda: all(e["status"] != "RUNNING" for e in sfn.list_executions(stateMachineArn=arn)["executions"]),
        timeout=30,
        what="the waits to finish",
    )
    key = {"PK": {"S": "TICKET#waiting"}, "SK": {"S": "TIMERULE#4#remind"}}
    boto3.client("dynamodb").delete_item(TableName=stack.table, Key=key)

    started: list[tuple[str, dict[str, Any]]] = []
    assert restart(ledger, boto3.client("dynamodb"), stack.table, lambda name, payload: started.append((name, payload))) == [
        "waiting-v4-remind"
    ]
    assert started == [("waiting-v4-remind", wait_input("waiting", 4))]
    assert [w["name"] for w in ledger.noted()] == ["waiting-v4-remind"]  # the file keeps what may still fire
