"""Routing (issue 11): rules as a resource, availability, and new tickets routed by the ticket
stream (chalicelib/handlers/ticket_changes.py) with history, auto-follow and replay safety."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest

from tests.conftest import TABLE


class Stream:
    """The table's stream on in-process moto, handed to the deployed ticket_stream entry point."""

    def __init__(self) -> None:
        self.read = 0

    def records(self) -> list[dict[str, Any]]:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        shard = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(TABLE).stream_shard
        records = [copy.deepcopy(r.record) for r in shard.items[self.read :]]
        self.read = len(shard.items)
        for record in records:
            record["dynamodb"]["ApproximateCreationDateTime"] = 0
            record["eventSourceARN"] = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/s"
        return records

    @staticmethod
    def deliver(records: list[dict[str, Any]]) -> Any:
        from app import app

        return app.handler_map["ticket_stream"]({"Records": records}, None) if records else {"batchItemFailures": []}

    def follow(self) -> list[dict[str, Any]]:
        """Deliver what is new until the stream is quiet (routing writes produce records too)."""
        delivered = []
        for _ in range(5):
            records = self.records()
            if not records:
                break
            assert self.deliver(records) == {"batchItemFailures": []}
            delivered += records
        return delivered


@pytest.fixture
def stream(world: dict[str, Any]) -> Stream:
    stream = Stream()
    stream.follow()  # the world's own writes
    return stream


def rule(admin: Any, **body: Any) -> dict[str, Any]:
    response = admin.post("/v1/routing-rules", {"name": "Rule", **body})
    assert response.status_code == 201, response.body
    return response.data


def new_ticket(user: Any, **body: Any) -> dict[str, Any]:
    response = user.post("/v1/tickets", {"subject": "Cannot log in", "description": "Since this morning.", **body})
    assert response.status_code == 201, response.body
    return response.data


def history(agent: Any, ticket_id: str) -> list[dict[str, Any]]:
    return agent.get(f"/v1/tickets/{ticket_id}/history?limit=100").data["items"]


# -- the rules -----------------------------------------------------------------------------
def test_admins_manage_rules_that_list_in_the_order_they_apply(world):
    admin, agent = world["admin"], world["agent_support"]
    second = rule(admin, name="VIP", position=5, team_id="support", conditions={"tags": ["VIP"]})
    first = rule(admin, name="Printers", position=1, team_id="engineering", conditions={"subject_contains": ["Printer"]})
    appended = rule(admin, name="Everything else", team_id="support", assignment="round_robin")

    listed = agent.get("/v1/routing-rules").data["items"]
    assert [r["id"] for r in listed] == [first["id"], second["id"], appended["id"]]
    assert appended["position"] == 6 and second["conditions"] == {"tags": ["vip"]}
    assert first["conditions"] == {"subject_contains": ["printer"]}

    moved = admin.patch(f"/v1/routing-rules/{appended['id']}", {"position": 0})
    assert moved.status_code == 200 and moved.data["assignment"] == "round_robin"
    assert agent.get("/v1/routing-rules").data["items"][0]["id"] == appended["id"]
    assert agent.get(f"/v1/routing-rules/{first['id']}").data["name"] == "Printers"
    assert admin.delete(f"/v1/routing-rules/{first['id']}").status_code == 204
    assert admin.get(f"/v1/routing-rules/{first['id']}").status_code == 404


def test_only_admins_write_rules_and_customers_cannot_read_them(world):
    body = {"name": "R", "team_id": "support"}
    assert world["agent_all"].post("/v1/routing-rules", body).status_code == 403
    assert world["alice"].get("/v1/routing-rules").status_code == 403
    created = rule(world["admin"], team_id="support")
    assert world["agent_all"].patch(f"/v1/routing-rules/{created['id']}", {"position": 3}).status_code == 403
    assert world["agent_all"].delete(f"/v1/routing-rules/{created['id']}").status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"team_id": "nope"}, "team_id"),
        ({"team_id": "support", "assignment": "random"}, "assignment"),
        ({"team_id": "support", "conditions": {"colors": ["red"]}}, "conditions.colors"),
        ({"team_id": "support", "conditions": {"channels": ["fax"]}}, "conditions.channels[0]"),
        ({"team_id": "support", "conditions": {"subject_contains": ["two words"]}}, "conditions.subject_contains"),
        ({"team_id": "support", "conditions": {"subject_contains": ["x" * 41]}}, "conditions.subject_contains[0]"),
        ({"team_id": "support", "conditions": {"tags": ["t"] * 51}}, "conditions.tags"),
        ({"team_id": "support", "conditions": {"requester_domains": ["-bad-"]}}, "conditions.requester_domains"),
        ({"team_id": "support", "position": -1}, "position"),
    ],
)
def test_a_bad_rule_is_a_422_problem_naming_the_field(world, body, field):
    response = world["admin"].post("/v1/routing-rules", {"name": "R", **body})
    assert response.status_code == 422, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    assert field in [e["field"] for e in response.data["errors"]]


# -- availability --------------------------------------------------------------------------
def test_agents_set_their_availability_admins_too_and_customers_have_none(world):
    agent, admin = world["agent_support"], world["admin"]
    assert agent.get("/v1/me").data["availability"] == "available"  # never set: available
    assert agent.patch("/v1/me", {"availability": "away"}).data["availability"] == "away"
    assert admin.get("/v1/users/agent-support").data["availability"] == "away"
    assert admin.patch("/v1/users/agent-support", {"availability": "offline"}).data["availability"] == "offline"
    assert agent.get("/v1/me").data["availability"] == "offline"

    assert world["alice"].patch("/v1/me", {"availability": "available"}).status_code == 422
    assert admin.patch("/v1/users/alice", {"availability": "away"}).status_code == 422
    assert world["alice"].get("/v1/me").data.get("availability") is None
    assert agent.patch("/v1/me", {"availability": "asleep"}).status_code == 422


# -- routing new tickets in the stream -----------------------------------------------------
def test_a_new_ticket_gets_the_first_matching_rules_team_once_the_stream_runs(world, stream):
    admin, agent = world["admin"], world["agent_all"]
    printers = rule(admin, position=0, team_id="engineering", conditions={"subject_contains": ["printer"]})
    rule(admin, position=1, team_id="support")
    ticket = new_ticket(world["alice"], subject="The PRINTER's on fire")
    assert agent.get(f"/v1/tickets/{ticket['id']}").data["team_id"] is None  # the stream routes, not the create

    stream.follow()
    routed = agent.get(f"/v1/tickets/{ticket['id']}").data
    assert (routed["team_id"], routed["assignee_id"]) == ("engineering", None)
    entry = next(h for h in history(agent, ticket["id"]) if h["property"] == "team_id")
    assert (entry["old"], entry["new"], entry["actor_id"]) == (None, "engineering", f"routing:{printers['id']}")
    new_ticket(world["alice"], subject="Printers")
    stream.follow()
    # "printers" is another word: the second rule takes it.
    assert agent.get("/v1/tickets?team_id=support").data["items"][0]["subject"] == "Printers"


def test_round_robin_takes_available_agents_in_turn_and_the_assignee_follows_with_history(world, stream):
    admin, agent = world["admin"], world["agent_all"]
    created = rule(admin, team_id="support", assignment="round_robin")
    tickets = [new_ticket(world["alice"], subject=f"Ticket {i}") for i in range(3)]
    stream.follow()

    routed = [agent.get(f"/v1/tickets/{t['id']}").data for t in tickets]
    assert [t["assignee_id"] for t in routed] == ["agent-all", "agent-support", "agent-all"]
    assert all(t["followers"] == [t["assignee_id"]] for t in routed)
    entries = history(agent, tickets[1]["id"])
    follow = next(h for h in entries if h["property"] == "followers")
    assert (follow["old"], follow["new"], follow["actor_id"]) == ([], ["agent-support"], f"routing:{created['id']}")
    assert [h["actor_id"] for h in entries if h["property"] == "assignee_id"] == [f"routing:{created['id']}"]


def test_an_agent_who_is_away_is_never_assigned_and_keeps_their_tickets(world, stream):
    admin, agent, away = world["admin"], world["agent_all"], world["agent_support"]
    rule(admin, team_id="support", assignment="round_robin")
    theirs = new_ticket(agent, assignee_id="agent-support", team_id="support")
    assert away.patch("/v1/me", {"availability": "away"}).status_code == 200
    tickets = [new_ticket(world["alice"], subject=f"Ticket {i}") for i in range(3)]
    stream.follow()

    assert [agent.get(f"/v1/tickets/{t['id']}").data["assignee_id"] for t in tickets] == ["agent-all"] * 3
    assert agent.get(f"/v1/tickets/{theirs['id']}").data["assignee_id"] == "agent-support"


def test_nobody_available_leaves_the_ticket_in_the_teams_queue(world, stream):
    admin, agent = world["admin"], world["agent_all"]
    rule(admin, team_id="engineering", assignment="least_open")
    assert world["agent_eng"].patch("/v1/me", {"availability": "offline"}).status_code == 200
    ticket = new_ticket(world["alice"])
    stream.follow()
    routed = agent.get(f"/v1/tickets/{ticket['id']}").data
    assert (routed["team_id"], routed["assignee_id"]) == ("engineering", None)


def test_a_ticket_whose_creator_chose_a_team_is_not_routed(world, stream):
    admin, agent = world["admin"], world["agent_all"]
    rule(admin, team_id="support", assignment="round_robin")
    ticket = new_ticket(agent, team_id="engineering")
    stream.follow()
    routed = agent.get(f"/v1/tickets/{ticket['id']}").data
    assert (routed["team_id"], routed["assignee_id"]) == ("engineering", None)


def test_a_replayed_stream_batch_routes_once_and_takes_one_turn(world, stream):
    admin, agent = world["admin"], world["agent_all"]
    rule(admin, team_id="support", assignment="round_robin")
    first = new_ticket(world["alice"], subject="First")
    batch = stream.records()
    for _ in range(3):  # delivered, then redelivered twice
        assert stream.deliver(batch) == {"batchItemFailures": []}
    stream.follow()
    second = new_ticket(world["alice"], subject="Second")
    stream.follow()

    assert agent.get(f"/v1/tickets/{first['id']}").data["assignee_id"] == "agent-all"
    assert agent.get(f"/v1/tickets/{second['id']}").data["assignee_id"] == "agent-support"
    assert [h["property"] for h in history(agent, first["id"])].count("assignee_id") == 1


def test_least_open_picks_the_available_agent_with_fewest_open_tickets(world, stream):
    admin, agent = world["admin"], world["agent_all"]
    for _ in range(2):
        new_ticket(agent, assignee_id="agent-all", team_id="support")
    stream.follow()
    rule(admin, team_id="support", assignment="least_open")
    tickets = [new_ticket(world["alice"], subject=f"Ticket {i}") for i in range(3)]
    stream.follow()  # one batch: each assignment counts for the next choice before its record is seen
    assignees = [agent.get(f"/v1/tickets/{t['id']}").data["assignee_id"] for t in tickets]
    # agent-support has 0 then 1, agent-all 2: support, support (1 < 2), then a tie at 2 by id.
    assert assignees == ["agent-support", "agent-support", "agent-all"]


# -- routing on demand ---------------------------------------------------------------------
def test_post_route_applies_the_rules_now(world, stream):
    admin, agent = world["admin"], world["agent_all"]
    ticket = new_ticket(agent, team_id="engineering")
    created = rule(admin, team_id="support", assignment="round_robin", conditions={"channels": ["api"]})

    response = agent.post(f"/v1/tickets/{ticket['id']}/route")
    assert response.status_code == 200, response.body
    assert (response.data["team_id"], response.data["assignee_id"]) == ("support", "agent-all")
    assert response.headers["Helpdesk-Routing-Rule"] == created["id"]
    assert "agent-all" in response.data["followers"]
    assert world["alice"].post(f"/v1/tickets/{ticket['id']}/route").status_code == 403
    assert world["agent_eng"].post(f"/v1/tickets/{new_ticket(agent, team_id='support')['id']}/route").status_code == 404


def test_post_route_without_a_matching_rule_changes_nothing(world):
    agent = world["agent_all"]
    ticket = new_ticket(agent)
    rule(world["admin"], team_id="support", conditions={"priorities": ["urgent"]})
    response = agent.post(f"/v1/tickets/{ticket['id']}/route")
    assert response.status_code == 200
    assert (response.data["team_id"], response.data["version"]) == (None, ticket["version"])
    assert "Helpdesk-Routing-Rule" not in response.headers


def test_counters_hold_each_agents_open_tickets(world, stream):
    agent = world["agent_all"]
    for _ in range(2):
        new_ticket(agent, assignee_id="agent-support", team_id="support")
    pending = new_ticket(agent, assignee_id="agent-support", team_id="support")
    assert agent.patch(f"/v1/tickets/{pending['id']}", {"status": "pending"}).status_code == 200
    gone = new_ticket(agent, assignee_id="agent-support", team_id="support")
    assert agent.delete(f"/v1/tickets/{gone['id']}").status_code == 204
    stream.follow()
    stream.deliver(stream.records())

    items = boto3.client("dynamodb").batch_get_item(
        RequestItems={
            TABLE: {
                "Keys": [
                    {"PK": {"S": "COUNT#ASSIGNEE#agent-support"}, "SK": {"S": "open"}},
                    {"PK": {"S": "COUNT#ASSIGNEE#agent-support"}, "SK": {"S": "pending"}},
                ]
            }
        }
    )["Responses"][TABLE]
    assert {i["SK"]["S"]: int(i["count"]["N"]) for i in items} == {"open": 2, "pending": 1}
