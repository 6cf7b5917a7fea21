"""Every route x every role x ticket state, generated from the route manifest (routes.txt).

A ticket the caller may not see answers 404 on every route that names it (or names one of its
escalations), whatever the role, the body or the sub-resource: invisible (another team, another
customer), deleted, of another organization. A role a route is not for answers 403 before any
ticket is read (so the 403 says nothing about the ticket). A route added to the manifest without
an entry in ROUTES fails here. One moto table and one world for all cases (it stays small: three tickets).
"""

from __future__ import annotations

import re
from typing import Any

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
