"""Time rules (issue 11) end to end: `/v1/automations` with `"event": "time"`, the ticket stream
starting the real time-rule workflow on moto, the wait's due item run by the stream.

Time is the services' clock (`composition.clock`), set to November 2026: every wait's due time is
then in moto's past, and a Wait on a past timestamp returns at once (LOCAL-AWS.md), so the real
ASL runs without sleeping; that the wait never fires early is tests/workflows/test_time_rule_workflow.py's.
The calendar is the ticket's SLA policy's business hours: Monday to Friday, 09:00-17:00 UTC.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib import composition
from tests.api.test_routing import history
from tests.workflows.stack import EscalationStack, escalation_stack, wait_for

FRIDAY_3PM = datetime(2026, 11, 6, 15, 0, tzinfo=UTC)
REMIND_DUE = "2026-11-11T15:00:00Z"  # 3 business days after Friday 15:00: Wednesday 15:00
CLOSE_DUE = "2026-11-17T15:00:00Z"  # 7 business days after: Tuesday 15:00 of the week after
WEEKDAYS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


class Clock:
    def __init__(self) -> None:
        self.now = FRIDAY_3PM

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[EscalationStack]:
    with escalation_stack(monkeypatch.setenv) as provisioned:
        yield provisioned


@pytest.fixture
def aws(stack: EscalationStack) -> Iterator[None]:
    """Overrides the plain moto of tests/conftest.py: the app runs against the provisioned stack."""
    yield


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(composition, "clock", fake)
    return fake


@pytest.fixture
def desk(world: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """Office hours on weekdays through an SLA policy (no goal for normal tickets: no SLA timers),
    and the two rules of the README: remind after 3 business days pending, close after 7."""
    admin = world["admin"]
    hours = {"id": "office", "name": "Office", "timezone": "UTC", "weekly": WEEKDAYS}
    assert admin.post("/v1/business-hours", hours).status_code == 201
    policy = {
        "id": "office-policy",
        "name": "Office",
        "business_hours_id": "office",
        "targets": {"urgent": {"first_response_minutes": 60}},
    }
    created = admin.post("/v1/sla-policies", policy)
    assert created.status_code == 201, created.body
    remind = time_rule(admin, "Remind", 3, [{"type": "internal_note", "body": "Still waiting on the customer."}])
    close = time_rule(admin, "Close", 7, [{"type": "set_status", "status": "closed"}])
    return {"remind": remind, "close": close}


def time_rule(admin: Any, name: str, days: int, actions: list[dict[str, Any]]) -> dict[str, Any]:
    body = {"name": name, "trigger": {"event": "time", "status_category": "pending", "after": {"business_days": days}}}
    response = admin.post("/v1/automations", {**body, "actions": actions})
    assert response.status_code == 201, response.body
    return response.data


class StackStream:
    """The provisioned table's stream, handed to the deployed ticket_stream entry point."""

    def __init__(self, stack: EscalationStack) -> None:
        self.stack = stack
        self.read = 0

    def records(self) -> list[dict[str, Any]]:
        records = self.stack.stream_records(self.read)
        self.read += len(records)
        return records

    def deliver(self, records: list[dict[str, Any]]) -> Any:
        return self.stack.deliver("ticket_stream", records)

    def follow(self) -> list[dict[str, Any]]:
        """Deliver what is new until the stream is quiet (the stream's own writes make records too)."""
        delivered: list[dict[str, Any]] = []
        for _ in range(8):
            records = self.records()
            if not records:
                return delivered
            assert self.deliver(records) == {"batchItemFailures": []}
            delivered += records
        raise AssertionError("the stream did not settle")


class Waits:
    """The time-rule workflow's executions, and the stream followed until they are all done."""

    def __init__(self, stack: EscalationStack) -> None:
        self.arn = stack.provisioned.physical["TimeRuleStateMachine"]
        self.sfn = boto3.client("stepfunctions")
        self.stream = StackStream(stack)
        self.stream.follow()

    def executions(self) -> list[dict[str, Any]]:
        listed = self.sfn.list_executions(stateMachineArn=self.arn)["executions"]
        return [self.sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]

    def inputs(self) -> list[dict[str, Any]]:
        return sorted((json.loads(e["input"]) for e in self.executions()), key=lambda i: (i["due_at"], i["rule_id"]))

    def finished(self) -> None:
        wait_for(lambda: all(e["status"] != "RUNNING" for e in self.executions()), timeout=30, what="time-rule waits to finish")

    def start_from_the_change(self) -> None:
        """The records written so far, once (not the due items the waits write meanwhile)."""
        assert self.stream.deliver(self.stream.records()) == {"batchItemFailures": []}
        self.finished()

    def follow(self) -> None:
        """Stream records in; the waits they start run (due: at once) and write due items; again."""
        for _ in range(6):
            delivered = self.stream.follow()
            self.finished()
            if not delivered:
                return
        raise AssertionError("the stream did not settle")


@pytest.fixture
def waits(stack: EscalationStack, desk: dict[str, Any]) -> Waits:
    return Waits(stack)


def automated(agent: Any, ticket_id: str, rule: dict[str, Any]) -> list[dict[str, Any]]:
    actor = f"automation:{rule['id']}"
    timeline = agent.get(f"/v1/tickets/{ticket_id}/timeline").data["items"]
    return [e for e in [*history(agent, ticket_id), *timeline] if e.get("actor_id") == actor]


def pending_ticket(world: dict[str, Any], make_ticket: Any, waits: Waits) -> dict[str, Any]:
    ticket = make_ticket(requester_id="alice")
    moved = world["agent_all"].patch(f"/v1/tickets/{ticket['id']}", {"status": "pending"})
    assert moved.status_code == 200, moved.body
    return moved.data


def test_a_pending_ticket_is_reminded_after_3_business_days_and_closed_after_7(world, desk, waits, make_ticket, clock):
    agent = world["agent_all"]
    ticket = pending_ticket(world, make_ticket, waits)
    waits.follow()

    # The reminder's own note did not cancel the close: it waited from the version the note left.
    assert [(i["rule_id"], i["due_at"], i["anchor"]) for i in waits.inputs()] == [
        (desk["remind"]["id"], REMIND_DUE, "2026-11-06T15:00:00Z"),
        (desk["close"]["id"], CLOSE_DUE, "2026-11-06T15:00:00Z"),
    ]
    notes = [e for e in automated(agent, ticket["id"], desk["remind"]) if e.get("type") == "note"]
    assert [n["body"] for n in notes] == ["Still waiting on the customer."]
    closed = agent.get(f"/v1/tickets/{ticket['id']}").data
    assert closed["status"] == "closed"
    assert [(h["property"], h["new"]) for h in automated(agent, ticket["id"], desk["close"]) if "property" in h] == [
        ("status", "closed")
    ]


def test_a_human_change_while_the_rule_waits_cancels_it_and_the_clock_starts_again_from_the_change(
    world, desk, waits, make_ticket, clock
):
    agent = world["agent_all"]
    ticket = pending_ticket(world, make_ticket, waits)
    waits.start_from_the_change()  # the reminder's wait starts (and, being due, writes its due item)
    clock.now = FRIDAY_3PM + timedelta(days=3)  # Monday: an agent adds a tag before the due item is read
    assert agent.patch(f"/v1/tickets/{ticket['id']}", {"tags": ["waiting"]}).status_code == 200
    clock.now = FRIDAY_3PM + timedelta(days=4, hours=1)
    waits.stream.follow()

    assert automated(agent, ticket["id"], desk["remind"]) == []  # the stale due item ran nothing
    anchors = {(i["rule_id"], i["anchor"], i["due_at"]) for i in waits.inputs()}
    assert (desk["remind"]["id"], "2026-11-09T15:00:00Z", "2026-11-12T15:00:00Z") in anchors  # from Monday's change


def test_a_retried_stream_batch_starts_one_wait(world, desk, waits, make_ticket, clock):
    ticket = pending_ticket(world, make_ticket, waits)
    batch = waits.stream.records()
    assert waits.stream.deliver(batch) == {"batchItemFailures": []}
    assert waits.stream.deliver(batch) == {"batchItemFailures": []}  # Lambda's retry of the same batch

    started = [i for i in waits.inputs() if i["ticket_id"] == ticket["id"]]
    assert [(i["rule_id"], i["expected_version"]) for i in started] == [(desk["remind"]["id"], ticket["version"])]


def test_a_ticket_leaving_the_category_is_not_acted_on(world, desk, waits, make_ticket, clock):
    agent = world["agent_all"]
    ticket = pending_ticket(world, make_ticket, waits)
    waits.start_from_the_change()
    assert agent.patch(f"/v1/tickets/{ticket['id']}", {"status": "open"}).status_code == 200
    waits.follow()

    assert agent.get(f"/v1/tickets/{ticket['id']}").data["status"] == "open"
    assert automated(agent, ticket["id"], desk["remind"]) == [] and automated(agent, ticket["id"], desk["close"]) == []
    assert len(waits.inputs()) == 1  # open has no time rules: nothing more waits
