"""Property: whatever mix of public and internal activity a ticket has, no customer-facing
response ever carries internal notes, notify lists, agents' activity comments or other
agent-only data, and customers see every public entry that is not deleted."""

from __future__ import annotations

import itertools
import json

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from chalicelib.api.views import AGENT_ONLY

SECRET = "secret"  # every internal text carries it; no public text does
AGENT_ONLY_ACTIVITY_KEYS = {"notify", "comments", "team_ids", "search_text", "deleted_at", "version"}

operations = st.one_of(
    # Staff who see the ticket whatever team a "patch team" step moves it to.
    st.tuples(st.just("agent_reply"), st.sampled_from(["agent_all", "admin"])),
    st.tuples(st.just("internal_note"), st.booleans()),
    st.tuples(st.just("customer_reply"), st.sampled_from(["alice", "bob"])),
    st.tuples(st.just("log"), st.sampled_from(["call", "meeting", "email"]), st.sampled_from(["public", "internal"])),
    st.tuples(st.just("log"), st.sampled_from(["task", "note"]), st.just("internal")),
    st.tuples(st.just("patch"), st.sampled_from(["tags", "team", "priority", "status"])),
    st.tuples(st.just("pin"), st.integers(min_value=0, max_value=20)),
    st.tuples(st.just("delete"), st.integers(min_value=0, max_value=20)),
    st.tuples(st.just("comment_on"), st.integers(min_value=0, max_value=20)),
)

LOG_FIELDS = {
    "call": {"duration_seconds": 60, "outcome": "connected"},
    "meeting": {"start_at": "2026-04-01T15:00:00Z", "link": "https://meet.example.com/x", "code": "123"},
    "email": {"to": ["alice@acme.example"]},
    "task": {"due_at": "2026-04-01T15:00:00Z"},
    "note": {},
}


def ok(response):
    assert response.status_code < 300, response.body
    return response.data


class Scenario:
    """Plays operations on one ticket and remembers which texts customers may see."""

    def __init__(self, world, ticket):
        self.world = world
        self.ticket = ticket
        self.counter = itertools.count()
        self.activities = []  # (id, public text marker or None)
        self.public_markers = {}  # activity id -> marker, for live public entries
        self.deleted = set()

    def text(self, public):
        n = next(self.counter)
        return f"PUBLICTEXT{n}Z" if public else f"{SECRET.upper()}TEXT{n}Z"

    def play(self, op):
        agent, tid = self.world["agent_all"], self.ticket["id"]
        kind = op[0]
        if kind in ("agent_reply", "customer_reply"):
            text = self.text(public=True)
            user = self.world[op[1]]
            body = {"body": text, "visibility": "public"} if kind == "agent_reply" else {"body": text}
            posted = ok(user.post(f"/v1/tickets/{tid}/comments", body))
            self.remember(posted["id"], text)
        elif kind == "internal_note":
            body = {"body": self.text(public=False), "visibility": "internal"}
            if op[1]:
                body["notify"] = ["agent-support"]
            self.remember(ok(agent.post(f"/v1/tickets/{tid}/comments", body))["id"], None)
        elif kind == "log":
            activity_type, visibility = op[1], op[2]
            public = visibility == "public"
            text = self.text(public)
            body = {"type": activity_type, "visibility": visibility, "body": text, **LOG_FIELDS[activity_type]}
            if activity_type in ("task", "email"):
                body["subject"] = text
            self.remember(ok(agent.post(f"/v1/tickets/{tid}/activities", body))["id"], text if public else None)
        elif kind == "patch":
            change = {
                "tags": {"tags": [f"{SECRET}-tag-{next(self.counter)}"]},
                "team": {"team_id": "support" if next(self.counter) % 2 else "engineering"},
                "priority": {"priority": ["low", "high", "urgent"][next(self.counter) % 3]},
                "status": {"status": ["pending", "open"][next(self.counter) % 2]},
            }[op[1]]
            ok(agent.patch(f"/v1/tickets/{tid}", change))
        else:
            live = [aid for aid, _ in self.activities if aid not in self.deleted]
            if not live:
                return
            activity_id = live[op[1] % len(live)]
            path = f"/v1/tickets/{tid}/activities/{activity_id}"
            if kind == "pin":
                ok(agent.patch(path, {"pinned": True}))
            elif kind == "delete":
                assert agent.delete(path).status_code == 204
                self.deleted.add(activity_id)
                self.public_markers.pop(activity_id, None)
            else:
                ok(agent.post(f"{path}/comments", {"body": f"{SECRET} remark {next(self.counter)}"}))

    def remember(self, activity_id, public_text):
        self.activities.append((activity_id, public_text))
        if public_text is not None:
            self.public_markers[activity_id] = public_text


def customer_responses(user, ticket_id):
    """Every customer-facing read of the ticket, following every timeline page."""
    responses = [user.get(f"/v1/tickets/{ticket_id}"), user.get("/v1/tickets?limit=100"), user.get("/v1/me/tickets")]
    if user.user_id == "acme-admin":
        responses.append(user.get("/v1/me/tickets?scope=organization"))
    timeline = []
    for query in ("", "&q=secret", "&type=note"):
        cursor = None
        while True:
            page = user.get(f"/v1/tickets/{ticket_id}/timeline?limit=2{query}" + (f"&cursor={cursor}" if cursor else ""))
            assert page.status_code == 200, page.body
            responses.append(page)
            if not query:
                timeline += page.data["items"]
            cursor = page.data["next_cursor"]
            if cursor is None:
                break
    for entry in timeline[:3]:
        responses.append(user.get(f"/v1/tickets/{ticket_id}/activities/{entry['id']}"))
    return responses, timeline


# Each example is ~50 requests through the API on moto: few examples, no shrinking (a failure
# prints its plan, which is short enough to read).
@settings(
    max_examples=10,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=st.lists(operations, min_size=1, max_size=10))
def test_customers_never_see_internal_activity_anywhere(world, plan):
    ticket = ok(
        world["agent_all"].post(
            "/v1/tickets", {"subject": "Printer", "description": "jammed", "requester_id": "alice", "cc": ["bob"]}
        )
    )
    scenario = Scenario(world, ticket)
    for op in plan:
        scenario.play(op)
    internal_ids = [aid for aid, text in scenario.activities if text is None]

    for name in ("alice", "bob", "acme_admin"):
        user = world[name]
        responses, timeline = customer_responses(user, ticket["id"])
        for response in responses:
            assert response.status_code == 200, response.body
            assert SECRET not in response.body.decode().lower(), response.body
        ticket_view = responses[0].data
        assert not set(AGENT_ONLY) & set(ticket_view)
        for listed in responses[1].data["items"] + responses[2].data["items"]:
            assert not set(AGENT_ONLY) & set(listed)
        for entry in timeline:
            assert entry["visibility"] == "public" and entry["type"] not in ("note", "task")
            assert not AGENT_ONLY_ACTIVITY_KEYS & set(entry)
        seen = {entry["id"]: entry for entry in timeline}
        # Complete: every public entry not deleted, and nothing else but system entries.
        assert {aid for aid in seen if seen[aid]["type"] != "system"} == set(scenario.public_markers)
        for activity_id, marker in scenario.public_markers.items():
            assert marker in json.dumps(seen[activity_id])
        for activity_id in internal_ids:
            assert user.get(f"/v1/tickets/{ticket['id']}/activities/{activity_id}").status_code == 404
        assert user.get(f"/v1/tickets/{ticket['id']}/history").status_code == 403
