"""Bad input always answers a clear 4xx problem+json, never a 500, and writes nothing."""

from __future__ import annotations

import json

import pytest


def assert_problem(response, status):
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    body = json.loads(response.body)
    assert set(body) == {"type", "title", "status", "detail", "errors"}
    assert body["status"] == status
    return body


def ticket_count(agent):
    return len(agent.get("/v1/tickets?limit=100").data["items"])


def test_malformed_json_is_400(world):
    agent = world["agent_all"]
    for raw in (b"{", b'{"subject": }', b"\xff\xfe", b"[1, 2", b"nul"):
        assert_problem(agent.request("POST", "/v1/tickets", raw), 400)
    assert ticket_count(agent) == 0


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"description": "no subject"}, {"subject"}),
        ({"subject": "", "description": "x"}, {"subject"}),
        ({"subject": "x" * 251, "description": "x"}, {"subject"}),
        ({"subject": "x", "description": "x", "priority": "sky-high"}, {"priority"}),
        ({"subject": "x", "description": "x", "type": 7}, {"type"}),
        ({"subject": 123, "description": "x"}, {"subject"}),
        ({"subject": "x", "description": "x", "unknown_field": 1}, {"unknown_field"}),
        ({"subject": "x", "description": "x", "tags": "not-a-list"}, {"tags"}),
        ({"subject": "x", "description": "x", "tags": ["ok"] * 16}, {"tags"}),
        ({"subject": "x", "description": "x", "team_id": "../../etc"}, {"team_id"}),
        ({"subject": "x", "description": "x", "custom_fields": {"Bad Key": 1}}, {"custom_fields.Bad Key.[key]"}),
        ([1, 2, 3], {"body"}),
        ("just a string", {"body"}),
    ],
)
def test_invalid_ticket_bodies_are_422_with_field_errors(world, body, fields):
    agent = world["agent_all"]
    problem = assert_problem(agent.request("POST", "/v1/tickets", json.dumps(body)), 422)
    assert {e["field"] for e in problem["errors"]} == fields
    assert ticket_count(agent) == 0


def test_null_for_a_required_property_in_patch_is_422(world, make_ticket):
    ticket = make_ticket()
    problem = assert_problem(world["agent_all"].patch(f"/v1/tickets/{ticket['id']}", {"subject": None}), 422)
    assert problem["errors"][0]["field"] == "subject"


def test_null_clears_an_optional_property(world, make_ticket):
    ticket = make_ticket(team_id="support")
    response = world["agent_all"].patch(f"/v1/tickets/{ticket['id']}", {"team_id": None})
    assert response.status_code == 200 and response.data["team_id"] is None


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "sort=subject", "priority=meh", "bogus=1"])
def test_invalid_list_queries_are_422(world, query):
    assert_problem(world["agent_all"].get(f"/v1/tickets?{query}"), 422)


@pytest.mark.parametrize("ticket_id", ["x" * 200, "a%20b", "..", "%00"])
def test_malformed_ids_are_404_not_500(world, ticket_id):
    assert_problem(world["agent_all"].get(f"/v1/tickets/{ticket_id}"), 404)


def test_unknown_ticket_is_404(world):
    assert_problem(world["agent_all"].get("/v1/tickets/0123456789abcdef0123456789abcdef"), 404)


def test_oversize_body_is_413_and_writes_nothing(world):
    agent = world["agent_all"]
    body = json.dumps({"subject": "big", "description": "x" * (1024 * 1024)})
    assert_problem(agent.request("POST", "/v1/tickets", body), 413)
    assert ticket_count(agent) == 0


def test_too_long_description_is_422(world):
    assert_problem(world["agent_all"].post("/v1/tickets", {"subject": "x", "description": "x" * 65_537}), 422)


def test_wrong_role_is_403_problem(world):
    assert_problem(world["alice"].get("/v1/users"), 403)
    assert_problem(world["agent_all"].post("/v1/teams", {"name": "Sneaky"}), 403)


def test_unicode_and_hostile_text_round_trips_verbatim(world):
    agent = world["agent_all"]
    subject = "Ünïcødé 🎫 <script>alert(1)</script> '; DROP TABLE tickets; --"
    created = agent.post("/v1/tickets", {"subject": subject, "description": "\u0000 nul and \u202e rtl"})
    assert created.status_code == 201
    assert agent.get(f"/v1/tickets/{created.data['id']}").data["subject"] == subject


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "application/xml", "text/plain", "multipart/form-data; boundary=x"]
)
def test_non_json_bodies_are_415_problems(world, content_type):
    agent = world["agent_all"]
    body = json.dumps({"subject": "s", "description": "d"})
    assert_problem(agent.request("POST", "/v1/tickets", body, headers={"Content-Type": content_type}), 415)
    assert ticket_count(agent) == 0


def test_json_with_a_charset_is_accepted(world):
    body = json.dumps({"subject": "s", "description": "d"})
    response = world["agent_all"].request(
        "POST", "/v1/tickets", body, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert response.status_code == 201
