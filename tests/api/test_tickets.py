"""Ticket records through the HTTP API: lifecycle, history, visibility, lists."""

from __future__ import annotations

import pytest


def test_create_applies_documented_defaults_and_location(world):
    response = world["alice"].post("/v1/tickets", {"subject": "VPN down", "description": "since 9am"})
    assert response.status_code == 201, response.body
    ticket = response.data
    assert response.headers["Location"] == f"/v1/tickets/{ticket['id']}"
    assert response.headers["ETag"] == '"1"'
    assert (ticket["status"], ticket["priority"], ticket["type"], ticket["channel"]) == ("open", "normal", "request", "api")
    assert ticket["status_category"] == "open"
    assert ticket["requester_id"] == "alice"
    assert ticket["organization_id"] == "acme"
    assert ticket["created_at"].endswith("Z")
    assert "sentiment" not in ticket and "tags" not in ticket  # agent-only fields


def test_ticket_numbers_are_unique_and_increasing(make_ticket):
    numbers = [make_ticket()["number"] for _ in range(5)]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 5


def test_customer_cannot_set_agent_only_fields_on_create(world):
    response = world["alice"].post(
        "/v1/tickets", {"subject": "x", "description": "y", "assignee_id": "agent-all", "priority": "urgent"}
    )
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/problem+json"
    assert {e["field"] for e in response.data["errors"]} == {"assignee_id", "priority"}


def test_customer_cannot_patch_tickets(world, make_ticket):
    ticket = make_ticket(as_user="alice")
    assert world["alice"].patch(f"/v1/tickets/{ticket['id']}", {"subject": "mine"}).status_code == 403


def test_agent_files_a_ticket_for_a_customer_and_it_takes_their_organization(world, make_ticket):
    ticket = make_ticket(requester_id="gina")
    assert ticket["organization_id"] == "globex"
    assert world["gina"].get(f"/v1/tickets/{ticket['id']}").status_code == 200


def test_unknown_references_are_validation_errors(world):
    agent = world["agent_all"]
    response = agent.post("/v1/tickets", {"subject": "x", "description": "y", "team_id": "nope", "assignee_id": "alice"})
    assert response.status_code == 422
    assert {e["field"] for e in response.data["errors"]} == {"team_id", "assignee_id"}
    response = agent.post("/v1/tickets", {"subject": "x", "description": "y", "requester_id": "ghost"})
    assert response.status_code == 422
    assert response.data["errors"] == [{"field": "requester_id", "message": "no such user"}]


def test_patch_records_every_changed_property_in_history(world, make_ticket):
    agent = world["agent_all"]
    ticket = make_ticket(requester_id="alice")
    response = agent.patch(
        f"/v1/tickets/{ticket['id']}",
        {"priority": "high", "team_id": "support", "assignee_id": "agent-support", "tags": ["VIP", "vip", " billing "]},
    )
    assert response.status_code == 200, response.body
    updated = response.data
    assert updated["version"] == 2 and response.headers["ETag"] == '"2"'
    assert updated["tags"] == ["vip", "billing"]
    assert "agent-support" in updated["followers"]

    history = agent.get(f"/v1/tickets/{ticket['id']}/history").data["items"]
    latest = {entry["property"]: entry for entry in history if entry["at"] == history[0]["at"]}
    assert latest["priority"]["old"] == "normal" and latest["priority"]["new"] == "high"
    assert latest["team_id"] == {**latest["team_id"], "old": None, "new": "support", "actor_id": "agent-all"}
    # The new assignee's auto-follow is in history like any follow.
    assert set(latest) == {"priority", "team_id", "assignee_id", "tags", "followers"}
    assert (latest["followers"]["old"], latest["followers"]["new"]) == ([], ["agent-support"])

    only_priority = agent.get(f"/v1/tickets/{ticket['id']}/history?property=priority").data["items"]
    assert [(e["old"], e["new"]) for e in only_priority] == [("normal", "high"), (None, "normal")]


def test_patch_without_changes_keeps_the_version(world, make_ticket):
    ticket = make_ticket()
    response = world["agent_all"].patch(f"/v1/tickets/{ticket['id']}", {"subject": ticket["subject"]})
    assert response.status_code == 200
    assert response.data["version"] == 1


def test_stale_if_match_is_rejected_and_changes_nothing(world, make_ticket):
    agent = world["agent_all"]
    ticket = make_ticket()
    path = f"/v1/tickets/{ticket['id']}"
    assert agent.patch(path, {"priority": "high"}, headers={"If-Match": '"1"'}).status_code == 200
    stale = agent.patch(path, {"priority": "low"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.data["type"].endswith("precondition-failed")
    assert agent.get(path).data["priority"] == "high"


def test_malformed_if_match_is_a_bad_request_and_changes_nothing(world, make_ticket):
    agent = world["agent_all"]
    ticket = make_ticket()
    path = f"/v1/tickets/{ticket['id']}"
    for value in ("garbage", '"v1"', ""):
        answer = agent.patch(path, {"priority": "low"}, headers={"If-Match": value})
        assert answer.status_code == 400, value
        assert "If-Match" in answer.data["detail"]
    assert agent.get(path).data["priority"] == ticket["priority"]


def test_status_moves_follow_the_table(world, make_ticket):
    agent = world["agent_all"]
    ticket = make_ticket()
    path = f"/v1/tickets/{ticket['id']}"
    closed = agent.patch(path, {"status": "closed"})
    assert closed.status_code == 200 and closed.data["closed_at"] is not None
    reopened = agent.patch(path, {"status": "open"})
    assert reopened.status_code == 409
    assert agent.patch(path, {"subject": "edit after close"}).status_code == 409


def test_custom_status_behaves_as_its_category(world, make_ticket):
    admin, agent = world["admin"], world["agent_all"]
    created = admin.post("/v1/statuses", {"name": "waiting_on_vendor", "category": "pending"})
    assert created.status_code == 201, created.body
    ticket = make_ticket()
    moved = agent.patch(f"/v1/tickets/{ticket['id']}", {"status": "waiting_on_vendor"})
    assert moved.status_code == 200, moved.body
    assert (moved.data["status"], moved.data["status_category"]) == ("waiting_on_vendor", "pending")
    # A status in use can neither change category nor disappear.
    assert admin.patch("/v1/statuses/waiting_on_vendor", {"category": "open"}).status_code == 409
    assert admin.delete("/v1/statuses/waiting_on_vendor").status_code == 409
    assert agent.patch(f"/v1/tickets/{ticket['id']}", {"status": "no_such_status"}).status_code == 422
    statuses = [s["name"] for s in agent.get("/v1/statuses").data["items"]]
    assert statuses[:4] == ["open", "pending", "resolved", "closed"] and "waiting_on_vendor" in statuses


def test_builtin_statuses_cannot_be_changed(world):
    assert world["admin"].patch("/v1/statuses/open", {"category": "closed"}).status_code == 409
    assert world["admin"].post("/v1/statuses", {"name": "open", "category": "open"}).status_code == 422


def test_soft_delete_hides_the_ticket_and_restore_brings_it_back(world, make_ticket):
    agent = world["agent_all"]
    ticket = make_ticket(requester_id="alice")
    path = f"/v1/tickets/{ticket['id']}"
    assert agent.delete(path).status_code == 204
    assert agent.get(path).status_code == 404
    assert world["alice"].get(path).status_code == 404
    assert ticket["id"] not in {t["id"] for t in agent.get("/v1/tickets").data["items"]}
    assert ticket["id"] not in {t["id"] for t in world["alice"].get("/v1/me/tickets").data["items"]}

    restored = agent.post(f"{path}/restore")
    assert restored.status_code == 200, restored.body
    assert agent.get(path).status_code == 200
    assert ticket["id"] in {t["id"] for t in agent.get("/v1/tickets").data["items"]}
    properties = [e["property"] for e in agent.get(f"{path}/history").data["items"][:2]]
    assert properties == ["deleted_at", "deleted_at"]


def test_restore_after_ninety_days_is_refused(world, make_ticket, monkeypatch):
    from datetime import timedelta

    from chalicelib import composition

    agent = world["agent_all"]
    ticket = make_ticket()
    path = f"/v1/tickets/{ticket['id']}"
    assert agent.delete(path).status_code == 204
    real_clock = composition.clock
    monkeypatch.setattr(composition, "clock", lambda: real_clock() + timedelta(days=90, minutes=1))
    assert agent.post(f"{path}/restore").status_code == 404


def test_deleted_ticket_is_purged_by_ttl_ninety_days_after_deletion(world, make_ticket):
    import boto3

    from tests.conftest import TABLE

    ticket = make_ticket()
    world["agent_all"].delete(f"/v1/tickets/{ticket['id']}")
    item = boto3.client("dynamodb").get_item(TableName=TABLE, Key={"PK": {"S": f"TICKET#{ticket['id']}"}, "SK": {"S": "TICKET"}})
    ttl = int(item["Item"]["ttl"]["N"])
    from datetime import datetime

    deleted_at = datetime.fromisoformat(item["Item"]["deleted_at"]["S"].replace("+0000", "+00:00"))
    assert ttl - int(deleted_at.timestamp()) == 90 * 86400


@pytest.mark.parametrize(
    ("viewer", "visible"),
    [
        ("alice", True),  # requester
        ("bob", False),  # same org, plain customer
        ("acme_admin", True),  # org admin
        ("gina", False),  # other org
        ("agent_all", True),
        ("agent_support", True),  # the ticket's team
        ("agent_eng", False),  # another team
        ("agent_assigned", False),  # not assigned to them
        ("admin", True),
    ],
)
def test_visibility_rules_hold_for_get_and_lists(world, make_ticket, viewer, visible):
    ticket = make_ticket(requester_id="alice", team_id="support")
    user = world[viewer]
    response = user.get(f"/v1/tickets/{ticket['id']}")
    assert response.status_code == (200 if visible else 404)
    listed = {t["id"] for t in user.get("/v1/tickets").data["items"]}
    assert (ticket["id"] in listed) is visible


def test_invisible_ticket_answers_404_for_every_ticket_route(world, make_ticket):
    ticket = make_ticket(requester_id="alice", team_id="support")
    eng = world["agent_eng"]
    path = f"/v1/tickets/{ticket['id']}"
    assert eng.get(path).status_code == 404
    assert eng.patch(path, {"priority": "low"}).status_code == 404
    assert eng.delete(path).status_code == 404
    assert eng.get(f"{path}/history").status_code == 404


def test_cc_makes_a_ticket_visible_to_the_ccd_customer(world, make_ticket):
    ticket = make_ticket(requester_id="alice", cc=["gina"])
    assert world["gina"].get(f"/v1/tickets/{ticket['id']}").status_code == 200
    assert ticket["id"] in {t["id"] for t in world["gina"].get("/v1/me/tickets").data["items"]}


def test_assigned_only_agent_sees_exactly_their_tickets(world, make_ticket):
    mine = make_ticket(assignee_id="agent-assigned")
    make_ticket()
    listed = [t["id"] for t in world["agent_assigned"].get("/v1/tickets").data["items"]]
    assert listed == [mine["id"]]


def test_team_agent_list_merges_team_unassigned_and_own_tickets(world, make_ticket):
    support = make_ticket(team_id="support")
    unassigned = make_ticket()
    eng_but_mine = make_ticket(team_id="engineering", assignee_id="agent-support")
    eng_only = make_ticket(team_id="engineering")
    listed = [t["id"] for t in world["agent_support"].get("/v1/tickets").data["items"]]
    assert listed == [eng_but_mine["id"], unassigned["id"], support["id"]]  # newest activity first
    assert eng_only["id"] not in listed


def test_my_tickets_scopes(world, make_ticket):
    alices = make_ticket(requester_id="alice")
    bobs = make_ticket(requester_id="bob")
    mine = {t["id"] for t in world["alice"].get("/v1/me/tickets").data["items"]}
    assert mine == {alices["id"]}
    org = {t["id"] for t in world["acme_admin"].get("/v1/me/tickets?scope=organization").data["items"]}
    assert org == {alices["id"], bobs["id"]}
    refused = world["alice"].get("/v1/me/tickets?scope=organization")
    assert refused.status_code == 403
    assert world["agent_all"].get("/v1/me/tickets").status_code == 403


def test_filters_and_sorts(world, make_ticket):
    agent = world["agent_all"]
    first = make_ticket(priority="high", tags=["billing"], team_id="support")
    second = make_ticket(priority="low", tags=["billing", "vip"])
    third = make_ticket(priority="high", type="incident")

    def ids(query):
        response = agent.get(f"/v1/tickets?{query}")
        assert response.status_code == 200, response.body
        return [t["id"] for t in response.data["items"]]

    assert ids("priority=high") == [third["id"], first["id"]]
    assert ids("tag=billing&sort=created_at") == [first["id"], second["id"]]
    assert ids("tag=vip") == [second["id"]]
    assert ids("team_id=support") == [first["id"]]
    assert ids("type=incident&priority=high") == [third["id"]]
    assert ids("requester_id=agent-all&sort=-created_at") == [third["id"], second["id"], first["id"]]
    assert ids("status=closed") == []
    assert "description" not in agent.get("/v1/tickets").data["items"][0]


def test_pagination_walks_every_ticket_once(world, make_ticket):
    created = [make_ticket()["id"] for _ in range(7)]
    agent = world["agent_support"]  # a union of partitions: the merged path
    seen, cursor = [], None
    for _ in range(10):
        response = agent.get("/v1/tickets?limit=3" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.body
        seen += [t["id"] for t in response.data["items"]]
        cursor = response.data["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(created))


def test_tampered_or_foreign_cursors_are_400(world, make_ticket):
    for _ in range(3):
        make_ticket()
    agent = world["agent_all"]
    cursor = agent.get("/v1/tickets?limit=1").data["next_cursor"]
    assert cursor
    payload, signature = cursor.split(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
    for bad in (forged, "garbage", cursor + "x", "a.b.c", "%00"):
        response = agent.get(f"/v1/tickets?limit=1&cursor={bad}")
        assert response.status_code == 400, (bad, response.body)
        assert response.headers["Content-Type"] == "application/problem+json"
    # A cursor is bound to its query and caller.
    assert agent.get(f"/v1/tickets?limit=1&priority=high&cursor={cursor}").status_code == 400
    assert world["admin"].get(f"/v1/tickets?limit=1&cursor={cursor}").status_code == 400


@pytest.mark.parametrize("customer", ["alice", "acme_admin"])
@pytest.mark.parametrize("query", ["tag=vip", "team_id=support", "team_id=support&tag=vip"])
def test_customers_cannot_filter_by_agent_only_properties(world, make_ticket, customer, query):
    """A filter on a hidden value would tell which of their tickets carry it (an oracle)."""
    make_ticket(requester_id="alice", team_id="support", tags=["vip"])

    response = world[customer].get(f"/v1/tickets?{query}")

    assert response.status_code == 422, response.body
    assert {e["field"] for e in response.data["errors"]} == {part.split("=")[0] for part in query.split("&")}


def test_agents_still_filter_by_tag_and_team(world, make_ticket):
    ticket = make_ticket(requester_id="alice", team_id="support", tags=["vip"])
    for query in ("tag=vip", "team_id=support"):
        response = world["agent_all"].get(f"/v1/tickets?{query}")
        assert response.status_code == 200 and [t["id"] for t in response.data["items"]] == [ticket["id"]]
