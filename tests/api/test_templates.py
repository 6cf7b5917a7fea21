"""Quick-reply templates (/v1/templates) and the workspace settings (/v1/settings)."""

from __future__ import annotations

import pytest

from tests.api.test_bad_input import assert_problem


@pytest.fixture
def template(world):
    body = "Hi {{ requester.name }}, about ticket #{{ticket.number}}: fixed. — {{ agent.name }}"
    response = world["admin"].post("/v1/templates", {"name": "Fixed", "body": body})
    assert response.status_code == 201, response.body
    return response.data


def test_admins_manage_templates_and_agents_read_them(world, template):
    admin, agent = world["admin"], world["agent_all"]
    path = f"/v1/templates/{template['id']}"
    assert agent.get(path).data["name"] == "Fixed"
    assert [t["id"] for t in agent.get("/v1/templates").data["items"]] == [template["id"]]
    changed = admin.patch(path, {"name": "Resolved"}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.data["name"] == "Resolved" and changed.data["body"] == template["body"]
    assert_problem(admin.patch(path, {"name": "stale"}, headers={"If-Match": '"1"'}), 412)
    assert_problem(agent.post("/v1/templates", {"name": "x", "body": "y"}), 403)
    assert_problem(agent.patch(path, {"name": "x"}), 403)
    assert_problem(world["alice"].get("/v1/templates"), 403)
    assert admin.delete(path).status_code == 204
    assert_problem(agent.get(path), 404)


def test_rendering_fills_placeholders_for_a_ticket(world, make_ticket, template, login):
    ticket = make_ticket(requester_id="alice")
    rendered = world["agent_all"].get(f"/v1/templates/{template['id']}/render?ticket_id={ticket['id']}")
    assert rendered.status_code == 200, rendered.body
    assert rendered.data == {
        "body": f"Hi Alice, about ticket #{ticket['number']}: fixed. — Agent-All",
        "visibility": "public",
    }
    assert_problem(world["agent_eng"].get(f"/v1/templates/{template['id']}/render?ticket_id=nope"), 404)


def test_placeholder_values_are_data_not_code(world, make_ticket, template, login):
    mallory = login("mallory", "customer", org="acme", name="{{ agent.name }}<img src=x onerror=alert(1)>")
    assert mallory.get("/v1/statuses").status_code == 200  # recorded with that name
    ticket = make_ticket(requester_id="mallory")
    body = world["agent_all"].get(f"/v1/templates/{template['id']}/render?ticket_id={ticket['id']}").data["body"]
    assert body.startswith("Hi {{ agent.name }}&lt;img src=x onerror=alert(1)&gt;, about")


@pytest.mark.parametrize(
    "body", ["{{ ticket.secret }}", "{{ 7*7 }}", "{{ config.__class__.__init__.__globals__ }}", "{{ requester.name|upper }}"]
)
def test_unknown_placeholders_are_422_at_creation(world, body):
    problem = assert_problem(world["admin"].post("/v1/templates", {"name": "bad", "body": body}), 422)
    assert problem["errors"][0]["field"] == "body"


def test_template_bodies_are_sanitized(world):
    created = world["admin"].post("/v1/templates", {"name": "x", "body": "Hello <script>alert(1)</script>{{ agent.name }}"})
    assert created.data["body"] == "Hello {{ agent.name }}"


def test_default_reply_visibility_is_an_admin_setting(world):
    admin, agent = world["admin"], world["agent_all"]
    assert agent.get("/v1/settings").data == {"default_reply_visibility": "public"}
    assert_problem(agent.request("PUT", "/v1/settings", {"default_reply_visibility": "internal"}), 403)
    assert_problem(world["alice"].get("/v1/settings"), 403)
    assert_problem(admin.request("PUT", "/v1/settings", {"default_reply_visibility": "secret"}), 422)
    assert admin.request("PUT", "/v1/settings", {"default_reply_visibility": "internal"}).status_code == 200
    assert agent.get("/v1/settings").data == {"default_reply_visibility": "internal"}
    assert admin.request("PUT", "/v1/settings", {"default_reply_visibility": "public"}).status_code == 200
    assert admin.get("/v1/settings").data == {"default_reply_visibility": "public"}
