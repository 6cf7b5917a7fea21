"""API fixtures: a chalice.test.Client per role, with tokens minted like real clients get them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.tokens import mint_local_token
from tests.conftest import SECRET


@dataclass
class ApiUser:
    """A chalice test client that sends one user's bearer token."""

    client: Client
    token: str
    user_id: str

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        all_headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json", **(headers or {})}
        raw = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        response = self.client.http.request(method, path, headers=all_headers, body=raw or b"")
        response.data = (
            json.loads(response.body) if response.body and response.headers.get("Content-Type", "").endswith("json") else None
        )
        return response

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, body if body is not None else {}, **kw)

    def patch(self, path: str, body: Any, **kw: Any) -> Any:
        return self.request("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)


@pytest.fixture
def client(aws: None) -> Iterator[Client]:
    from app import app

    with Client(app, stage_name="local") as test_client:
        yield test_client


@pytest.fixture
def login(client: Client) -> Callable[..., ApiUser]:
    def make(user_id: str, role: str, **claims: Any) -> ApiUser:
        token = mint_local_token(sub=user_id, role=role, secret=SECRET, name=claims.pop("name", user_id.title()), **claims)
        return ApiUser(client, token, user_id)

    return make


@pytest.fixture
def admin(login: Callable[..., ApiUser]) -> ApiUser:
    return login("admin-1", "admin")


@pytest.fixture
def world(admin: ApiUser, login: Callable[..., ApiUser]) -> dict[str, Any]:
    """Two organizations, two teams, agents of each access level, customers, known to the directory."""
    for org in ("acme", "globex"):
        assert admin.post("/v1/organizations", {"id": org, "name": org.title()}).status_code == 201
    for team in ("support", "engineering"):
        assert admin.post("/v1/teams", {"id": team, "name": team.title()}).status_code == 201
    users = {
        "agent_all": login("agent-all", "agent", teams=["support"], access="all"),
        "agent_support": login("agent-support", "agent", teams=["support"], access="team"),
        "agent_eng": login("agent-eng", "agent", teams=["engineering"], access="team"),
        "agent_assigned": login("agent-assigned", "agent", teams=[], access="assigned"),
        "alice": login("alice", "customer", org="acme"),
        "bob": login("bob", "customer", org="acme"),
        "acme_admin": login("acme-admin", "customer", org="acme", org_admin=True),
        "gina": login("gina", "customer", org="globex"),
    }
    for user in users.values():  # the first request records each user
        assert user.get("/v1/statuses").status_code == 200
    return {"admin": admin, **users}


@pytest.fixture
def make_ticket(world: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    def make(as_user: str = "agent_all", **overrides: Any) -> dict[str, Any]:
        body = {"subject": "Printer on fire", "description": "It is really on fire.", **overrides}
        response = world[as_user].post("/v1/tickets", body)
        assert response.status_code == 201, response.body
        return response.data

    return make
