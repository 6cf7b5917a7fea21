"""GET /v1/tickets/{id}/timeline and /activities: order, filters, pages, logging, edits, deletes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from tests.api.test_bad_input import assert_problem
from tests.conftest import TABLE


def items(user, ticket_id, query=""):
    response = user.get(f"/v1/tickets/{ticket_id}/timeline{query}")
    assert response.status_code == 200, response.body
    return response.data["items"]


def log(user, ticket_id, **body):
    response = user.post(f"/v1/tickets/{ticket_id}/activities", body)
    assert response.status_code == 201, response.body
    return response.data


def note(user, ticket_id, text):
    return log(user, ticket_id, type="note", body=text)


def reply(user, ticket_id, text, **fields):
    response = user.post(f"/v1/tickets/{ticket_id}/comments", {"body": text, "visibility": "public", **fields})
    assert response.status_code == 201, response.body
    return response.data


CALL = {"type": "call", "duration_seconds": 300, "outcome": "connected", "body": "Walked through the VPN settings"}
MEETING = {"type": "meeting", "start_at": "2026-04-01T15:00:00Z", "link": "https://meet.example.com/abc", "body": "Kick-off"}
TASK = {"type": "task", "subject": "Replace the router", "due_at": "2026-04-02T09:00:00+02:00", "body": "Order model X"}
EMAIL = {"type": "email", "subject": "Your quote", "body": "Please find attached", "to": ["alice@acme.example"]}


@pytest.fixture
def ticket(make_ticket):
    return make_ticket(requester_id="alice")


def test_timeline_is_newest_first_with_pinned_entries_on_top(world, ticket):
    agent = world["agent_all"]
    first, second, third = (note(agent, ticket["id"], f"n{i}") for i in range(3))
    assert [a["id"] for a in items(agent, ticket["id"])] == [third["id"], second["id"], first["id"]]
    pinned = agent.patch(f"/v1/tickets/{ticket['id']}/activities/{first['id']}", {"pinned": True})
    assert pinned.status_code == 200 and pinned.data["pinned"] is True
    assert [a["id"] for a in items(agent, ticket["id"])] == [first["id"], third["id"], second["id"]]
    agent.patch(f"/v1/tickets/{ticket['id']}/activities/{first['id']}", {"pinned": False})
    assert [a["id"] for a in items(agent, ticket["id"])] == [third["id"], second["id"], first["id"]]


def test_each_logged_type_is_stored_with_its_fields(world, ticket):
    agent = world["agent_all"]
    call, meeting, task, email = (log(agent, ticket["id"], **body) for body in (CALL, MEETING, TASK, EMAIL))
    assert call["fields"] == {"duration_seconds": 300, "outcome": "connected"} and call["visibility"] == "internal"
    assert meeting["fields"] == {"start_at": "2026-04-01T15:00:00.000Z", "link": "https://meet.example.com/abc"}
    assert task["fields"] == {"due_at": "2026-04-02T07:00:00.000Z"} and task["subject"] == "Replace the router"
    assert email["fields"] == {"to": ["alice@acme.example"]}
    assert {a["type"] for a in items(agent, ticket["id"])} == {"call", "meeting", "task", "email"}
    after = agent.get(f"/v1/tickets/{ticket['id']}").data
    assert after["last_activity_at"] >= email["at"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"type": "call"}, {"duration_seconds", "outcome"}),
        ({"type": "call", "duration_seconds": -1, "outcome": "connected"}, {"duration_seconds"}),
        ({"type": "call", "duration_seconds": 1, "outcome": "shouted"}, {"outcome"}),
        ({"type": "meeting"}, {"start_at"}),
        ({"type": "meeting", "start_at": "2026-04-01T15:00:00"}, {"start_at"}),  # naive time
        ({"type": "meeting", "start_at": "2026-04-01T15:00:00Z", "link": "javascript:alert(1)"}, {"link"}),
        ({"type": "meeting", "start_at": "2026-04-01T15:00:00Z", "end_at": "2026-04-01T14:00:00Z"}, {"end_at"}),
        ({"type": "task", "due_at": "2026-04-01T15:00:00Z"}, {"subject"}),
        ({"type": "task", "subject": "s", "due_at": "2026-04-01T15:00:00Z", "visibility": "public"}, {"visibility"}),
        ({"type": "email"}, {"subject"}),
        ({"type": "email", "subject": "s", "to": ["not-an-email"]}, {"to[0]"}),
        ({"type": "note"}, {"body"}),
        ({"type": "note", "body": "x", "duration_seconds": 5}, {"duration_seconds"}),
        ({"type": "call", "duration_seconds": 1, "outcome": "busy", "notify": ["agent-support"]}, {"notify"}),
        ({"type": "comment", "body": "x"}, {"type"}),
        ({"type": "system"}, {"type"}),
        ({"body": "x"}, {"type"}),
    ],
)
def test_invalid_activities_are_422_with_field_errors(world, ticket, body, fields):
    agent = world["agent_all"]
    problem = assert_problem(agent.request("POST", f"/v1/tickets/{ticket['id']}/activities", json.dumps(body)), 422)
    assert {e["field"] for e in problem["errors"]} == fields
    assert items(agent, ticket["id"]) == []


def test_customers_cannot_log_activities(world, ticket):
    assert_problem(world["alice"].post(f"/v1/tickets/{ticket['id']}/activities", {"type": "note", "body": "x"}), 403)


def test_filters_by_type_actor_and_team(world, ticket):
    agent_all, support, eng = world["agent_all"], world["agent_support"], world["agent_eng"]
    unassigned = world["agent_all"].post("/v1/tickets", {"subject": "s", "description": "d", "requester_id": "alice"}).data
    log(agent_all, unassigned["id"], **CALL)
    note(support, unassigned["id"], "support note")
    note(eng, unassigned["id"], "eng note")
    reply(world["alice"], unassigned["id"], "hello")
    tid = unassigned["id"]
    assert [a["type"] for a in items(agent_all, tid, "?type=call")] == ["call"]
    assert [a["body"] for a in items(agent_all, tid, "?actor_id=agent-eng")] == ["eng note"]
    assert {a["actor_id"] for a in items(agent_all, tid, "?team_id=support")} == {"agent-all", "agent-support"}
    assert [a["actor_id"] for a in items(agent_all, tid, "?team_id=engineering")] == ["agent-eng"]
    assert_problem(world["alice"].get(f"/v1/tickets/{tid}/timeline?team_id=support"), 403)
    assert_problem(agent_all.get(f"/v1/tickets/{tid}/timeline?type=bogus"), 422)
    assert_problem(agent_all.get(f"/v1/tickets/{tid}/timeline?nope=1"), 422)


def test_q_searches_the_text_seed_000_lists_case_insensitively(world, ticket):
    agent, alice = world["agent_all"], world["alice"]
    tid = ticket["id"]
    log(agent, tid, **CALL)  # call body
    log(agent, tid, **MEETING)  # meeting body
    log(agent, tid, **TASK)  # task subject and body
    log(agent, tid, **EMAIL)  # email subject (its body is not searched)
    note(agent, tid, "Customer uses <b>Firefox</b> ESR")
    reply(agent, tid, "Please restart the Firefox browser")

    def found(query, user=agent):
        return sorted(a["type"] for a in items(user, tid, f"?q={query}"))

    assert found("VPN%20SETTINGS") == ["call"]
    assert found("kick-off") == ["meeting"]
    assert found("router") == ["task"] and found("model%20x") == ["task"]
    assert found("quote") == ["email"] and found("attached") == []
    assert found("firefox") == ["comment", "note"]
    assert found("firefox", alice) == ["comment"]  # customers never match internal text
    assert found("<b>") == []  # markup is not searched


def test_pages_follow_the_cursor_through_every_entry_once(world, ticket):
    agent, alice = world["agent_all"], world["alice"]
    posted = [note(agent, ticket["id"], f"note {i}")["id"] for i in range(4)]
    posted += [reply(agent, ticket["id"], f"reply {i}")["id"] for i in range(3)]
    for user, expected in ((agent, posted), (alice, posted[4:])):
        seen, cursor = [], None
        while True:
            query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = user.get(f"/v1/tickets/{ticket['id']}/timeline{query}").data
            seen += [a["id"] for a in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == list(reversed(expected))


def test_tampered_or_foreign_cursors_are_400(world, make_ticket, ticket):
    agent = world["agent_all"]
    for i in range(3):
        note(agent, ticket["id"], f"n{i}")
    cursor = agent.get(f"/v1/tickets/{ticket['id']}/timeline?limit=1").data["next_cursor"]
    assert_problem(agent.get(f"/v1/tickets/{ticket['id']}/timeline?cursor={cursor[:-2]}xx"), 400)
    other = make_ticket(requester_id="alice")
    assert_problem(agent.get(f"/v1/tickets/{other['id']}/timeline?cursor={cursor}"), 400)
    assert_problem(agent.get(f"/v1/tickets/{ticket['id']}/timeline?type=note&cursor={cursor}"), 400)
    assert_problem(world["agent_support"].get(f"/v1/tickets/{ticket['id']}/timeline?cursor={cursor}"), 400)


def test_property_changes_appear_as_system_entries_public_or_internal(world, ticket):
    agent, alice = world["agent_all"], world["alice"]
    path = f"/v1/tickets/{ticket['id']}"
    assert agent.patch(path, {"status": "pending", "team_id": "support", "tags": ["vpn"]}).status_code == 200
    assert agent.patch(path, {"assignee_id": "agent-support"}).status_code == 200
    entries = [a for a in items(agent, ticket["id"]) if a["type"] == "system"]
    changed = [sorted(c["property"] for c in e["fields"]["changes"]) for e in entries]
    assert sorted(changed) == [["assignee_id"], ["followers"], ["status"], ["tags", "team_id"]]  # auto-follow: internal
    visible = [a for a in items(alice, ticket["id"]) if a["type"] == "system"]
    properties = sorted(c["property"] for e in visible for c in e["fields"]["changes"])
    assert properties == ["assignee_id", "status"]
    assert all(e["visibility"] == "public" for e in visible)


def test_the_author_edits_content_and_the_edit_history_is_kept(world, ticket):
    agent, support, admin = world["agent_all"], world["agent_support"], world["admin"]
    logged = log(agent, ticket["id"], **CALL)
    path = f"/v1/tickets/{ticket['id']}/activities/{logged['id']}"
    edited = agent.patch(path, {"body": "Fixed <script>x</script>it", "duration_seconds": 420}, headers={"If-Match": '"1"'})
    assert edited.status_code == 200, edited.body
    assert edited.data["body"] == "Fixed it" and edited.data["fields"]["duration_seconds"] == 420
    assert edited.data["edited_at"] is not None and edited.headers["ETag"] == '"2"'
    assert_problem(agent.patch(path, {"body": "stale"}, headers={"If-Match": '"1"'}), 412)
    assert_problem(support.patch(path, {"body": "not mine"}), 403)
    assert support.patch(path, {"pinned": True}).data["pinned"] is True  # any agent pins
    assert admin.patch(path, {"body": "admin fix"}).status_code == 200
    history = agent.get(f"{path}/history").data["items"]
    assert [h["actor_id"] for h in history] == ["admin-1", "agent-all"]
    assert history[1]["changes"]["body"] == {"old": CALL["body"], "new": "Fixed it"}
    assert history[1]["changes"]["duration_seconds"] == {"old": 300, "new": 420}
    assert_problem(world["alice"].get(f"{path}/history"), 403)


def test_system_entries_cannot_be_edited_or_deleted(world, ticket):
    agent = world["agent_all"]
    agent.patch(f"/v1/tickets/{ticket['id']}", {"priority": "high"})
    system = items(agent, ticket["id"])[0]
    path = f"/v1/tickets/{ticket['id']}/activities/{system['id']}"
    assert_problem(agent.patch(path, {"body": "rewrite history"}), 409)
    assert_problem(agent.delete(path), 409)
    assert agent.patch(path, {"pinned": True}).status_code == 200


def test_deleted_activities_vanish_and_restore_within_90_days(world, ticket, monkeypatch):
    agent, alice = world["agent_all"], world["alice"]
    public = reply(agent, ticket["id"], "visible reply")
    path = f"/v1/tickets/{ticket['id']}/activities/{public['id']}"
    assert agent.delete(path).status_code == 204
    assert agent.delete(path).status_code == 204  # already deleted: nothing to do
    assert items(agent, ticket["id"]) == [] and items(alice, ticket["id"]) == []
    assert [a["id"] for a in items(agent, ticket["id"], "?deleted=true")] == [public["id"]]
    assert_problem(alice.get(f"/v1/tickets/{ticket['id']}/timeline?deleted=true"), 403)
    assert_problem(alice.get(path), 404)
    assert_problem(agent.patch(path, {"pinned": True}), 409)

    restored = agent.post(f"{path}/restore")
    assert restored.status_code == 200 and restored.data["deleted_at"] is None
    assert [a["id"] for a in items(alice, ticket["id"])] == [public["id"]]
    history = agent.get(f"{path}/history").data["items"]
    assert [sorted(h["changes"]) for h in history] == [["deleted_at"], ["deleted_at"]]

    assert agent.delete(path).status_code == 204
    from chalicelib import composition

    later = composition.clock() + timedelta(days=91)
    monkeypatch.setattr(composition, "clock", lambda: later)
    assert_problem(agent.post(f"{path}/restore"), 404)


def test_agents_comment_on_an_activity_and_customers_never_see_those_comments(world, ticket):
    agent, alice = world["agent_all"], world["alice"]
    public = reply(agent, ticket["id"], "We replaced the part.")
    path = f"/v1/tickets/{ticket['id']}/activities/{public['id']}"
    posted = agent.post(f"{path}/comments", {"body": "internal: part cost 40 EUR"})
    assert posted.status_code == 201 and posted.data["body"] == "internal: part cost 40 EUR"
    assert items(agent, ticket["id"])[0]["comments"][0]["id"] == posted.data["id"]
    for view in (items(alice, ticket["id"])[0], alice.get(path).data):
        assert "comments" not in view and "40 EUR" not in json.dumps(view)
    assert_problem(alice.post(f"{path}/comments", {"body": "me too"}), 403)
    assert_problem(agent.post(f"{path}/comments", {"body": "x" * 2001}), 422)


def test_unknown_activity_is_404(world, ticket):
    assert_problem(world["agent_all"].get(f"/v1/tickets/{ticket['id']}/activities/nope"), 404)
    assert_problem(world["agent_all"].patch(f"/v1/tickets/{ticket['id']}/activities/nope", {"pinned": True}), 404)


def test_customers_get_404_for_internal_activities_by_id(world, ticket):
    internal = note(world["agent_all"], ticket["id"], "secret")
    assert_problem(world["alice"].get(f"/v1/tickets/{ticket['id']}/activities/{internal['id']}"), 404)


def test_entries_written_by_workflows_are_read_by_both_timelines(world, ticket):
    """Step Functions puts escalation entries directly: millisecond `at`, JSON `fields`, no version."""
    at = datetime(2026, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
    activity_id = "2026-05-01T12:00:00.123Z-4b6f0f9e-5a4c-4e0b-9f0e-2f4f7f7b6c1d"
    sk = f"ACT#1#{activity_id}"
    boto3.client("dynamodb").put_item(
        TableName=TABLE,
        Item={
            "PK": {"S": f"TICKET#{ticket['id']}"},
            "SK": {"S": sk},
            "kind": {"S": "activity"},
            "id": {"S": activity_id},
            "ticket_id": {"S": ticket["id"]},
            "type": {"S": "system"},
            "visibility": {"S": "public"},
            "actor_id": {"S": "workflow"},
            "at": {"S": at.strftime("%Y-%m-%dT%H:%M:%S.123Z")},
            "fields": {"S": json.dumps({"escalation_id": "CP-1", "stage": "review"})},
            "GSI1PK": {"S": f"PUBLIC#{ticket['id']}"},
            "GSI1SK": {"S": sk},
        },
    )
    for user in (world["agent_all"], world["alice"]):
        entry = items(user, ticket["id"])[0]
        assert entry["id"] == activity_id and entry["at"] == "2026-05-01T12:00:00.123Z"
        assert entry["fields"] == {"escalation_id": "CP-1", "stage": "review"}
    path = f"/v1/tickets/{ticket['id']}/activities/{activity_id}"
    assert world["agent_all"].patch(path, {"pinned": True}).data["pinned"] is True
    assert items(world["alice"], ticket["id"])[0]["pinned"] is True


def test_conversation_responses_conform_to_the_documented_schemas(world, ticket):
    from jsonschema import Draft202012Validator

    spec = json.loads(world["admin"].client.http.get("/openapi.json").body)
    schemas = spec["components"]["schemas"]

    def check(schema_name, body):
        schema = json.loads(json.dumps({**schemas[schema_name], "$defs": schemas}).replace("#/components/schemas/", "#/$defs/"))
        Draft202012Validator(schema).validate(body)

    agent, alice = world["agent_all"], world["alice"]
    for user in (agent, alice):
        check("CommentOut", reply(user, ticket["id"], "hello"))
    logged = log(agent, ticket["id"], **MEETING)
    check("ActivityOut", logged)
    agent.post(f"/v1/tickets/{ticket['id']}/activities/{logged['id']}/comments", {"body": "c"})
    agent.patch(f"/v1/tickets/{ticket['id']}", {"status": "pending"})
    for user in (agent, alice):
        check("TimelinePage", user.get(f"/v1/tickets/{ticket['id']}/timeline").data)
    check("RevisionPage", agent.get(f"/v1/tickets/{ticket['id']}/activities/{logged['id']}/history").data)
    check("ClosedTicketOut", alice.post(f"/v1/tickets/{ticket['id']}/close").data)
    check("ClosedTicketOut", alice.post(f"/v1/tickets/{ticket['id']}/feedback", {"rating": 5}).data)
