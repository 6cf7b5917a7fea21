"""Every route x every role x ticket state, generated from the route manifest (routes.txt).

A ticket the caller may not see answers 404 on every route that names it (or names one of its
escalations), whatever the role, the body or the sub-resource: invisible (another team, another
customer), deleted, of another organization. A ticket the caller sees gets the route's documented
success, or the answer documented for that role (VISIBLE_DOCUMENTED), never a 404 or a 500. A role
a route is not for answers 403 before any ticket is read (so the 403 says nothing about the
ticket). A route added to the manifest without an entry in ROUTES fails here.
The hidden states share one world (it stays small: three tickets). The visible state gets a fresh
world per route and a fresh ticket per role: every case writes (closes, merges, deletes) and
moto's TransactWriteItems deep-copies the whole table, so one world growing with every case made
each transaction slower and bigger (a draft doing that was OOM-killed at 18 GB).
"""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest

from chalicelib.api.manifest import all_routes

# (method, path) -> the body a caller of that route would send (valid, so validation never hides
# the visibility check), or a reason the ticket-state dimension does not apply to it.
TICKET = "ticket"
ROUTES: dict[tuple[str, str], Any] = {
    ("PATCH", "/v1/tickets/{ticket_id}"): {"priority": "high"},
    ("GET", "/v1/tickets/{ticket_id}"): None,
    ("DELETE", "/v1/tickets/{ticket_id}"): None,
    ("POST", "/v1/tickets/{ticket_id}/restore"): {},
    ("POST", "/v1/tickets/{ticket_id}/route"): {},
    ("GET", "/v1/tickets/{ticket_id}/history"): None,
    ("POST", "/v1/tickets/{ticket_id}/comments"): {"body": "hello"},
    ("GET", "/v1/tickets/{ticket_id}/timeline"): None,
    ("POST", "/v1/tickets/{ticket_id}/activities"): {"type": "note", "body": "x"},
    ("GET", "/v1/tickets/{ticket_id}/activities/{activity_id}"): None,
    ("PATCH", "/v1/tickets/{ticket_id}/activities/{activity_id}"): {"pinned": True},
    ("DELETE", "/v1/tickets/{ticket_id}/activities/{activity_id}"): None,
    ("POST", "/v1/tickets/{ticket_id}/activities/{activity_id}/restore"): {},
    ("POST", "/v1/tickets/{ticket_id}/activities/{activity_id}/comments"): {"body": "x"},
    ("GET", "/v1/tickets/{ticket_id}/activities/{activity_id}/history"): None,
    ("GET", "/v1/tickets/{ticket_id}/activities/{activity_id}/original"): None,
    ("PUT", "/v1/tickets/{ticket_id}/followers/me"): None,
    ("DELETE", "/v1/tickets/{ticket_id}/followers/me"): None,
    ("POST", "/v1/tickets/{ticket_id}/close"): {},
    ("POST", "/v1/tickets/{ticket_id}/feedback"): {"rating": 5, "comment": "ok"},
    ("POST", "/v1/tickets/{ticket_id}/escalations"): {"description": "x"},
    ("POST", "/v1/tickets/{ticket_id}/links"): {"ticket_id": "{visible_id}"},
    ("DELETE", "/v1/tickets/{ticket_id}/links/{other_id}"): None,
    ("GET", "/v1/tickets/{ticket_id}/related"): None,
    ("POST", "/v1/tickets/{ticket_id}/merge"): {"source_id": "{visible_id}"},
    ("PUT", "/v1/tickets/{ticket_id}/proxy-access"): {"enabled": True},
    ("POST", "/v1/tickets/{ticket_id}/time-entries"): {"minutes": 5, "note": "x", "billable": False},
    ("POST", "/v1/tickets/{ticket_id}/attachments"): {"filename": "a.txt", "content_type": "text/plain", "size": 10},
    ("GET", "/v1/tickets/{ticket_id}/attachments/{attachment_id}"): None,
    ("GET", "/v1/tickets/{ticket_id}/attachments"): None,
    ("POST", "/v1/tickets/{ticket_id}/attachments/{attachment_id}/confirm"): None,
    ("GET", "/v1/tickets/{ticket_id}/sla"): None,
    ("GET", "/v1/tickets/{ticket_id}/sla/ledger"): None,
    ("GET", "/v1/templates/{template_id}/render"): "query",  # ?ticket_id=
    ("PUT", "/v1/tickets/{ticket_id}/presence"): None,
    # The escalation of a ticket of that state (created by staff; no workflow is needed for these
    # answers: the stream starts it, and a transition before its first wait is queued, 202).
    ("GET", "/v1/escalations/{escalation_id}"): None,
    ("POST", "/v1/escalations/{escalation_id}/transitions"): {"to": "review", "note": "x"},
    ("POST", "/v1/escalations/{escalation_id}/verification"): {"confirmed": True, "comment": "works"},
}
# Routes that name no ticket: only the role dimension applies (403 for a role not listed).
NO_TICKET = "names no ticket"
STATES = ("invisible", "deleted", "other_organization")
# Documented answers other than 404: staff who relate to a deleted ticket learn from a merge that
# it must be restored first (docs/decisions.md "Merge"; test_merge_conflicts).
DOCUMENTED = {(("POST", "/v1/tickets/{ticket_id}/merge"), "deleted", role): 409 for role in ("admin", "agent")}
# A heartbeat reads no ticket: it answers 204 for every ticket id, visible or not, existing or not,
# so the answer says nothing; it is never shown to anyone (docs/decisions.md "Workspace: views and
# presence"; tests/api/test_presence.py).
DOCUMENTED.update(
    {(("PUT", "/v1/tickets/{ticket_id}/presence"), state, role): 204 for state in STATES for role in ("admin", "agent")}
)
# The caller of each role who must not see the ticket of each state (admins see every live ticket).
CALLERS = {
    "invisible": {"agent": "agent_support", "customer": "alice"},
    "deleted": {"admin": "admin", "agent": "agent_all", "customer": "alice"},
    "other_organization": {"agent": "agent_support", "customer": "acme_admin"},
}


def expectations() -> dict[tuple[str, str], Any]:
    table = {}
    for spec in all_routes():
        key = (spec.method, spec.path)
        if spec.public:
            table[key] = "public"
        elif key in ROUTES:
            table[key] = ROUTES[key]
        elif "{ticket_id}" not in spec.path and key != ("GET", "/v1/templates/{template_id}/render"):
            table[key] = NO_TICKET
    return table


def test_every_route_that_names_a_ticket_has_an_expectation():
    missing = [
        f"{spec.method} {spec.path}"
        for spec in all_routes()
        if ("{ticket_id}" in spec.path or "{escalation_id}" in spec.path) and (spec.method, spec.path) not in ROUTES
    ]
    assert missing == [], "add these routes to ROUTES with a valid body"
    assert set(expectations()) == {(s.method, s.path) for s in all_routes()}


def _states(world, make_ticket) -> dict[str, dict[str, str]]:
    agent = world["agent_all"]
    made = {
        "invisible": make_ticket(requester_id="bob", team_id="engineering"),
        "deleted": make_ticket(requester_id="alice", team_id="support", cc=["acme-admin"]),
        "other_organization": make_ticket(requester_id="gina", team_id="engineering"),
    }
    ids = {}
    for state, ticket in made.items():
        comment = agent.post(f"/v1/tickets/{ticket['id']}/comments", {"body": "public", "visibility": "public"})
        assert comment.status_code == 201, comment.body
        escalation = agent.post(f"/v1/tickets/{ticket['id']}/escalations", {"description": "Sync loses rows"})
        assert escalation.status_code == 201, escalation.body
        ids[state] = {"ticket_id": ticket["id"], "activity_id": comment.data["id"], "escalation_id": escalation.data["id"]}
    assert agent.delete(f"/v1/tickets/{made['deleted']['id']}").status_code == 204
    return ids


def _path(path: str, ids: dict[str, str]) -> str:
    return (
        path.replace("{ticket_id}", ids["ticket_id"])
        .replace("{activity_id}", ids["activity_id"])
        .replace("{other_id}", ids["visible_id"])
        .replace("{attachment_id}", ids.get("attachment_id") or "0" * 32)
        .replace("{template_id}", ids["template_id"])
        .replace("{escalation_id}", ids["escalation_id"])
    )


def _body(body: Any, ids: dict[str, str]) -> Any:
    if isinstance(body, dict):
        return {k: ids["visible_id"] if v == "{visible_id}" else v for k, v in body.items()}
    return body


def test_a_ticket_the_caller_may_not_see_is_404_on_every_route_for_every_role(world, make_ticket):
    states = _states(world, make_ticket)
    template = world["admin"].post("/v1/templates", {"name": "t", "body": "Hi {{ requester.name }}"})
    assert template.status_code == 201, template.body
    specs = {(s.method, s.path): s for s in all_routes()}
    users = {user for callers in CALLERS.values() for user in callers.values()}
    visible = {
        user: make_ticket(requester_id=world[user].user_id if world[user].user_id in ("alice", "acme-admin") else "alice")
        for user in users
    }
    failures = []
    cases = 0
    for key, body in expectations().items():
        spec = specs[key]
        if body in ("public", NO_TICKET):
            continue
        for state in STATES:
            if key == ("POST", "/v1/tickets/{ticket_id}/restore") and state == "deleted":
                continue  # restoring a deleted ticket is what the route is for (test_tickets.py)
            for role, user in CALLERS[state].items():
                caller = world[user]
                ids = {**states[state], "visible_id": visible[user]["id"], "template_id": template.data["id"]}
                path = _path(spec.path, ids)
                if body == "query":
                    path, sent = f"{path}?ticket_id={ids['ticket_id']}", None
                else:
                    sent = _body(body, ids)
                if spec.method in ("POST", "PUT", "PATCH") and sent is None:
                    sent = {}
                response = caller.request(spec.method, path, sent)
                expected = DOCUMENTED.get((key, state, role), 404) if role in spec.roles else 403
                cases += 1
                if response.status_code != expected:
                    failures.append(f"{spec.method} {spec.path} {state} as {role}: {response.status_code} != {expected}")
    assert failures == [], "\n".join(failures)
    assert cases > 170


def test_a_role_a_route_is_not_for_gets_403_on_every_route(world):
    failures = []
    for spec in all_routes():
        if spec.public:
            continue
        for role, user in (("admin", "admin"), ("agent", "agent_all"), ("customer", "alice")):
            if role in spec.roles:
                continue
            path = spec.path
            path = re.sub(r"\{[a-z_]+\}", "x1", path)
            response = world[user].request(spec.method, path, {} if spec.method in ("POST", "PUT", "PATCH") else None)
            if response.status_code != 403:
                failures.append(f"{spec.method} {spec.path} as {role}: {response.status_code}")
    assert failures == []


# -- the visible state: a ticket of alice's (acme, team support) that each caller sees -------------
VISIBLE_CALLERS = {"admin": "admin", "agent": "agent_all", "customer": "alice"}
ATTACHMENTS = "helpdesk-local-attachments"  # Settings' default
FEEDBACK = ("POST", "/v1/tickets/{ticket_id}/feedback")
PROXY = ("PUT", "/v1/tickets/{ticket_id}/proxy-access")
ORIGINAL = ("GET", "/v1/tickets/{ticket_id}/activities/{activity_id}/original")
VERIFY = ("POST", "/v1/escalations/{escalation_id}/verification")
# Where a caller who sees the ticket, of a role the route is for, documentedly gets no success.
VISIBLE_DOCUMENTED: dict[tuple[tuple[str, str], str], tuple[int, str]] = {
    **{(FEEDBACK, role): (403, "API.md: feedback is the requester's") for role in ("admin", "agent")},
    **{(PROXY, role): (403, "API.md: proxy access is the requester's to give") for role in ("admin", "agent")},
    (ORIGINAL, "customer"): (404, "originals are for agents (API.md email channel; test_inbound_mail.py)"),
    # The workflow moves an escalation to verification (test_escalations.py drives it there and
    # verifies: test_customer_confirms_the_fix_and_the_escalation_resolves); before that, 409.
    (VERIFY, "customer"): (409, "API.md: verification only while in verification"),
}


def _visible_routes() -> list[tuple[str, str]]:
    return [key for key, body in expectations().items() if body not in ("public", NO_TICKET)]


def _seed(world: dict[str, Any], make_ticket: Any, key: tuple[str, str], user: str) -> dict[str, str]:
    """A fresh open ticket of alice's with what the route acts on, in the state the route is for
    (a deleted ticket to restore, a closed one to rate, a deleted comment to restore, ...)."""
    agent = world["agent_all"]
    method, path = key
    tid = make_ticket(requester_id="alice", team_id="support")["id"]
    ids = {"ticket_id": tid, "activity_id": "", "visible_id": "", "attachment_id": "", "template_id": "", "escalation_id": ""}
    if "{activity_id}" in path:
        comment = agent.post(f"/v1/tickets/{tid}/comments", {"body": "public", "visibility": "public"})
        assert comment.status_code == 201, comment.body
        ids["activity_id"] = comment.data["id"]
        if path.endswith("/restore"):
            assert agent.delete(f"/v1/tickets/{tid}/activities/{ids['activity_id']}").status_code == 204
        if key == ORIGINAL:
            _arrived_by_mail(tid, ids["activity_id"])
    if "links" in path or "merge" in path:
        ids["visible_id"] = make_ticket(requester_id="alice", team_id="support")["id"]
        if method == "DELETE":
            assert agent.post(f"/v1/tickets/{tid}/links", {"ticket_id": ids["visible_id"]}).status_code == 200
    if key == ("POST", "/v1/tickets/{ticket_id}/restore"):
        assert agent.delete(f"/v1/tickets/{tid}").status_code == 204
    if key == FEEDBACK:
        assert agent.post(f"/v1/tickets/{tid}/close").status_code == 200
    if "{attachment_id}" in path:
        ids["attachment_id"] = _uploaded(world[user], tid, confirm=not path.endswith("/confirm"))
    if "{escalation_id}" in path:
        escalation = agent.post(f"/v1/tickets/{tid}/escalations", {"description": "Sync loses rows"})
        assert escalation.status_code == 201, escalation.body
        ids["escalation_id"] = escalation.data["id"]
    if "{template_id}" in path:
        template = world["admin"].post("/v1/templates", {"name": "t", "body": "Hi {{ requester.name }}"})
        assert template.status_code == 201, template.body
        ids["template_id"] = template.data["id"]
    return ids


def _uploaded(uploader: Any, ticket_id: str, *, confirm: bool) -> str:
    """The caller's file in S3 as the upload form puts it (confirmed when the route is not the confirm)."""
    boto3.client("s3").create_bucket(Bucket=ATTACHMENTS)
    made = uploader.post(f"/v1/tickets/{ticket_id}/attachments", {"filename": "a.txt", "content_type": "text/plain", "size": 10})
    assert made.status_code == 201, made.body
    key = made.data["upload_fields"]["key"]
    boto3.client("s3").put_object(Bucket=ATTACHMENTS, Key=key, Body=b"0123456789", ContentType="text/plain")
    if confirm:
        assert uploader.post(f"/v1/tickets/{ticket_id}/attachments/{made.data['id']}/confirm").status_code == 200
    return str(made.data["id"])


def _arrived_by_mail(ticket_id: str, activity_id: str) -> None:
    """Where receive_mail keeps the raw message of an inbound comment (the whole pipeline is
    tests/api/test_inbound_mail.py; here only the record the route reads)."""
    from chalicelib.storage import keys
    from chalicelib.storage.models import InboundOriginalItem

    InboundOriginalItem(
        keys.ticket_pk(ticket_id),
        keys.inbound_original_sk(activity_id),
        message_id="<m1@mail.example>",
        bucket="helpdesk-test-inbound",
        object_key="inbound/m1",
        at="2026-12-01T09:00:00.000Z",
    ).save()


@pytest.mark.parametrize("key", _visible_routes(), ids=lambda key: f"{key[0]} {key[1]}")
def test_a_ticket_the_caller_sees_gets_the_routes_documented_answer_for_every_role(key, world, make_ticket):
    spec = {(s.method, s.path): s for s in all_routes()}[key]
    body = expectations()[key]
    failures = []
    for role, user in VISIBLE_CALLERS.items():
        ids = _seed(world, make_ticket, key, user)
        path = _path(spec.path, ids)
        if body == "query":
            path, sent = f"{path}?ticket_id={ids['ticket_id']}", None
        else:
            sent = _body(body, ids)
        if spec.method in ("POST", "PUT", "PATCH") and sent is None:
            sent = {}
        response = world[user].request(spec.method, path, sent)
        expected = VISIBLE_DOCUMENTED.get((key, role), (spec.status, "the route's success"))[0] if role in spec.roles else 403
        if response.status_code != expected:
            failures.append(f"as {role}: {response.status_code} != {expected}: {response.body[:200]!r}")
    assert failures == [], "\n".join(failures)


def test_every_documented_answer_for_a_visible_ticket_is_one_the_route_declares():
    specs = {(s.method, s.path): s for s in all_routes()}
    for (key, role), (status, _why) in VISIBLE_DOCUMENTED.items():
        assert role in specs[key].roles and status in specs[key].errors, (key, role, status)
