"""POST /v1/tickets/{id}/comments: replies, notes, CC, @notify, status, activity status, sentiment."""

from __future__ import annotations

import json
import re

import pytest

from tests.api.test_bad_input import assert_problem


def comment(user, ticket_id, body="Thanks, looking into it.", **fields):
    return user.post(f"/v1/tickets/{ticket_id}/comments", {"body": body, **fields})


def timeline(user, ticket_id, query=""):
    response = user.get(f"/v1/tickets/{ticket_id}/timeline{query}")
    assert response.status_code == 200, response.body
    return response.data["items"]


def test_agent_reply_waits_on_contact_and_customer_reply_waits_on_agent(world, make_ticket):
    agent, alice = world["agent_all"], world["alice"]
    ticket = make_ticket(requester_id="alice", assignee_id="agent-all")
    assert ticket["activity_status"] == "unread"

    reply = comment(agent, ticket["id"], visibility="public")
    assert reply.status_code == 201, reply.body
    assert reply.data["type"] == "comment" and reply.data["visibility"] == "public"
    assert reply.data["ticket"]["activity_status"] == "waiting_on_contact"
    assert reply.headers["Location"] == f"/v1/tickets/{ticket['id']}/activities/{reply.data['id']}"

    assert comment(alice, ticket["id"], "It still fails.").status_code == 201
    after = agent.get(f"/v1/tickets/{ticket['id']}").data
    assert after["activity_status"] == "waiting_on_agent"
    assert after["last_activity_at"] > ticket["last_activity_at"]


def test_internal_note_by_an_agent_marks_an_unread_ticket_read(world, make_ticket):
    ticket = make_ticket(requester_id="alice")
    note = comment(world["agent_all"], ticket["id"], "checked logs", visibility="internal")
    assert note.data["type"] == "note" and note.data["ticket"]["activity_status"] == "read"


def test_customer_reply_never_changes_the_status_by_itself(world, make_ticket):
    agent, alice = world["agent_all"], world["alice"]
    ticket = make_ticket(requester_id="alice", status="pending")
    assert comment(alice, ticket["id"], "any news?").status_code == 201
    assert agent.get(f"/v1/tickets/{ticket['id']}").data["status"] == "pending"


def test_status_in_a_comment_is_applied_in_the_same_write_with_history_and_a_public_entry(world, make_ticket):
    agent, alice = world["agent_all"], world["alice"]
    ticket = make_ticket(requester_id="alice")
    reply = comment(agent, ticket["id"], "Waiting for your logs.", visibility="public", status="pending")
    assert reply.status_code == 201
    assert reply.data["ticket"]["status"] == "pending" and reply.data["ticket"]["version"] == ticket["version"] + 1
    history = agent.get(f"/v1/tickets/{ticket['id']}/history?property=status").data["items"]
    assert history[0]["old"] == "open" and history[0]["new"] == "pending"
    system = [a for a in timeline(alice, ticket["id"]) if a["type"] == "system"]
    assert system[0]["fields"] == {
        "event": "properties_changed",
        "changes": [{"property": "status", "old": "open", "new": "pending"}],
    }


def test_an_invalid_status_in_a_comment_writes_nothing(world, make_ticket):
    agent = world["agent_all"]
    ticket = make_ticket(requester_id="alice")
    assert_problem(comment(agent, ticket["id"], status="no_such_status"), 422)
    assert timeline(agent, ticket["id"]) == []
    assert agent.get(f"/v1/tickets/{ticket['id']}").data["version"] == ticket["version"]


def test_customers_cannot_post_internal_notes_set_status_or_notify(world, make_ticket):
    alice = world["alice"]
    ticket = make_ticket(requester_id="alice")
    problem = assert_problem(comment(alice, ticket["id"], visibility="internal", status="resolved", notify=["agent-all"]), 403)
    assert [e["field"] for e in problem["errors"]] == ["visibility", "status", "notify"]
    assert timeline(world["agent_all"], ticket["id"]) == []


def test_customer_comment_on_a_closed_ticket_is_409_and_says_to_open_a_new_ticket(world, make_ticket):
    alice = world["alice"]
    ticket = make_ticket(requester_id="alice")
    assert alice.post(f"/v1/tickets/{ticket['id']}/close").status_code == 200
    problem = assert_problem(comment(alice, ticket["id"], "one more thing"), 409)
    assert f"reference ticket #{ticket['number']}" in problem["detail"] and ticket["id"] in problem["detail"]


def test_invisible_tickets_are_404_for_comments(world, make_ticket):
    ticket = make_ticket(requester_id="alice", team_id="support")
    assert_problem(comment(world["gina"], ticket["id"]), 404)
    assert_problem(comment(world["agent_eng"], ticket["id"]), 404)


def test_org_admin_reads_a_colleagues_ticket_but_replies_only_to_their_own(world, make_ticket):
    boss = world["acme_admin"]
    colleague = make_ticket(requester_id="alice")
    assert boss.get(f"/v1/tickets/{colleague['id']}").status_code == 200
    assert_problem(comment(boss, colleague["id"]), 403)
    own = make_ticket(requester_id="acme-admin")
    assert comment(boss, own["id"]).status_code == 201


def test_an_agent_who_requested_a_ticket_replies_as_its_end_user(world, make_ticket):
    support = world["agent_support"]
    ticket = make_ticket(requester_id="agent-support", assignee_id="agent-all")
    reply = comment(support, ticket["id"], "My laptop broke, this is awful.", visibility="public")
    assert reply.data["ticket"]["activity_status"] == "waiting_on_agent"
    assert reply.data["ticket"]["sentiment"] == "negative"


def test_cc_on_a_comment_lets_the_ccd_customer_see_the_ticket(world, make_ticket):
    agent, bob = world["agent_all"], world["bob"]
    ticket = make_ticket(requester_id="alice")
    assert bob.get(f"/v1/tickets/{ticket['id']}").status_code == 404
    reply = comment(agent, ticket["id"], "Adding Bob.", visibility="public", cc=["bob", "alice"])
    assert reply.data["ticket"]["cc"] == ["bob"]  # the requester is never a CC
    assert reply.data["cc"] == ["bob"]
    assert bob.get(f"/v1/tickets/{ticket['id']}").status_code == 200
    assert [a["body"] for a in timeline(bob, ticket["id"]) if a["type"] == "comment"] == ["Adding Bob."]
    assert ticket["id"] in [t["id"] for t in bob.get("/v1/me/tickets").data["items"]]
    # A CC'd end user may reply too.
    assert comment(bob, ticket["id"], "Thanks!").status_code == 201


def test_unknown_cc_and_notify_of_a_non_agent_are_422_and_write_nothing(world, make_ticket):
    agent = world["agent_all"]
    ticket = make_ticket(requester_id="alice")
    problem = assert_problem(comment(agent, ticket["id"], cc=["ghost"], visibility="public"), 422)
    assert problem["errors"] == [{"field": "cc", "message": "does not exist"}]
    problem = assert_problem(comment(agent, ticket["id"], visibility="internal", notify=["alice"]), 422)
    assert problem["errors"] == [{"field": "notify", "message": "does not exist"}]
    assert timeline(agent, ticket["id"]) == []


def test_notify_is_stored_on_internal_notes_only(world, make_ticket):
    agent = world["agent_all"]
    ticket = make_ticket(requester_id="alice")
    assert_problem(comment(agent, ticket["id"], visibility="public", notify=["agent-support"]), 422)
    note = comment(agent, ticket["id"], "@support look", visibility="internal", notify=["agent-support", "agent-support"])
    assert note.data["notify"] == ["agent-support"]
    assert timeline(agent, ticket["id"])[0]["notify"] == ["agent-support"]


def test_bodies_over_65536_characters_are_stored_truncated_and_the_response_says_so(world, make_ticket):
    agent = world["agent_all"]
    ticket = make_ticket(requester_id="alice")
    reply = comment(agent, ticket["id"], "z" * 70_000, visibility="public")
    assert reply.status_code == 201
    assert reply.data["truncated"] is True
    assert len(reply.data["body"]) == 65_536 and reply.data["body"].endswith("…")
    stored = world["alice"].get(f"/v1/tickets/{ticket['id']}/activities/{reply.data['id']}").data
    assert stored["body"] == reply.data["body"] and stored["truncated"] is True
    short = comment(agent, ticket["id"], "short", visibility="public")
    assert short.data["truncated"] is False


def test_sentiment_follows_the_latest_customer_comments(world, make_ticket):
    agent, alice = world["agent_all"], world["alice"]
    ticket = make_ticket(requester_id="alice")
    assert agent.get(f"/v1/tickets/{ticket['id']}").data["sentiment"] is None
    comment(alice, ticket["id"], "This is terrible, nothing works and I am furious.")
    assert agent.get(f"/v1/tickets/{ticket['id']}").data["sentiment"] == "negative"
    comment(agent, ticket["id"], "Wonderful news, all fixed, great!", visibility="public")  # agents do not move it
    assert agent.get(f"/v1/tickets/{ticket['id']}").data["sentiment"] == "negative"
    comment(alice, ticket["id"], "Wonderful, it works perfectly now. Thank you so much!")
    assert agent.get(f"/v1/tickets/{ticket['id']}").data["sentiment"] == "positive"
    assert "sentiment" not in alice.get(f"/v1/tickets/{ticket['id']}").data


def test_the_assigned_agent_opening_an_unread_ticket_marks_it_read_once(world, make_ticket):
    ticket = make_ticket(requester_id="alice", assignee_id="agent-assigned")
    path = f"/v1/tickets/{ticket['id']}"
    assert world["agent_all"].get(path).data["activity_status"] == "unread"  # not the assignee
    opened = world["agent_assigned"].get(path)
    assert opened.data["activity_status"] == "read"
    assert opened.headers["ETag"] == f'"{ticket["version"] + 1}"'
    listed = world["agent_all"].get("/v1/tickets?assignee_id=agent-assigned").data["items"]
    assert listed[0]["activity_status"] == "read"  # list entries agree with the ticket
    assert world["agent_assigned"].get(path).data["version"] == ticket["version"] + 1  # no second write


def test_staff_comments_without_visibility_follow_the_admin_default(world, make_ticket):
    admin, agent = world["admin"], world["agent_all"]
    ticket = make_ticket(requester_id="alice")
    assert comment(agent, ticket["id"], "default").data["visibility"] == "public"
    assert admin.request("PUT", "/v1/settings", {"default_reply_visibility": "internal"}).status_code == 200
    assert comment(agent, ticket["id"], "default now").data["visibility"] == "internal"
    assert comment(world["alice"], ticket["id"], "customer").data["visibility"] == "public"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"body"}),
        ({"body": ""}, {"body"}),
        ({"body": 7}, {"body"}),
        ({"body": "x", "visibility": "secret"}, {"visibility"}),
        ({"body": "x", "cc": "bob"}, {"cc"}),
        ({"body": "x", "cc": ["../etc"]}, {"cc[0]"}),
        ({"body": "x", "notify": ["a"] * 11}, {"notify"}),
        ({"body": "x", "status": "Not A Status"}, {"status"}),
        ({"body": "x", "unknown": 1}, {"unknown"}),
        ({"body": "<script>alert(1)</script>"}, {"body"}),  # nothing left once sanitized
    ],
)
def test_invalid_comments_are_422_with_field_errors(world, make_ticket, body, fields):
    agent = world["agent_all"]
    ticket = make_ticket(requester_id="alice")
    problem = assert_problem(agent.request("POST", f"/v1/tickets/{ticket['id']}/comments", json.dumps(body)), 422)
    assert {e["field"] for e in problem["errors"]} == fields
    assert timeline(agent, ticket["id"]) == []


def test_a_retried_comment_with_the_same_idempotency_key_posts_once(world, make_ticket):
    agent = world["agent_all"]
    ticket = make_ticket(requester_id="alice")
    headers = {"Idempotency-Key": "reply-1"}
    first = agent.post(f"/v1/tickets/{ticket['id']}/comments", {"body": "once", "visibility": "public"}, headers=headers)
    again = agent.post(f"/v1/tickets/{ticket['id']}/comments", {"body": "once", "visibility": "public"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.data["id"] == again.data["id"]
    assert len(timeline(agent, ticket["id"])) == 1


# -- stored XSS: payloads of published help desk reports --------------------------------------
XSS_PAYLOADS = [
    # django-helpdesk, huntr be7f211d (PR django-helpdesk/django-helpdesk#985): Markdown link in a comment.
    "[XSS](javascript:alert(`document.domain`))",
    # django-helpdesk#985, the reporter's multiline bypass of the first fix.
    "[Bypass\n\nMultiline]( javascript:alert(`1`))",
    # django-helpdesk#1269 (fixes #1102): scheme checks that missed mixed case and entities.
    "[x](JaVaScRiPt&#58;alert(1)) [y](javascript&colon;alert(2))",
    # osTicket#5512: event handler in a Response / Internal Note.
    "'><details/open/ontoggle=confirm('//XSS//')>",
    # osTicket PR #5830: `formaction` and `on*` (onerror) attributes in thread content.
    "<form><button formaction=javascript:alert(1)>X</button></form><img src=x onerror=alert(document.cookie)>",
    # FreeScout#1359: SVG whose onload runs script.
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<svg\n\n onload="alert(\'xss\')"\n xmlns="http://www.w3.org/2000/svg">\n</svg>',
    # FreeScout PR #5440: a javascript: URI that smuggles an http:// check in a comment.
    '<a href="javascript:alert(document.cookie)//http://x">site</a> javascript:alert(document.cookie)//http://x',
    # SVG script and a data: document (the list: SVG script, data: URLs).
    '<svg><script>alert(1)</script></svg><a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">d</a>',
]


def assert_inert(text):
    lowered = (text or "").lower()
    assert "<script" not in lowered and "<svg" not in lowered and "formaction" not in lowered
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", lowered), text
    assert not re.search(
        r"j[\s\x00]*a[\s\x00]*v[\s\x00]*a[\s\x00]*s[\s\x00]*c[\s\x00]*r[\s\x00]*i[\s\x00]*p[\s\x00]*t[\s\x00]*:", lowered
    )
    assert not re.search(r"data\s*:\s*[a-z]+/", lowered)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_published_stored_xss_payloads_never_survive_into_stored_or_returned_bodies(world, make_ticket, payload):
    agent, alice = world["agent_all"], world["alice"]
    ticket = make_ticket(requester_id="alice")
    body = f"Before {payload} after"
    posted = [comment(alice, ticket["id"], body), comment(agent, ticket["id"], body, visibility="internal")]
    for response in posted:
        assert response.status_code == 201, response.body
        assert_inert(response.data["body"])
        assert "Before" in response.data["body"] and "after" in response.data["body"]
    for item in timeline(agent, ticket["id"]) + timeline(alice, ticket["id"]):
        assert_inert(item["body"])
    raw = agent.get(f"/v1/tickets/{ticket['id']}/timeline").body.decode()
    assert_inert(json.loads(raw)["items"][0]["body"])


def test_a_customer_who_is_only_ccd_cannot_cc_others(world, make_ticket):
    ticket = make_ticket(requester_id="alice", cc=["bob"])
    problem = assert_problem(comment(world["bob"], ticket["id"], "Adding my friend.", cc=["acme-admin"]), 403)
    assert [e["field"] for e in problem["errors"]] == ["cc"]
    assert world["agent_all"].get(f"/v1/tickets/{ticket['id']}").data["cc"] == ["bob"]
    assert comment(world["bob"], ticket["id"], "A plain reply is fine.").status_code == 201


def test_customers_cannot_cc_users_of_another_organization(world, make_ticket):
    ticket = make_ticket(requester_id="alice")
    problem = assert_problem(comment(world["alice"], ticket["id"], "Looping in Gina.", cc=["bob", "gina"]), 422)
    assert problem["errors"] == [{"field": "cc[1]", "message": "customers CC users of the ticket's organization only"}]
    assert world["gina"].get(f"/v1/tickets/{ticket['id']}").status_code == 404
    # A colleague of the same organization is fine.
    assert comment(world["alice"], ticket["id"], "Looping in Bob.", cc=["bob"]).data["ticket"]["cc"] == ["bob"]


def test_customers_cannot_open_a_ticket_ccing_another_organization(world):
    response = world["alice"].post("/v1/tickets", {"subject": "Help", "description": "d", "cc": ["gina"]})
    problem = assert_problem(response, 422)
    assert [e["field"] for e in problem["errors"]] == ["cc[0]"]
    assert world["gina"].get("/v1/me/tickets").data["items"] == []
    # Agents CC whom they decide.
    on_behalf = {"subject": "Help", "description": "d", "requester_id": "alice", "cc": ["gina"]}
    assert world["agent_all"].post("/v1/tickets", on_behalf).status_code == 201
