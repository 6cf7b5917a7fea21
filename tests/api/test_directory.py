"""Admin collections: users, organizations, teams."""

from __future__ import annotations

import pytest


def test_admin_manages_users_and_roles_are_enforced(world):
    admin = world["admin"]
    created = admin.post(
        "/v1/users",
        {"id": "carol", "name": "Carol", "email": "carol@acme.test", "role": "customer", "organization_id": "acme"},
    )
    assert created.status_code == 201, created.body
    assert created.data["organization_id"] == "acme"
    assert admin.post("/v1/users", {"id": "carol", "name": "C", "email": "c@x.test", "role": "customer"}).status_code == 409
    renamed = admin.patch("/v1/users/carol", {"name": "Carol Smith"}, headers={"If-Match": '"1"'})
    assert renamed.status_code == 200 and renamed.data["name"] == "Carol Smith"
    assert admin.patch("/v1/users/carol", {"name": "Stale"}, headers={"If-Match": '"1"'}).status_code == 412
    assert world["agent_all"].get("/v1/users/carol").status_code == 200
    assert world["agent_all"].patch("/v1/users/carol", {"name": "x"}).status_code == 403
    assert world["alice"].get("/v1/users/carol").status_code == 403
    assert admin.delete("/v1/users/carol").status_code == 204
    assert admin.get("/v1/users/carol").status_code == 404


def test_user_references_must_exist(world):
    response = world["admin"].post(
        "/v1/users",
        {"name": "D", "email": "d@x.test", "role": "agent", "team_ids": ["support", "nope"], "organization_id": "ghost"},
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.data["errors"]} == {"team_ids[1]", "organization_id"}


def test_token_users_are_recorded_on_first_request(world):
    users = {u["id"]: u for u in world["admin"].get("/v1/users?limit=100").data["items"]}
    assert users["alice"]["organization_id"] == "acme" and users["alice"]["role"] == "customer"
    assert users["agent-support"]["team_ids"] == ["support"] and users["agent-support"]["access"] == "team"


def test_collections_page_with_cursors(world):
    admin = world["admin"]
    for i in range(5):
        assert admin.post("/v1/teams", {"id": f"team-{i}", "name": f"Team {i}"}).status_code == 201
    seen, cursor = [], None
    while True:
        page = admin.get("/v1/teams?limit=2" + (f"&cursor={cursor}" if cursor else "")).data
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(["support", "engineering", *(f"team-{i}" for i in range(5))])


def test_organizations_crud(world):
    admin = world["admin"]
    created = admin.post("/v1/organizations", {"name": "Initech", "domains": ["initech.test"]})
    assert created.status_code == 201
    org_id = created.data["id"]
    assert admin.get(f"/v1/organizations/{org_id}").data["domains"] == ["initech.test"]
    assert admin.patch(f"/v1/organizations/{org_id}", {"domains": []}).data["domains"] == []
    assert admin.delete(f"/v1/organizations/{org_id}").status_code == 204
    assert admin.delete(f"/v1/organizations/{org_id}").status_code == 404


@pytest.mark.parametrize(
    ("path", "field"), [("/v1/users/alice", "name"), ("/v1/teams/support", "name"), ("/v1/users/alice", "role")]
)
def test_null_for_a_required_directory_field_is_a_422_not_a_500(world, path, field):
    response = world["admin"].patch(path, {field: None})
    assert response.status_code == 422, response.body
    assert response.data["errors"] == [{"field": field, "message": "may not be null"}]
    assert world["admin"].get(path).data[field] is not None


# -- the directory is the authority once a user exists (API.md, Authentication) -------------


def test_an_admins_demotion_applies_from_the_next_request_whatever_the_token_says(world, make_ticket):
    admin, agent = world["admin"], world["agent_all"]
    ticket = make_ticket(requester_id="gina", team_id="engineering")
    assert agent.get(f"/v1/tickets/{ticket['id']}").status_code == 200
    demoted = admin.patch("/v1/users/agent-all", {"access": "team"})
    assert demoted.status_code == 200, demoted.body

    assert agent.get(f"/v1/tickets/{ticket['id']}").status_code == 404
    assert agent.get("/v1/events").status_code == 403
    # and the same old token does not write its claims back over the record
    assert admin.get("/v1/users/agent-all").data["access"] == "team"


def test_a_demoted_admin_loses_admin_routes_at_once(world, login):
    boss = login("boss", "admin")
    assert boss.get("/v1/users").status_code == 200
    assert world["admin"].patch("/v1/users/boss", {"role": "customer"}).status_code == 200

    assert boss.get("/v1/users").status_code == 403
    assert boss.post("/v1/teams", {"id": "coup", "name": "Coup"}).status_code == 403
    assert world["admin"].get("/v1/users/boss").data["role"] == "customer"


def test_team_changes_by_an_admin_apply_to_the_next_request(world, make_ticket):
    support_agent = world["agent_support"]
    ticket = make_ticket(requester_id="alice", team_id="engineering")
    assert support_agent.get(f"/v1/tickets/{ticket['id']}").status_code == 404
    assert world["admin"].patch("/v1/users/agent-support", {"team_ids": ["engineering"]}).status_code == 200

    assert support_agent.get(f"/v1/tickets/{ticket['id']}").status_code == 200


def test_moving_a_customer_to_another_organization_applies_at_once(world, make_ticket):
    ticket = make_ticket(requester_id="bob")
    acme_admin = world["acme_admin"]
    assert acme_admin.get(f"/v1/tickets/{ticket['id']}").status_code == 200
    assert world["admin"].patch("/v1/users/acme-admin", {"organization_id": "globex"}).status_code == 200

    assert acme_admin.get(f"/v1/tickets/{ticket['id']}").status_code == 404


def test_a_deleted_user_gets_401_and_their_token_does_not_recreate_them(world):
    admin, alice = world["admin"], world["alice"]
    assert admin.delete("/v1/users/alice").status_code == 204

    response = alice.get("/v1/statuses")
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert alice.get("/v1/me/tickets").status_code == 401
    assert admin.get("/v1/users/alice").status_code == 404


def test_a_user_an_admin_creates_again_after_deleting_is_let_in(world):
    admin, alice = world["admin"], world["alice"]
    assert admin.delete("/v1/users/alice").status_code == 204
    recreated = admin.post(
        "/v1/users", {"id": "alice", "name": "Alice", "email": "a@acme.test", "role": "customer", "organization_id": "acme"}
    )
    assert recreated.status_code == 201, recreated.body

    assert alice.get("/v1/me/tickets").status_code == 200


def test_a_disabled_user_gets_403_on_every_route_from_the_next_request(world, make_ticket):
    ticket = make_ticket(requester_id="alice")
    alice = world["alice"]
    disabled = world["admin"].patch("/v1/users/alice", {"disabled": True})
    assert disabled.status_code == 200 and disabled.data["disabled"] is True

    assert alice.get(f"/v1/tickets/{ticket['id']}").status_code == 403
    assert alice.post(f"/v1/tickets/{ticket['id']}/comments", {"body": "still here?"}).status_code == 403
    assert world["admin"].patch("/v1/users/alice", {"disabled": False}).status_code == 200
    assert alice.get(f"/v1/tickets/{ticket['id']}").status_code == 200
