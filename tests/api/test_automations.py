"""Automations (issue 11): rules as a resource (`/v1/automations`), run by the ticket stream on the
events they name, written with the rule as the actor, never repeated by a replayed batch, and
never triggering themselves."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_routing import Stream, history

REOPEN = "reopen-on-customer-reply"


@pytest.fixture
def stream(world: dict[str, Any]) -> Stream:
    stream = Stream()
    stream.follow()  # the world's own writes
    return stream


def automation(admin: Any, **body: Any) -> dict[str, Any]:
    body = {"name": "Rule", "trigger": {"event": "ticket.created"}, **body}
    body.setdefault("actions", [{"type": "set_priority", "priority": "high"}])
    response = admin.post("/v1/automations", body)
    assert response.status_code == 201, response.body
    return response.data


def automated_entries(agent: Any, ticket_id: str) -> list[dict[str, Any]]:
    return [h for h in history(agent, ticket_id) if str(h.get("actor_id", "")).startswith("automation:")]


# -- the resource --------------------------------------------------------------------------
def test_admins_manage_automations_that_list_in_the_order_they_run_with_the_default_first(world):
    admin, agent = world["admin"], world["agent_support"]
    later = automation(admin, name="Tag VIP", position=5, conditions={"tags": ["VIP"]})
    appended = automation(admin, name="Note", actions=[{"type": "internal_note", "body": "<b>Look</b><script>x</script>"}])

    listed = agent.get("/v1/automations").data["items"]
    assert [a["id"] for a in listed] == [REOPEN, later["id"], appended["id"]]
    assert listed[0]["built_in"] and listed[0]["active"] and listed[0]["version"] == 0
    assert later["conditions"] == {"tags": ["vip"]} and appended["position"] == 6
    assert appended["actions"] == [{"type": "internal_note", "body": "<b>Look</b>"}]

    got = agent.get(f"/v1/automations/{later['id']}")
    assert got.data["name"] == "Tag VIP" and got.headers["ETag"].strip('"W/') == "1"
    moved = admin.patch(f"/v1/automations/{later['id']}", {"position": 100, "active": False})
    assert moved.status_code == 200 and moved.data["active"] is False and moved.data["version"] == 2
    stale = admin.patch(f"/v1/automations/{later['id']}", {"name": "x"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert admin.delete(f"/v1/automations/{later['id']}").status_code == 204
    assert admin.get(f"/v1/automations/{later['id']}").status_code == 404


def test_the_default_is_turned_off_by_a_patch_and_cannot_be_deleted(world):
    admin = world["admin"]
    assert admin.delete(f"/v1/automations/{REOPEN}").status_code == 409
    off = admin.patch(f"/v1/automations/{REOPEN}", {"active": False})
    assert off.status_code == 200, off.body
    assert off.data["active"] is False and off.data["version"] == 1 and off.data["built_in"]
    assert admin.get(f"/v1/automations/{REOPEN}").data["active"] is False


def test_only_admins_write_automations_and_customers_cannot_read_them(world):
    body = {"name": "R", "trigger": {"event": "ticket.created"}, "actions": [{"type": "set_priority", "priority": "low"}]}
    assert world["agent_all"].post("/v1/automations", body).status_code == 403
    assert world["alice"].get("/v1/automations").status_code == 403
    created = automation(world["admin"])
    assert world["agent_all"].patch(f"/v1/automations/{created['id']}", {"active": False}).status_code == 403
    assert world["agent_all"].delete(f"/v1/automations/{created['id']}").status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"trigger": {"event": "ticket.exploded"}}, "trigger.event"),
        ({"trigger": {"event": "time"}}, "trigger.status_category"),  # a time rule needs its category and delay
        ({"conditions": {"colors": ["red"]}}, "conditions.colors"),
        ({"conditions": {"comment_visibilities": ["public"]}}, "conditions.comment_visibilities"),
        ({"actions": []}, "actions"),
        ({"actions": [{"type": "set_priority"}]}, "actions[0].priority"),
        ({"actions": [{"type": "set_team", "team_id": "nope"}]}, "actions[0].team_id"),
        ({"actions": [{"type": "set_status", "status": "nope"}]}, "actions[0].status"),
        ({"actions": [{"type": "add_follower", "user_id": "alice"}]}, "actions[0].user_id"),
        ({"actions": [{"type": "template_reply", "template_id": "nope"}]}, "actions[0].template_id"),
        ({"actions": [{"type": "internal_note", "body": "x" * 4001}]}, "actions[0].body"),
        ({"actions": [{"type": "set_priority", "priority": "low"}] * 11}, "actions"),
    ],
)
def test_a_bad_automation_is_a_422_problem_naming_the_field(world, body, field):
    base = {"name": "R", "trigger": {"event": "ticket.created"}, "actions": [{"type": "set_priority", "priority": "low"}]}
    response = world["admin"].post("/v1/automations", {**base, **body})
    assert response.status_code == 422, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    assert field in [e["field"] for e in response.data["errors"]], response.data["errors"]


# -- time rules (the stream's part: tests/api/test_time_rules.py) ----------------------------
def time_rule(admin: Any, name: str, days: int, actions: list[dict[str, Any]]) -> dict[str, Any]:
    trigger = {"event": "time", "status_category": "pending", "after": {"business_days": days}}
    return automation(admin, name=name, trigger=trigger, actions=actions)


def test_time_rules_are_accepted_with_a_status_category_and_a_delay_and_listed_as_given(world):
    remind = time_rule(world["admin"], "Remind", 3, [{"type": "internal_note", "body": "Still waiting."}])
    listed = {a["id"]: a for a in world["agent_all"].get("/v1/automations").data["items"]}
    assert listed[remind["id"]]["trigger"] == {
        "event": "time",
        "status_category": "pending",
        "after": {"business_days": 3},
    }
    hours = time_rule(world["admin"], "Nudge", 4, [{"type": "add_tags", "tags": ["nudged"]}])
    eight_hours = {"event": "time", "status_category": "open", "after": {"business_hours": 8}}
    patched = world["admin"].patch(f"/v1/automations/{hours['id']}", {"trigger": eight_hours})
    assert patched.status_code == 200, patched.body
    assert patched.data["trigger"] == {"event": "time", "status_category": "open", "after": {"business_hours": 8}}


@pytest.mark.parametrize(
    ("trigger", "field"),
    [
        ({"event": "time"}, "trigger.status_category"),
        ({"event": "time", "status_category": "pending"}, "trigger.after"),
        ({"event": "time", "status_category": "closed", "after": {"business_days": 3}}, "trigger.status_category"),
        ({"event": "time", "status_category": "pending", "after": {"business_days": 0}}, "trigger.after.business_days"),
        ({"event": "time", "status_category": "pending", "after": {"business_days": 366}}, "trigger.after.business_days"),
        ({"event": "time", "status_category": "pending", "after": {"business_hours": 8761}}, "trigger.after.business_hours"),
        ({"event": "time", "status_category": "pending", "after": {"business_days": 1, "business_hours": 2}}, "trigger.after"),
        ({"event": "time", "status_category": "pending", "after": {"minutes": 5}}, "trigger.after.minutes"),
        ({"event": "ticket.created", "after": {"business_days": 1}}, "trigger"),
    ],
)
def test_a_time_rule_without_a_sane_category_and_delay_is_a_422_naming_the_field(world, trigger, field):
    body = {"name": "R", "trigger": trigger, "actions": [{"type": "set_priority", "priority": "low"}]}
    response = world["admin"].post("/v1/automations", body)
    assert response.status_code == 422, response.body
    assert field in [e["field"] for e in response.data["errors"]], response.data["errors"]


def test_a_time_rule_has_no_conditions_on_an_event(world):
    body = {
        "name": "R",
        "trigger": {"event": "time", "status_category": "pending", "after": {"business_days": 1}},
        "conditions": {"author_roles": ["customer"]},
        "actions": [{"type": "set_priority", "priority": "low"}],
    }
    response = world["admin"].post("/v1/automations", body)
    assert response.status_code == 422
    assert "conditions.author_roles" in [e["field"] for e in response.data["errors"]]


# -- running in the stream -------------------------------------------------------------------
def test_a_new_ticket_gets_the_rules_changes_with_the_rule_as_the_actor(world, stream, make_ticket):
    admin, agent = world["admin"], world["agent_all"]
    rule = automation(
        admin,
        conditions={"channels": ["web"]},
        actions=[
            {"type": "set_priority", "priority": "urgent"},
            {"type": "add_tags", "tags": ["Triage"]},
            {"type": "add_follower", "user_id": "agent-support"},
            {"type": "internal_note", "body": "Check the contract first."},
        ],
    )
    ticket = make_ticket(channel="web")
    other = make_ticket(channel="phone")
    stream.follow()

    after = agent.get(f"/v1/tickets/{ticket['id']}").data
    assert after["priority"] == "urgent" and after["tags"] == ["triage"] and "agent-support" in after["followers"]
    actor = f"automation:{rule['id']}"
    assert {(h["property"], h["actor_id"]) for h in automated_entries(agent, ticket["id"])} == {
        ("priority", actor),
        ("tags", actor),
        ("followers", actor),
    }
    notes = [a for a in agent.get(f"/v1/tickets/{ticket['id']}/timeline").data["items"] if a["type"] == "note"]
    assert [(n["actor_id"], n["body"]) for n in notes] == [(actor, "Check the contract first.")]
    assert agent.get(f"/v1/tickets/{other['id']}").data["priority"] == "normal"


def test_a_replayed_batch_repeats_no_automated_change_or_note(world, stream, make_ticket):
    automation(world["admin"], actions=[{"type": "add_tags", "tags": ["seen"]}, {"type": "internal_note", "body": "Hi"}])
    ticket = make_ticket()
    first = stream.records()
    assert stream.deliver(first) == {"batchItemFailures": []}
    stream.follow()
    version = world["agent_all"].get(f"/v1/tickets/{ticket['id']}").data["version"]

    assert stream.deliver(first) == {"batchItemFailures": []}  # the same batch again
    stream.follow()
    agent = world["agent_all"]
    assert agent.get(f"/v1/tickets/{ticket['id']}").data["version"] == version
    assert len(automated_entries(agent, ticket["id"])) == 1
    notes = [a for a in agent.get(f"/v1/tickets/{ticket['id']}/timeline").data["items"] if a["type"] == "note"]
    assert len(notes) == 1


def test_rules_on_updates_never_trigger_on_their_own_changes(world, stream, make_ticket):
    """Two rules that would feed each other forever: each runs once per human change."""
    admin, agent = world["admin"], world["agent_all"]
    ping = automation(admin, name="ping", trigger={"event": "ticket.updated"}, actions=[{"type": "add_tags", "tags": ["ping"]}])
    automation(
        admin,
        name="pong",
        trigger={"event": "ticket.updated"},
        conditions={"tags": ["ping"]},
        actions=[{"type": "remove_tags", "tags": ["ping"]}, {"type": "internal_note", "body": "pong"}],
    )
    ticket = make_ticket()
    stream.follow()
    assert agent.patch(f"/v1/tickets/{ticket['id']}", {"priority": "high"}).status_code == 200
    stream.follow()

    after = agent.get(f"/v1/tickets/{ticket['id']}").data
    assert after["tags"] == ["ping"]  # ping ran; pong saw the ticket before ping's tag
    assert [h["actor_id"] for h in automated_entries(agent, ticket["id"])] == [f"automation:{ping['id']}"]
    assert stream.records() == []  # quiet: nothing left to run


def test_rules_on_comments_see_who_wrote_and_how(world, stream, make_ticket):
    admin, agent = world["admin"], world["agent_all"]
    automation(
        admin,
        trigger={"event": "comment.created"},
        conditions={"author_roles": ["agent"], "comment_visibilities": ["internal"]},
        actions=[{"type": "add_tags", "tags": ["discussed"]}],
    )
    ticket = make_ticket(as_user="alice")
    stream.follow()
    assert world["alice"].post(f"/v1/tickets/{ticket['id']}/comments", {"body": "Any news?"}).status_code == 201
    stream.follow()
    assert agent.get(f"/v1/tickets/{ticket['id']}").data["tags"] == []
    note = agent.post(f"/v1/tickets/{ticket['id']}/comments", {"body": "Asking eng", "visibility": "internal"})
    assert note.status_code == 201
    stream.follow()
    assert agent.get(f"/v1/tickets/{ticket['id']}").data["tags"] == ["discussed"]


def test_an_inactive_rule_does_nothing(world, stream, make_ticket):
    rule = automation(world["admin"])
    world["admin"].patch(f"/v1/automations/{rule['id']}", {"active": False})
    ticket = make_ticket()
    stream.follow()
    assert world["agent_all"].get(f"/v1/tickets/{ticket['id']}").data["priority"] == "normal"


def test_a_template_reply_is_a_public_comment_the_customer_reads_filled_in_for_their_ticket(world, stream, make_ticket):
    admin = world["admin"]
    template = admin.post("/v1/templates", {"name": "Thanks", "body": "Thanks, {{requester.name}}: ticket #{{ticket.number}}."})
    assert template.status_code == 201, template.body
    rule = automation(
        admin,
        trigger={"event": "comment.created"},
        conditions={"author_roles": ["customer"]},
        actions=[{"type": "template_reply", "template_id": template.data["id"]}],
    )
    ticket = make_ticket(as_user="alice")
    stream.follow()
    assert world["alice"].post(f"/v1/tickets/{ticket['id']}/comments", {"body": "Hello?"}).status_code == 201
    stream.follow()

    seen = world["alice"].get(f"/v1/tickets/{ticket['id']}/timeline?type=comment").data["items"]
    replies = [c for c in seen if c["actor_id"] == f"automation:{rule['id']}"]
    assert [(c["visibility"], c["body"]) for c in replies] == [("public", f"Thanks, Alice: ticket #{ticket['number']}.")]


def test_the_stream_reads_the_rules_once_per_30_seconds_and_again_as_soon_as_one_changes(world, stream, make_ticket, monkeypatch):
    """The rule set is cached per container like the status catalog; counted at the botocore client."""
    import botocore.client

    from chalicelib import composition

    now = [1000.0]
    composition.automator().rules.clock = lambda: now[0]
    reads = []
    original = botocore.client.BaseClient._make_api_call

    def counting(client, operation, params):
        if operation == "Query" and "DIR#automation" in str(params.get("ExpressionAttributeValues")):
            reads.append(operation)
        return original(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    admin, agent = world["admin"], world["agent_all"]
    rule = automation(admin, actions=[{"type": "set_priority", "priority": "high"}])
    reads.clear()  # the write route's own reads
    first = [make_ticket() for _ in range(3)]
    stream.follow()
    assert len(reads) == 1  # three tickets' events, one read
    assert {agent.get(f"/v1/tickets/{t['id']}").data["priority"] for t in first} == {"high"}

    low = {"actions": [{"type": "set_priority", "priority": "low"}]}
    assert admin.patch(f"/v1/automations/{rule['id']}", low).status_code == 200
    reads.clear()
    changed = make_ticket()
    stream.follow()
    assert len(reads) == 1  # the rule's change reached the stream: read again, not 30 s later
    assert agent.get(f"/v1/tickets/{changed['id']}").data["priority"] == "low"

    reads.clear()
    make_ticket()
    now[0] += 29.0
    stream.follow()
    assert reads == []
    make_ticket()
    now[0] += 1.0
    stream.follow()
    assert len(reads) == 1
