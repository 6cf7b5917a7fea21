"""Escalations through the HTTP API, with the real workflow executing on moto.

The API validates and signals; the workflow moves the stage, so after each accepted signal
the tests wait (bounded) until the escalation waits in its next stage.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib import composition
from chalicelib.domain.errors import Conflict
from chalicelib.domain.escalations import ESTIMATE_NOTE
from chalicelib.domain.visibility import Caller
from tests.api.conftest import ApiUser
from tests.workflows.stack import EscalationStack, escalation_stack, wait_for

FORWARD = ("review", "engineering", "verification", "resolved")


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[EscalationStack]:
    with escalation_stack(monkeypatch.setenv) as provisioned:
        yield provisioned


@pytest.fixture
def aws(stack: EscalationStack) -> Iterator[None]:
    """Overrides the plain moto of tests/conftest.py: the app runs against the provisioned stack."""
    yield


@pytest.fixture
def escalated(
    world: dict[str, Any], make_ticket: Callable[..., dict[str, Any]], stack: EscalationStack
) -> Callable[..., dict[str, Any]]:
    """A ticket of alice (acme) escalated by an agent; waits until the workflow waits in submitted."""

    def make(**ticket_overrides: Any) -> dict[str, Any]:
        ticket = make_ticket(requester_id="alice", **ticket_overrides)
        response = world["agent_all"].post(f"/v1/tickets/{ticket['id']}/escalations", {"description": "Sync loses rows"})
        assert response.status_code == 201, response.body
        stack.waiting_token(response.data["id"], "submitted")
        return {"ticket": ticket, **response.data}

    return make


def move(user: ApiUser, stack: EscalationStack, escalation_id: str, to: str, **body: Any) -> Any:
    response = user.post(f"/v1/escalations/{escalation_id}/transitions", {"to": to, **body})
    assert response.status_code == 202, response.body
    if to != "resolved":
        stack.waiting_token(escalation_id, to)
    else:
        stack.finished(escalation_id)
    return response


def test_an_agent_escalates_a_ticket_into_submitted(world, escalated, stack: EscalationStack) -> None:
    escalation = escalated()

    assert escalation["id"].startswith("CP-") and escalation["stage"] == "submitted"
    assert [s["stage"] for s in escalation["stages"]] == ["submitted"]
    assert escalation["ticket_id"] == escalation["ticket"]["id"]
    fetched = world["agent_all"].get(f"/v1/escalations/{escalation['id']}")
    assert fetched.status_code == 200 and fetched.data["stage"] == "submitted"
    ticket = world["alice"].get(f"/v1/tickets/{escalation['ticket']['id']}").data
    assert ticket["escalation"] == {"id": escalation["id"], "stage": "submitted", "estimated_resolution_date": None}
    assert escalated()["id"] == f"CP-{int(escalation['id'].removeprefix('CP-')) + 1}"  # sequential, human-friendly


def test_a_ticket_has_one_open_escalation_at_a_time(world, escalated, stack: EscalationStack) -> None:
    escalation = escalated()
    ticket_id = escalation["ticket"]["id"]
    agent = world["agent_all"]

    again = agent.post(f"/v1/tickets/{ticket_id}/escalations", {"description": "again"})
    assert again.status_code == 409 and escalation["id"] in again.data["detail"]
    for stage in FORWARD:
        move(agent, stack, escalation["id"], stage)
    assert agent.post(f"/v1/tickets/{ticket_id}/escalations", {"description": "it came back"}).status_code == 201


def test_only_staff_escalate_open_tickets_they_see(world, make_ticket) -> None:
    ticket = make_ticket(requester_id="alice", team_id="support")
    path = f"/v1/tickets/{ticket['id']}/escalations"
    assert world["alice"].post(path, {"description": "please"}).status_code == 403
    assert world["agent_eng"].post(path, {"description": "x"}).status_code == 404
    assert world["agent_all"].post(path, {"description": ""}).status_code == 422
    assert world["agent_all"].post("/v1/tickets/nope/escalations", {"description": "x"}).status_code == 404
    closed = make_ticket(requester_id="alice", status="closed")
    assert world["agent_all"].post(f"/v1/tickets/{closed['id']}/escalations", {"description": "x"}).status_code == 409


def test_transitions_move_through_every_stage_in_order(world, escalated, stack: EscalationStack) -> None:
    escalation = escalated()
    escalation_id, ticket_id = escalation["id"], escalation["ticket"]["id"]
    agent = world["agent_all"]

    for stage in FORWARD:
        accepted = move(agent, stack, escalation_id, stage, note=f"to {stage}")
        assert accepted.data["pending_stage"] == stage and accepted.headers["Location"] == f"/v1/escalations/{escalation_id}"
        current = agent.get(f"/v1/escalations/{escalation_id}").data
        assert (current["stage"], current["pending_stage"]) == (stage, None)
        assert world["alice"].get(f"/v1/tickets/{ticket_id}").data["escalation"]["stage"] == stage

    final = agent.get(f"/v1/escalations/{escalation_id}").data
    assert [s["stage"] for s in final["stages"]] == ["submitted", *FORWARD]
    assert [s["note"] for s in final["stages"]] == [None, *(f"to {stage}" for stage in FORWARD)]
    assert len(stack.entered_states(escalation_id)) <= 15


def test_timeline_entries_and_events_record_every_stage(world, escalated, stack: EscalationStack) -> None:
    escalation = escalated()
    escalation_id, ticket_id = escalation["id"], escalation["ticket"]["id"]
    for stage in FORWARD:
        move(world["agent_all"], stack, escalation_id, stage, note="internal reasoning")

    system = [a for a in stack.activities(ticket_id) if a["type"] == "system" and "escalation_id" in (a.get("fields") or "")]
    assert sorted(json.loads(a["fields"])["stage"] for a in system) == sorted(["submitted", *FORWARD])
    assert all(a["visibility"] == "public" for a in system)
    events = wait_for(lambda: len(stack.events("escalation.stage_changed")) == 5 and stack.events("escalation.stage_changed"))
    assert [e["detail"]["changes"][0]["new"] for e in events] == ["submitted", *FORWARD]
    assert all(e["detail"]["ticket_id"] == ticket_id and e["detail"]["actor_id"] == "agent-all" for e in events)


def test_skipping_a_stage_or_going_back_is_409_and_unknown_stages_422(world, escalated, stack: EscalationStack) -> None:
    escalation = escalated()
    path = f"/v1/escalations/{escalation['id']}/transitions"
    agent = world["agent_all"]

    for to in ("engineering", "verification", "resolved", "submitted"):
        assert agent.post(path, {"to": to}).status_code == 409, to
    move(agent, stack, escalation["id"], "review")
    for to in ("submitted", "verification", "resolved", "review"):
        assert agent.post(path, {"to": to}).status_code == 409, to
    unknown = agent.post(path, {"to": "closed"})
    assert unknown.status_code == 422 and unknown.data["errors"][0]["field"] == "to"
    assert [s["stage"] for s in agent.get(f"/v1/escalations/{escalation['id']}").data["stages"]] == ["submitted", "review"]


def test_a_second_signal_for_the_same_stage_is_409_never_a_double_transition(world, escalated, stack: EscalationStack) -> None:
    escalation = escalated()
    agent = world["agent_all"]
    path = f"/v1/escalations/{escalation['id']}/transitions"

    assert agent.post(path, {"to": "review"}).status_code == 202
    assert agent.post(path, {"to": "review"}).status_code == 409  # in flight: the token is claimed
    stack.waiting_token(escalation["id"], "review")
    assert agent.post(path, {"to": "review"}).status_code == 409  # stale: the escalation left submitted
    stages = agent.get(f"/v1/escalations/{escalation['id']}").data["stages"]
    assert [s["stage"] for s in stages] == ["submitted", "review"]


class HeldStage:
    """Holds the workflow's transaction that enters `stage` until `release()`: the escalation is
    then between two waits (its signal claimed, the next token not stored), deterministically."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, escalation_id: str, stage: str) -> None:
        from botocore.client import BaseClient

        self.held = threading.Event()
        self._go = threading.Event()
        make_api_call = BaseClient._make_api_call

        def api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            first = (params.get("TransactItems") or [{}])[0].get("Update") or {}
            if (
                operation == "TransactWriteItems"
                and first.get("Key", {}).get("PK", {}).get("S") == f"ESC#{escalation_id}"
                and first.get("ExpressionAttributeValues", {}).get(":stage") == {"S": stage}
                and not self.held.is_set()
            ):
                self.held.set()
                assert self._go.wait(timeout=30), "the test never released the held stage"
            return make_api_call(client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", api_call)

    def release(self) -> None:
        self._go.set()


def test_a_transition_sent_while_the_workflow_moves_is_accepted_and_applied_at_its_wait(
    world, escalated, stack: EscalationStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    escalation = escalated()
    agent = world["agent_all"]
    path = f"/v1/escalations/{escalation['id']}/transitions"
    hold = HeldStage(monkeypatch, escalation["id"], "review")
    assert agent.post(path, {"to": "review"}).status_code == 202
    assert hold.held.wait(timeout=30)  # the workflow is entering review

    queued = agent.post(path, {"to": "engineering", "note": "Reproduced on 4.2"})
    assert queued.status_code == 202, queued.body
    assert (queued.data["stage"], queued.data["pending_stage"]) == ("submitted", "engineering")
    assert agent.post(path, {"to": "verification"}).status_code == 409  # one queued transition at a time
    assert agent.post(path, {"to": "review"}).status_code == 409  # not valid from review (being entered)
    assert agent.get(f"/v1/escalations/{escalation['id']}").data["pending_stage"] == "engineering"

    hold.release()
    stack.waiting_token(escalation["id"], "engineering")
    current = agent.get(f"/v1/escalations/{escalation['id']}").data
    assert (current["stage"], current["pending_stage"]) == ("engineering", None)
    assert [(s["stage"], s["note"]) for s in current["stages"]] == [
        ("submitted", None),
        ("review", None),
        ("engineering", "Reproduced on 4.2"),
    ]
    assert "queued_signal" not in (stack.escalation(escalation["id"]) or {})
    move(agent, stack, escalation["id"], "verification")  # and it goes on as usual


def test_an_invalid_transition_while_the_workflow_moves_stays_409(
    world, escalated, stack: EscalationStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    escalation = escalated()
    agent = world["agent_all"]
    path = f"/v1/escalations/{escalation['id']}/transitions"
    hold = HeldStage(monkeypatch, escalation["id"], "review")
    assert agent.post(path, {"to": "review"}).status_code == 202
    assert hold.held.wait(timeout=30)
    for to in ("submitted", "review", "verification", "resolved"):
        assert agent.post(path, {"to": to}).status_code == 409, to
    hold.release()
    stack.waiting_token(escalation["id"], "review")
    assert agent.get(f"/v1/escalations/{escalation['id']}").data["pending_stage"] is None


def test_concurrent_signals_for_one_stage_have_exactly_one_winner(world, escalated, stack: EscalationStack) -> None:
    escalation = escalated()
    service = composition.escalation_service()
    agents = [Caller(f"agent-{n}", "agent", access="all") for n in range(8)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(agents))

    def signal(caller: Caller) -> None:
        barrier.wait()
        try:
            service.transition(caller, escalation["id"], "review", "", None, composition.clock())
            outcomes.append("won")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=signal, args=(caller,)) for caller in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["conflict"] * 7 + ["won"]
    stack.waiting_token(escalation["id"], "review")
    assert [s["stage"] for s in stack.escalation(escalation["id"])["stages"]] == ["submitted", "review"]


def _to_verification(world: dict[str, Any], stack: EscalationStack, escalation_id: str) -> None:
    for stage in ("review", "engineering", "verification"):
        move(world["agent_all"], stack, escalation_id, stage)


def test_customer_confirms_the_fix_and_the_escalation_resolves(world, escalated, stack: EscalationStack) -> None:
    escalation = escalated()
    _to_verification(world, stack, escalation["id"])

    response = world["alice"].post(f"/v1/escalations/{escalation['id']}/verification", {"confirmed": True, "comment": "works"})
    assert response.status_code == 202 and response.data["pending_stage"] == "resolved"
    stack.finished(escalation["id"])
    assert world["alice"].get(f"/v1/escalations/{escalation['id']}").data["stage"] == "resolved"
    assert world["alice"].get(f"/v1/tickets/{escalation['ticket']['id']}").data["escalation"]["stage"] == "resolved"


def test_customer_rejects_the_fix_and_it_goes_back_to_engineering(world, escalated, stack: EscalationStack) -> None:
    escalation = escalated()
    _to_verification(world, stack, escalation["id"])

    response = world["acme_admin"].post(f"/v1/escalations/{escalation['id']}/verification", {"confirmed": False})
    assert response.status_code == 202
    stack.waiting_token(escalation["id"], "engineering")
    stages = world["agent_all"].get(f"/v1/escalations/{escalation['id']}").data["stages"]
    assert [s["stage"] for s in stages][-2:] == ["verification", "engineering"]
    assert stages[-1]["actor_id"] == "acme-admin"


def test_verification_is_for_the_requester_or_org_admin_while_in_verification(world, escalated, stack: EscalationStack) -> None:
    escalation = escalated(cc=["bob"])
    path = f"/v1/escalations/{escalation['id']}/verification"

    assert world["alice"].post(path, {"confirmed": True}).status_code == 409  # still submitted
    _to_verification(world, stack, escalation["id"])
    assert world["bob"].post(path, {"confirmed": True}).status_code == 403  # CC'd: sees, does not verify
    assert world["gina"].post(path, {"confirmed": True}).status_code == 404
    assert world["agent_all"].post(path, {"confirmed": True}).status_code == 403
    assert world["alice"].post(path, {}).status_code == 422


def test_customer_never_sees_internal_notes(world, escalated, stack: EscalationStack) -> None:
    escalation = escalated()
    secret = "root cause: our own deploy script"
    move(world["agent_all"], stack, escalation["id"], "review", note=secret)

    for customer in ("alice", "acme_admin"):
        response = world[customer].get(f"/v1/escalations/{escalation['id']}")
        assert response.status_code == 200
        assert secret not in response.body.decode()
        assert all(set(s) == {"stage", "entered_at"} for s in response.data["stages"])
        assert "overruns" not in response.data and "failure" not in response.data
    public = stack.public_timeline(escalation["ticket"]["id"])
    assert public and secret not in json.dumps(public)
    assert world["agent_all"].get(f"/v1/escalations/{escalation['id']}").data["stages"][-1]["note"] == secret


def test_estimated_resolution_date_is_shown_to_customers_as_not_guaranteed(world, escalated, stack: EscalationStack) -> None:
    escalation = escalated()
    assert escalation["estimated_resolution_date"] is None and escalation["estimated_resolution_note"] is None
    move(world["agent_all"], stack, escalation["id"], "review", estimated_resolution_date="2026-05-15")

    seen = world["alice"].get(f"/v1/escalations/{escalation['id']}").data
    assert seen["estimated_resolution_date"] == "2026-05-15"
    assert seen["estimated_resolution_note"] == ESTIMATE_NOTE and "not a guarantee" in ESTIMATE_NOTE
    ticket = world["alice"].get(f"/v1/tickets/{escalation['ticket']['id']}").data
    assert ticket["escalation"]["estimated_resolution_date"] == "2026-05-15"
    move(world["agent_all"], stack, escalation["id"], "engineering")  # omitted: kept
    assert world["alice"].get(f"/v1/escalations/{escalation['id']}").data["estimated_resolution_date"] == "2026-05-15"
    move(world["agent_all"], stack, escalation["id"], "verification", estimated_resolution_date=None)  # null: cleared
    assert world["alice"].get(f"/v1/escalations/{escalation['id']}").data["estimated_resolution_date"] is None


def test_escalations_of_tickets_the_caller_cannot_see_are_404(world, escalated) -> None:
    escalation = escalated(team_id="support")
    path = f"/v1/escalations/{escalation['id']}"
    assert world["gina"].get(path).status_code == 404
    assert world["agent_eng"].get(path).status_code == 404
    assert world["agent_eng"].post(f"{path}/transitions", {"to": "review"}).status_code == 404
    assert world["bob"].get(path).status_code == 404  # same org, not CC'd, not org admin
    assert world["acme_admin"].get(path).status_code == 200
    assert world["agent_all"].get("/v1/escalations/CP-999999").status_code == 404
    assert world["agent_all"].get("/v1/escalations/not-an-id").status_code == 404


def test_overrunning_a_stage_is_visible_to_agents_and_notified(
    world, make_ticket, stack: EscalationStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPDESK_ESCALATION_STAGE_TARGETS", json.dumps({"submitted": 1}))
    composition.reset()
    ticket = make_ticket(requester_id="alice")
    created = world["agent_all"].post(f"/v1/tickets/{ticket['id']}/escalations", {"description": "slow"}).data
    stack.start_escalation_runs()

    seen = wait_for(lambda: (e := world["agent_all"].get(f"/v1/escalations/{created['id']}").data)["overruns"] and e)
    assert [(o["stage"], o["target_seconds"]) for o in seen["overruns"]] == [("submitted", 1)]
    assert seen["stage"] == "submitted"
    assert wait_for(lambda: stack.events("escalation.stage_overdue"))[0]["detail"]["escalation_id"] == created["id"]
    assert "overruns" not in world["alice"].get(f"/v1/escalations/{created['id']}").data
    stack.waiting_token(created["id"], "submitted")
    move(world["agent_all"], stack, created["id"], "review")  # still movable after the timer


def test_an_escalation_gets_its_workflow_from_the_stream_even_if_the_first_start_fails(
    world, make_ticket, stack: EscalationStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Creating writes the escalation only; the ticket stream starts its execution (named after
    it), and a start that failed is retried with the record until it succeeds."""
    ticket = make_ticket(requester_id="alice")
    monkeypatch.setenv("HELPDESK_ESCALATION_STATE_MACHINE", stack.state_machine_arn + "-missing")
    composition.reset()
    created = world["agent_all"].post(f"/v1/tickets/{ticket['id']}/escalations", {"description": "x"})
    assert created.status_code == 201, created.body
    assert world["agent_all"].get(f"/v1/tickets/{ticket['id']}").data["escalation"]["id"] == created.data["id"]

    records = [r for r in stack.stream_records() if r["dynamodb"]["Keys"]["PK"]["S"] == f"ESC#{created.data['id']}"]
    failed = stack.deliver("ticket_stream", records)
    assert failed["batchItemFailures"], "a start that failed must be retried"
    monkeypatch.setenv("HELPDESK_ESCALATION_STATE_MACHINE", stack.state_machine_arn)
    composition.reset()
    assert stack.deliver("ticket_stream", records) == {"batchItemFailures": []}
    assert stack.deliver("ticket_stream", records) == {"batchItemFailures": []}  # redelivered: started once
    stack.waiting_token(created.data["id"], "submitted")
    assert stack.describe(created.data["id"])["status"] == "RUNNING"
    move(world["agent_all"], stack, created.data["id"], "review")


def test_escalation_responses_conform_to_the_documented_schema(world, escalated, stack: EscalationStack) -> None:
    from jsonschema import Draft202012Validator

    spec = json.loads(world["admin"].client.http.get("/openapi.json").body)
    schemas = spec["components"]["schemas"]
    schema = json.loads(json.dumps({**schemas["EscalationOut"], "$defs": schemas}).replace("#/components/schemas/", "#/$defs/"))
    escalation = escalated()
    move(world["agent_all"], stack, escalation["id"], "review", note="n", estimated_resolution_date="2026-05-01")
    for user in ("agent_all", "alice"):
        Draft202012Validator(schema).validate(world[user].get(f"/v1/escalations/{escalation['id']}").data)
