"""Events for every change (issue 11): every write route of routes.txt declares the event it
produces (chalicelib/api/route_events.py), and the routes write exactly those into the outbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.api.route_events import NO_EVENT, ROUTE_EVENTS
from chalicelib.domain.events import EXTENSION_TYPES, TYPES
from tests.api.test_record_actions_more import BUCKET, bucket  # noqa: F401 (fixture)
from tests.conftest import TABLE

ROUTES = Path(__file__).resolve().parents[2] / "chalicelib" / "api" / "routes.txt"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def write_routes() -> list[str]:
    routes = []
    for line in ROUTES.read_text().splitlines():
        fields = line.split()
        if fields and fields[0] in WRITES:
            routes.append(f"{fields[0]} {fields[1]}")
    return routes


def test_every_write_route_declares_the_event_it_produces():
    routes = write_routes()
    assert len(routes) > 50
    missing = [r for r in routes if r not in ROUTE_EVENTS and r not in NO_EVENT]
    assert missing == [], f"write routes without an event type: {missing}"
    assert sorted(set(ROUTE_EVENTS) | set(NO_EVENT)) == sorted(routes)  # no row for a route that is gone
    known = set(TYPES) | set(EXTENSION_TYPES)
    assert {t for types in ROUTE_EVENTS.values() for t in types} <= known


class Outbox:
    """The event items committed so far (the `EVENTS` partition), read directly."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def new_types(self) -> list[str]:
        pages = (
            boto3.client("dynamodb")
            .get_paginator("query")
            .paginate(TableName=TABLE, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": "EVENTS"}})
        )
        fresh = [item for page in pages for item in page["Items"] if item["SK"]["S"] not in self.seen]
        self.seen |= {item["SK"]["S"] for item in fresh}
        return sorted(item["type"]["S"] for item in fresh)


def test_each_write_route_emits_the_event_it_declares(world, make_ticket, bucket):  # noqa: F811
    admin, agent = world["admin"], world["agent_all"]
    ticket = make_ticket(requester_id="alice")["id"]
    t = f"/v1/tickets/{ticket}"
    outbox = Outbox()
    outbox.new_types()
    made: dict[str, Any] = {}
    automation = {
        "name": "Tag it",
        "trigger": {"event": "ticket.created"},
        "conditions": {},
        "actions": [{"type": "add_tags", "tags": ["seen"]}],
    }

    def remember(key: str) -> Callable[[Any], None]:
        return lambda response: made.__setitem__(key, response.data["id"])

    calls: list[tuple[str, str, Callable[[], Any], Callable[[Any], None] | None]] = [
        ("POST", f"{t}/activities", lambda: agent.post(f"{t}/activities", {"type": "note", "body": "Called"}), remember("a")),
        ("PATCH", f"{t}/activities/{{activity_id}}", lambda: agent.patch(f"{t}/activities/{made['a']}", {"pinned": True}), None),
        (
            "POST",
            f"{t}/activities/{{activity_id}}/comments",
            lambda: agent.post(f"{t}/activities/{made['a']}/comments", {"body": "noted"}),
            None,
        ),
        ("DELETE", f"{t}/activities/{{activity_id}}", lambda: agent.delete(f"{t}/activities/{made['a']}"), None),
        ("POST", f"{t}/activities/{{activity_id}}/restore", lambda: agent.post(f"{t}/activities/{made['a']}/restore"), None),
        (
            "POST",
            f"{t}/attachments",
            lambda: agent.post(f"{t}/attachments", {"filename": "log.txt", "content_type": "text/plain", "size": 3}),
            lambda r: made.update(att=r.data["id"], key=r.data["upload_fields"]["key"]),
        ),
        (
            "POST",
            f"{t}/attachments/{{attachment_id}}/confirm",
            lambda: (
                boto3.client("s3").put_object(Bucket=BUCKET, Key=made["key"], Body=b"abc", ContentType="text/plain"),
                agent.post(f"{t}/attachments/{made['att']}/confirm"),
            )[1],
            None,
        ),
        ("PUT", f"{t}/followers/me", lambda: agent.request("PUT", f"{t}/followers/me"), None),
        ("POST", "/v1/teams", lambda: admin.post("/v1/teams", {"id": "billing", "name": "Billing"}), None),
        ("PATCH", "/v1/teams/{entry_id}", lambda: admin.patch("/v1/teams/billing", {"name": "Billing & Co"}), None),
        ("DELETE", "/v1/teams/{entry_id}", lambda: admin.delete("/v1/teams/billing"), None),
        ("PATCH", "/v1/me", lambda: agent.patch("/v1/me", {"availability": "away"}), None),
        ("PUT", "/v1/settings", lambda: admin.request("PUT", "/v1/settings", {"default_reply_visibility": "internal"}), None),
        ("POST", "/v1/views", lambda: agent.post("/v1/views", {"name": "Mine", "filters": {}}), remember("v")),
        ("PATCH", "/v1/views/{view_id}", lambda: agent.patch(f"/v1/views/{made['v']}", {"name": "Ours"}), None),
        ("DELETE", "/v1/views/{view_id}", lambda: agent.delete(f"/v1/views/{made['v']}"), None),
        (
            "POST",
            "/v1/routing-rules",
            lambda: admin.post("/v1/routing-rules", {"name": "R", "team_id": "support"}),
            remember("r"),
        ),
        ("DELETE", "/v1/routing-rules/{rule_id}", lambda: admin.delete(f"/v1/routing-rules/{made['r']}"), None),
        ("POST", "/v1/templates", lambda: admin.post("/v1/templates", {"name": "Hi", "body": "Hello"}), None),
        ("POST", "/v1/automations", lambda: admin.post("/v1/automations", automation), remember("au")),
        (
            "PATCH",
            "/v1/automations/{automation_id}",
            lambda: admin.patch(f"/v1/automations/{made['au']}", {"active": False}),
            None,
        ),
        ("DELETE", "/v1/automations/{automation_id}", lambda: admin.delete(f"/v1/automations/{made['au']}"), None),
        (
            "POST",
            "/api/v2/tickets.json",
            lambda: agent.post("/api/v2/tickets.json", {"ticket": {"subject": "Z", "comment": {"body": "z"}}}),
            lambda r: made.__setitem__("z", json.loads(r.body)["ticket"]["id"]),
        ),
        (
            "PUT",
            "/api/v2/tickets/{ticket_file}",
            lambda: agent.request("PUT", f"/api/v2/tickets/{made['z']}.json", {"ticket": {"comment": {"body": "reply"}}}),
            None,
        ),
    ]
    for method, path, call, keep in calls:
        route = f"{method} {path.replace(t, '/v1/tickets/{ticket_id}')}"
        response = call()
        assert response.status_code < 300, (route, response.status_code, response.body)
        if keep is not None:
            keep(response)
        emitted = outbox.new_types()
        assert emitted, f"{route} wrote no event"
        assert set(emitted) <= set(ROUTE_EVENTS[route]), (route, emitted)


def test_a_refused_change_of_a_directory_entry_writes_no_event(world):
    admin = world["admin"]
    outbox = Outbox()
    outbox.new_types()
    assert admin.post("/v1/teams", {"id": "support", "name": "Again"}).status_code == 409
    assert admin.patch("/v1/teams/support", {"name": "x"}, headers={"If-Match": '"9"'}).status_code == 412
    assert outbox.new_types() == []


@pytest.mark.parametrize("route", sorted(NO_EVENT))
def test_routes_without_an_event_say_why(route):
    assert len(NO_EVENT[route]) > 20
