"""Injected AWS failures at every call site of every route: never a 500, never a partial write.

For each route of `chalicelib.api.manifest.all_routes()` a clean run records the AWS calls it makes and
what it writes (as key shapes). Then each call is failed in turn with every fault worth trying
there (`injection.faults_for`). The answer must be a problem+json 429 (throttling), 503 (service
error) or 409 (transaction conflict) with `Retry-After`, and the table must hold nothing of the
change; or, if the app absorbed the fault (it retried), the same answer and the same writes as
the clean run. Routes without a hand-written scenario get a generic one (path ids of fresh
records, a body built from the schema's required fields), so new routes are covered as they land.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib.api.manifest import all_routes
from chalicelib.api.routing import RouteSpec
from tests.api.conftest import ApiUser
from tests.faults.conftest import FaultStack
from tests.faults.injection import Call, Fault, Injector, diff, faults_for, partitions, snapshot

ALLOWED = {"throttled": {429}, "unavailable": {503}, "conflict": {409, 503}}


@dataclass
class Case:
    """One request, prepared on fresh data."""

    user: ApiUser
    method: str
    path: str
    body: Any = None
    records: set[str] = field(default_factory=set)  # TICKET#… / ESC#… partitions it may change
    settle: Callable[[Any], None] | None = None  # waits for asynchronous writes of a success

    def send(self) -> Any:
        headers = {"Idempotency-Key": uuid.uuid4().hex} if self.method == "POST" else {}
        body = self.body if self.body is not None else ({} if self.method in ("POST", "PUT", "PATCH") else None)
        return self.user.request(self.method, self.path, body, headers=headers)


class World:
    """Makes fresh records through the API (never under injection)."""

    def __init__(self, users: dict[str, ApiUser], stack: FaultStack) -> None:
        self.users = users
        self.stack = stack
        self.agent = users["agent"]
        self.admin = users["admin"]
        self.alice = users["alice"]

    def ok(self, response: Any, *statuses: int) -> Any:
        assert response.status_code in (statuses or (200, 201, 202, 204)), response.body
        return response.data

    def ticket(self, **overrides: Any) -> dict[str, Any]:
        body = {"subject": "Printer on fire", "description": "It is really on fire.", "requester_id": "alice", **overrides}
        return self.ok(self.agent.post("/v1/tickets", body))

    def note(self, ticket_id: str) -> dict[str, Any]:
        return self.ok(self.agent.post(f"/v1/tickets/{ticket_id}/activities", {"type": "note", "body": "looked at it"}))

    def escalation(self, ticket_id: str) -> dict[str, Any]:
        escalation = self.ok(self.agent.post(f"/v1/tickets/{ticket_id}/escalations", {"description": "Sync loses rows"}))
        self.start_run(escalation["id"])
        self.waiting(escalation["id"], "submitted")
        return escalation

    def start_run(self, escalation_id: str) -> None:
        """What the ticket stream does for the escalation item's INSERT: start its workflow."""
        from chalicelib import composition

        table = boto3.client("dynamodb", endpoint_url=self.stack.endpoint)
        item = table.get_item(
            TableName=self.stack.table, Key={"PK": {"S": f"ESC#{escalation_id}"}, "SK": {"S": "ESC"}}, ConsistentRead=True
        )["Item"]
        record = {"eventName": "INSERT", "dynamodb": {"NewImage": item}}
        assert composition.escalation_starter().start_for(record) == escalation_id

    def move(self, escalation_id: str, to: str) -> None:
        self.ok(self.agent.post(f"/v1/escalations/{escalation_id}/transitions", {"to": to}))
        self.waiting(escalation_id, to)

    def waiting(self, escalation_id: str, stage: str, timeout: float = 90) -> None:
        """Until the workflow waits in `stage` (it stored its task token), bounded."""
        table = boto3.client("dynamodb", endpoint_url=self.stack.endpoint)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            raw = table.get_item(
                TableName=self.stack.table, Key={"PK": {"S": f"ESC#{escalation_id}"}, "SK": {"S": "ESC"}}, ConsistentRead=True
            ).get("Item", {})
            if (
                raw.get("stage", {}).get("S") == stage
                and raw.get("task_stage", {}).get("S") == stage
                and "task_token" in raw
                and "claim_id" not in raw
            ):
                return
            time.sleep(0.02)
        raise AssertionError(f"{escalation_id} never waited in {stage}")

    def template(self) -> dict[str, Any]:
        return self.ok(
            self.admin.post("/v1/templates", {"name": f"t-{uuid.uuid4().hex[:8]}", "body": "Hello {{ requester.name }}"})
        )

    def attachment(self, ticket_id: str) -> dict[str, Any]:
        body = {"filename": "log.txt", "content_type": "text/plain", "size": 10}
        return self.ok(self.agent.post(f"/v1/tickets/{ticket_id}/attachments", body))


# -- hand-written scenarios: the state each route needs to succeed --------------------------
Scenario = Callable[[World], Case]
SCENARIOS: dict[str, Scenario] = {}


def scenario(method: str, path: str) -> Callable[[Scenario], Scenario]:
    def register(make: Scenario) -> Scenario:
        SCENARIOS[f"{method} {path}"] = make
        return make

    return register


def _t(ticket: dict[str, Any]) -> str:
    return f"TICKET#{ticket['id']}"


@scenario("POST", "/v1/tickets")
def _create(w: World) -> Case:
    return Case(w.agent, "POST", "/v1/tickets", {"subject": "new", "description": "d", "tags": ["a"], "team_id": "support"})


@scenario("PATCH", "/v1/tickets/{ticket_id}")
def _patch(w: World) -> Case:
    t = w.ticket()
    body = {"priority": "high", "tags": ["x", "y"], "assignee_id": "agent-1", "status": "pending"}
    return Case(w.agent, "PATCH", f"/v1/tickets/{t['id']}", body, {_t(t)})


@scenario("DELETE", "/v1/tickets/{ticket_id}")
def _delete(w: World) -> Case:
    t = w.ticket()
    return Case(w.agent, "DELETE", f"/v1/tickets/{t['id']}", None, {_t(t)})


@scenario("POST", "/v1/tickets/{ticket_id}/restore")
def _restore(w: World) -> Case:
    t = w.ticket()
    w.ok(w.agent.delete(f"/v1/tickets/{t['id']}"))
    return Case(w.agent, "POST", f"/v1/tickets/{t['id']}/restore", None, {_t(t)})


@scenario("POST", "/v1/tickets/{ticket_id}/comments")
def _comment(w: World) -> Case:
    t = w.ticket()
    return Case(
        w.agent, "POST", f"/v1/tickets/{t['id']}/comments", {"body": "Fixed?", "status": "pending", "cc": ["admin-1"]}, {_t(t)}
    )


@scenario("POST", "/v1/tickets/{ticket_id}/activities")
def _activity(w: World) -> Case:
    t = w.ticket()
    body = {"type": "call", "body": "Walked through it", "duration_seconds": 60, "outcome": "connected"}
    return Case(w.agent, "POST", f"/v1/tickets/{t['id']}/activities", body, {_t(t)})


@scenario("PATCH", "/v1/tickets/{ticket_id}/activities/{activity_id}")
def _activity_patch(w: World) -> Case:
    t = w.ticket()
    a = w.note(t["id"])
    return Case(w.agent, "PATCH", f"/v1/tickets/{t['id']}/activities/{a['id']}", {"pinned": True, "body": "edited"}, {_t(t)})


@scenario("DELETE", "/v1/tickets/{ticket_id}/activities/{activity_id}")
def _activity_delete(w: World) -> Case:
    t = w.ticket()
    a = w.note(t["id"])
    return Case(w.agent, "DELETE", f"/v1/tickets/{t['id']}/activities/{a['id']}", None, {_t(t)})


@scenario("POST", "/v1/tickets/{ticket_id}/activities/{activity_id}/restore")
def _activity_restore(w: World) -> Case:
    t = w.ticket()
    a = w.note(t["id"])
    w.ok(w.agent.delete(f"/v1/tickets/{t['id']}/activities/{a['id']}"))
    return Case(w.agent, "POST", f"/v1/tickets/{t['id']}/activities/{a['id']}/restore", None, {_t(t)})


@scenario("POST", "/v1/tickets/{ticket_id}/activities/{activity_id}/comments")
def _activity_comment(w: World) -> Case:
    t = w.ticket()
    a = w.note(t["id"])
    return Case(w.agent, "POST", f"/v1/tickets/{t['id']}/activities/{a['id']}/comments", {"body": "agreed"}, {_t(t)})


@scenario("PUT", "/v1/tickets/{ticket_id}/followers/me")
def _follow(w: World) -> Case:
    t = w.ticket()
    return Case(w.admin, "PUT", f"/v1/tickets/{t['id']}/followers/me", None, {_t(t)})


@scenario("DELETE", "/v1/tickets/{ticket_id}/followers/me")
def _unfollow(w: World) -> Case:
    t = w.ticket()
    w.ok(w.admin.request("PUT", f"/v1/tickets/{t['id']}/followers/me", {}))
    return Case(w.admin, "DELETE", f"/v1/tickets/{t['id']}/followers/me", None, {_t(t)})


@scenario("POST", "/v1/tickets/{ticket_id}/close")
def _close(w: World) -> Case:
    t = w.ticket()
    return Case(w.agent, "POST", f"/v1/tickets/{t['id']}/close", None, {_t(t)})


@scenario("POST", "/v1/tickets/{ticket_id}/feedback")
def _feedback(w: World) -> Case:
    t = w.ticket()
    w.ok(w.agent.post(f"/v1/tickets/{t['id']}/close"))
    return Case(w.alice, "POST", f"/v1/tickets/{t['id']}/feedback", {"rating": 4, "comment": "quick"}, {_t(t)})


@scenario("POST", "/v1/tickets/{ticket_id}/links")
def _link(w: World) -> Case:
    t, other = w.ticket(), w.ticket()
    return Case(w.agent, "POST", f"/v1/tickets/{t['id']}/links", {"ticket_id": other["id"]}, {_t(t), _t(other)})


@scenario("DELETE", "/v1/tickets/{ticket_id}/links/{other_id}")
def _unlink(w: World) -> Case:
    t, other = w.ticket(), w.ticket()
    w.ok(w.agent.post(f"/v1/tickets/{t['id']}/links", {"ticket_id": other["id"]}))
    return Case(w.agent, "DELETE", f"/v1/tickets/{t['id']}/links/{other['id']}", None, {_t(t), _t(other)})


@scenario("POST", "/v1/tickets/{ticket_id}/merge")
def _merge(w: World) -> Case:
    # Same organization: a merge across organizations is a 409 unless an admin forces it.
    t, source = w.ticket(), w.ticket(requester_id="admin-1", organization_id="acme")
    w.ok(w.agent.post(f"/v1/tickets/{source['id']}/comments", {"body": "same problem"}))
    return Case(w.agent, "POST", f"/v1/tickets/{t['id']}/merge", {"source_id": source["id"]}, {_t(t), _t(source)})


@scenario("PUT", "/v1/tickets/{ticket_id}/proxy-access")
def _proxy(w: World) -> Case:
    t = w.ticket()
    return Case(w.alice, "PUT", f"/v1/tickets/{t['id']}/proxy-access", {"enabled": True}, {_t(t)})


@scenario("POST", "/v1/tickets/{ticket_id}/time-entries")
def _time(w: World) -> Case:
    t = w.ticket()
    return Case(w.agent, "POST", f"/v1/tickets/{t['id']}/time-entries", {"minutes": 25, "note": "debugging"}, {_t(t)})


@scenario("POST", "/v1/tickets/{ticket_id}/attachments")
def _attach(w: World) -> Case:
    t = w.ticket()
    body = {"filename": "log.txt", "content_type": "text/plain", "size": 10}
    return Case(w.agent, "POST", f"/v1/tickets/{t['id']}/attachments", body, {_t(t)})


@scenario("POST", "/v1/tickets/{ticket_id}/escalations")
def _escalate(w: World) -> Case:
    t = w.ticket()

    def settle(response: Any) -> None:
        w.start_run(response.data["id"])  # the ticket stream starts the workflow
        w.waiting(response.data["id"], "submitted")

    # The escalation's own partition is new: snapshots pick up new partitions by themselves.
    return Case(w.agent, "POST", f"/v1/tickets/{t['id']}/escalations", {"description": "Crash on export"}, {_t(t)}, settle)


@scenario("POST", "/v1/tickets/{ticket_id}/attachments/{attachment_id}/confirm")
def _confirm_upload(w: World) -> Case:
    t = w.ticket()
    made = w.agent.post(f"/v1/tickets/{t['id']}/attachments", {"filename": "log.txt", "content_type": "text/plain", "size": 10})
    assert made.status_code == 201, made.body
    from chalicelib import composition

    bucket, key = composition.settings().attachments_bucket, made.data["upload_fields"]["key"]
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=b"0123456789", ContentType="text/plain")
    return Case(w.agent, "POST", f"/v1/tickets/{t['id']}/attachments/{made.data['id']}/confirm", None, {_t(t)})


@scenario("POST", "/v1/escalations/{escalation_id}/transitions")
def _transition(w: World) -> Case:
    t = w.ticket()
    e = w.escalation(t["id"])

    def settle(response: Any) -> None:
        w.waiting(e["id"], "review")

    body = {"to": "review", "note": "Reproduced", "estimated_resolution_date": "2030-01-31"}
    return Case(w.agent, "POST", f"/v1/escalations/{e['id']}/transitions", body, {_t(t), f"ESC#{e['id']}"}, settle)


@scenario("POST", "/v1/escalations/{escalation_id}/verification")
def _verification(w: World) -> Case:
    t = w.ticket()
    e = w.escalation(t["id"])
    for stage in ("review", "engineering", "verification"):
        w.move(e["id"], stage)

    def settle(response: Any) -> None:
        w.waiting(e["id"], "engineering")

    body = {"confirmed": False, "comment": "still broken"}
    return Case(w.alice, "POST", f"/v1/escalations/{e['id']}/verification", body, {_t(t), f"ESC#{e['id']}"}, settle)


@scenario("POST", "/v1/users")
def _user(w: World) -> Case:
    body = {
        "id": f"u-{uuid.uuid4().hex[:8]}",
        "name": "New",
        "email": "new@example.com",
        "role": "customer",
        "organization_id": "acme",
    }
    return Case(w.admin, "POST", "/v1/users", body)


@scenario("POST", "/v1/statuses")
def _status(w: World) -> Case:
    return Case(w.admin, "POST", "/v1/statuses", {"name": f"s_{uuid.uuid4().hex[:8]}", "category": "pending"})


@scenario("PUT", "/v1/settings")
def _settings(w: World) -> Case:
    current = w.ok(w.admin.get("/v1/settings"))["default_reply_visibility"]
    flipped = "internal" if current == "public" else "public"
    return Case(w.admin, "PUT", "/v1/settings", {"default_reply_visibility": flipped})


# -- the generic scenario: any other route, with fresh records for its path ids ----------------
_COLLECTIONS = {"users": "user", "organizations": "organization", "teams": "team", "statuses": "status"}


def generic(route: RouteSpec) -> Scenario:
    def make(w: World) -> Case:
        path, records = route.path, set()
        ticket: dict[str, Any] | None = None
        if "{ticket_id}" in path or "{escalation_id}" in path:
            ticket = w.ticket()
            records.add(_t(ticket))
            path = path.replace("{ticket_id}", ticket["id"])
        if "{other_id}" in path:
            other = w.ticket()
            records.add(_t(other))
            path = path.replace("{other_id}", other["id"])
        if "{activity_id}" in path and ticket is not None:
            path = path.replace("{activity_id}", w.note(ticket["id"])["id"])
        if "{attachment_id}" in path and ticket is not None:
            path = path.replace("{attachment_id}", w.attachment(ticket["id"])["id"])
        if "{escalation_id}" in path and ticket is not None:
            escalation = w.escalation(ticket["id"])
            records.add(f"ESC#{escalation['id']}")
            path = path.replace("{escalation_id}", escalation["id"])
        if "{template_id}" in path:
            path = path.replace("{template_id}", w.template()["id"])
        if "{entry_id}" in path:
            path = path.replace("{entry_id}", _fresh_entry(w, route))
        user = w.admin if "admin" in route.roles else w.agent if "agent" in route.roles else w.alice
        body = _minimal(route.body.model_json_schema()) if route.body is not None else None
        query = _required_query(route, ticket)
        return Case(user, route.method, path + query, body, records)

    return make


def _fresh_entry(w: World, route: RouteSpec) -> str:
    """A new record of the collection the route belongs to, made through its own POST."""
    collection = route.path.split("/")[2]
    create = next((r for r in all_routes() if r.method == "POST" and r.path == f"/v1/{collection}"), None)
    if create is None or create.body is None:
        return "x"
    body = (
        SCENARIOS[f"POST {create.path}"](w).body
        if f"POST {create.path}" in SCENARIOS
        else _minimal(create.body.model_json_schema())
    )
    if collection in ("organizations", "teams"):
        body = {**body, "id": f"{collection[:3]}-{uuid.uuid4().hex[:8]}"}
    response = w.admin.post(f"/v1/{collection}", body)
    return str((response.data or {}).get("id") or (response.data or {}).get("name") or "x")


def _required_query(route: RouteSpec, ticket: dict[str, Any] | None) -> str:
    if route.query is None:
        return ""
    required = route.query.model_json_schema().get("required", [])
    values = {name: ticket["id"] if name.endswith("ticket_id") and ticket else "x" for name in required}
    return ("?" + "&".join(f"{k}={v}" for k, v in values.items())) if values else ""


def _minimal(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """The smallest instance of a JSON schema that fills only what is required."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return _minimal(defs[schema["$ref"].split("/")[-1]], defs)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return _minimal(options[0], defs)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: _minimal(props[name], defs) for name in schema.get("required", []) if name in props}
    if kind == "array":
        return [_minimal(schema["items"], defs) for _ in range(schema.get("minItems", 0))] if "items" in schema else []
    if kind == "integer" or kind == "number":
        return schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1)
    if kind == "boolean":
        return False
    if schema.get("format") == "date-time":
        return (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if schema.get("format") == "date":
        return (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    return "x" * max(1, schema.get("minLength", 1))


# -- the test -----------------------------------------------------------------------------
def _routes() -> list[RouteSpec]:
    return [r for r in all_routes() if not r.public]


@pytest.fixture(scope="module")
def world(users: dict[str, ApiUser], stack: FaultStack) -> World:
    return World(users, stack)


@pytest.fixture(scope="module")
def injector() -> Any:
    with Injector().installed() as installed:
        yield installed


def _problems(
    fault: Fault,
    call: Call,
    response: Any,
    change: list[str],
    clean_status: int,
    clean_change: list[str],
    zendesk: bool = False,
) -> list[str]:
    status = response.status_code
    if status == clean_status and change == clean_change:
        return []  # absorbed (retried inside): the same answer and the whole change
    found = []
    if status not in ALLOWED[fault.kind]:
        found.append(
            f"answered {status} (clean run {clean_status}), expected {sorted(ALLOWED[fault.kind])}: {response.body[:300]!r}"
        )
    if status >= 400:
        # The Zendesk layer (/api/v2/) answers in Zendesk's error shape (docs/zendesk.md).
        expected_type = "application/json" if zendesk else "application/problem+json"
        if response.headers.get("Content-Type") != expected_type:
            found.append(f"{status} is not {expected_type}")
        elif zendesk:
            if not (response.data or {}).get("error"):
                found.append("a Zendesk error without its `error`")
        elif (response.data or {}).get("status") != status:
            found.append("problem status differs from the HTTP status")
        if not str(response.headers.get("Retry-After", "")).isdigit():
            found.append(f"{status} without Retry-After")
        if change:
            found.append(f"partial write after a {status}: {change}")
    elif change != clean_change:
        found.append(f"answered {status} but wrote {change}; the clean run wrote {clean_change}")
    return [f"{fault.name} at {call}: {p}" for p in found]


@pytest.mark.parametrize("route", _routes(), ids=lambda r: f"{r.method} {r.path}")
def test_a_fault_on_any_call_answers_retryably_and_writes_all_or_nothing(
    route: RouteSpec, world: World, injector: Injector, stack: FaultStack
) -> None:
    key = f"{route.method} {route.path}"
    prepare = SCENARIOS.get(key) or generic(route)

    def observe(case: Case, at: tuple[Call, int] | None = None, fault: Fault | None = None) -> tuple[Any, list[str], list[Call]]:
        before_partitions = partitions(stack.table)
        before = snapshot(stack.table, case.records)
        with injector.watching(at, fault) as calls:
            response = case.send()
        if case.settle is not None and response.status_code < 300:
            case.settle(response)
        new = partitions(stack.table) - before_partitions
        after = snapshot(stack.table, case.records | new)
        return response, diff(before, after), list(calls)

    clean, clean_change, calls = observe(prepare(world))
    assert clean.status_code < 500, clean.body
    if key in SCENARIOS:
        assert clean.status_code < 300, f"the scenario must succeed without faults: {clean.body!r}"
        assert clean_change or route.method == "GET", "the scenario changed nothing"
    failures: list[str] = []
    case = prepare(world)
    tried = 0
    for index, call in enumerate(calls):
        occurrence = calls[:index].count(call)
        for fault in faults_for(call):
            response, change, _ = observe(case, (call, occurrence), fault)
            tried += 1
            zendesk = route.path.startswith("/api/v2/")
            failures += _problems(fault, call, response, change, clean.status_code, clean_change, zendesk)
            if change or response.status_code < 300:
                case = prepare(world)  # the data moved on: fresh records for the next fault
    assert not failures, f"{key} ({tried} faults on {[str(c) for c in calls]}):\n" + "\n".join(failures)


def test_every_route_is_exercised() -> None:
    """The parametrization above is the route table itself, so a new route is tried here too."""
    assert {f"{r.method} {r.path}" for r in _routes()} >= set(SCENARIOS), "a scenario names a route that does not exist"
