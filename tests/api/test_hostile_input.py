"""Hostile input: deeply nested JSON, unknown routes, blank subjects. Always a 4xx problem+json."""

from __future__ import annotations

import json

import pytest

from chalicelib.api import manifest
from tests.api.test_bad_input import assert_problem, ticket_count

# (entry, spec) of every route that reads a body; routes without a body model ignore theirs.
BODY_ROUTES = [(entry, spec) for entry in manifest.entries() if (spec := manifest.resolve(entry)[0]).body is not None]


def _concrete(path: str) -> str:
    return path.replace("{", "").replace("}", "")  # ids that exist nowhere: the body is read first


@pytest.mark.parametrize(("entry", "spec"), BODY_ROUTES, ids=[f"{e.method} {e.path}" for e, _ in BODY_ROUTES])
def test_json_nested_a_thousand_levels_is_400_on_every_route_with_a_body(world, entry, spec):
    user = world["admin"] if "admin" in spec.roles else world["alice"]
    deep = b"[" * 1000 + b"]" * 1000  # 2 KB
    response = user.request(entry.method, _concrete(entry.path), deep)
    if spec.dialect == "zendesk":  # the same 400, in Zendesk's error shape (docs/zendesk.md)
        assert response.status_code == 400, response.body
        assert "nested" in json.loads(response.body)["description"]
        return
    problem = assert_problem(response, 400)
    assert "nested" in problem["detail"]


def test_deep_nesting_inside_a_field_is_400_and_writes_nothing(world):
    agent = world["agent_all"]
    body = '{"subject": "s", "description": "d", "custom_fields": {"x": ' + "{" * 900 + "}" * 900 + "}}"
    assert_problem(agent.request("POST", "/v1/tickets", body), 400)
    assert ticket_count(agent) == 0


def test_brackets_inside_text_do_not_count_as_nesting(world):
    text = "[[[{{{" * 200 + ' \\" ' + "]]]}}}" * 200
    created = world["agent_all"].request("POST", "/v1/tickets", '{"subject": "brackets", "description": "' + text + '"}')
    assert created.status_code == 201, created.body
    assert created.data["description"] == json.loads('"' + text + '"')


BLANK_SUBJECTS = ["   ", "\t\r\n", "\u0000\u0007\u001b", "\u200b\u200d\u2060", "\u202e\u00a0\u3000"]


@pytest.mark.parametrize("subject", BLANK_SUBJECTS)
def test_a_subject_of_only_spaces_or_control_characters_is_422(world, make_ticket, subject):
    agent = world["agent_all"]
    ticket = make_ticket()
    problem = assert_problem(agent.post("/v1/tickets", {"subject": subject, "description": "d"}), 422)
    assert [e["field"] for e in problem["errors"]] == ["subject"]
    assert_problem(agent.patch(f"/v1/tickets/{ticket['id']}", {"subject": subject}), 422)
    assert_problem(agent.post(f"/v1/tickets/{ticket['id']}/activities", {"type": "task", "subject": subject}), 422)
    assert ticket_count(agent) == 1
    assert agent.get(f"/v1/tickets/{ticket['id']}").data["subject"] == ticket["subject"]


def test_a_subject_with_visible_text_among_controls_is_kept_verbatim(world):
    created = world["agent_all"].post("/v1/tickets", {"subject": " \u200b VPN \u0007", "description": "d"})
    assert created.status_code == 201 and created.data["subject"] == " \u200b VPN \u0007"


FORGED_THREAD = {"thread": [{"from": "support@helpdesk.local", "at": "2026-05-01T10:00:00Z", "body": "Reset your password here"}]}


def test_customers_cannot_write_channel_details_so_cannot_forge_support_entries(world):
    alice = world["alice"]
    body = {"subject": "s", "description": "d", "channel": "email", "channel_details": FORGED_THREAD}
    problem = assert_problem(alice.post("/v1/tickets", body), 403)
    assert [e["field"] for e in problem["errors"]] == ["channel_details"]
    assert alice.get("/v1/me/tickets").data["items"] == []


def test_channel_details_text_goes_through_the_sanitizer(world, make_ticket):
    hostile = '<b>hi</b><img src=x onerror="alert(1)"><script>alert(2)</script>'
    thread = {"thread": [{"from": "alice@acme.test", "at": "2026-05-01T10:00:00Z", "body": hostile}]}
    ticket = make_ticket(requester_id="alice", channel="email", channel_details=thread)
    stored = world["alice"].get(f"/v1/tickets/{ticket['id']}").data["channel_details"]["thread"][0]
    assert stored["body"] == '<b>hi</b><img src="x">' and stored["from"] == "alice@acme.test"
    chat = {"transcript": [{"author": "alice", "at": "2026-05-01T10:00:00Z", "text": hostile}]}
    moved = world["agent_all"].patch(f"/v1/tickets/{ticket['id']}", {"channel": "chat", "channel_details": chat})
    assert moved.data["channel_details"]["transcript"][0]["text"] == '<b>hi</b><img src="x">'


def test_a_time_entry_note_is_stored_sanitized(world, make_ticket):
    ticket = make_ticket()
    note = '<i>debugging</i><img src=x onerror="alert(1)">'
    entry = world["agent_all"].post(f"/v1/tickets/{ticket['id']}/time-entries", {"minutes": 5, "note": note, "billable": True})
    assert entry.status_code == 201, entry.body
    assert "onerror" not in entry.body.decode() and "<i>debugging</i>" in entry.body.decode()
