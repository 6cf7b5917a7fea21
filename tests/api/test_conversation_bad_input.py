"""Arbitrary JSON to every conversation route answers a 4xx problem (or success), never a 500."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(
    ["body", "visibility", "cc", "notify", "status", "type", "subject", "pinned", "duration_seconds", "outcome",
     "start_at", "end_at", "link", "due_at", "to", "rating", "comment", "name", "default_reply_visibility"]
)  # fmt: skip
bodies = json_values | st.dictionaries(field_names, json_values, max_size=5)
queries = st.dictionaries(
    st.sampled_from(["limit", "cursor", "type", "actor_id", "team_id", "q", "deleted", "ticket_id", "x"]),
    st.text(alphabet=st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=12),
    max_size=3,
)


@settings(
    max_examples=40,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies, query=queries, user=st.sampled_from(["agent_all", "alice", "admin"]))
def test_conversation_routes_never_answer_500(world, body, query, user):
    agent = world["agent_all"]
    if "bad_input_ticket" not in world:  # one ticket for every example: writes slow down as moto's table grows
        ticket = agent.post("/v1/tickets", {"subject": "s", "description": "d", "requester_id": "alice"}).data
        note = agent.post(f"/v1/tickets/{ticket['id']}/activities", {"type": "note", "body": "n"}).data
        world["bad_input_ticket"] = (ticket, note)
    ticket, note = world["bad_input_ticket"]
    base = f"/v1/tickets/{ticket['id']}"
    raw = json.dumps(body)
    qs = "?" + urlencode(query) if query else ""
    requests = [
        ("POST", f"{base}/comments"),
        ("POST", f"{base}/activities"),
        ("PATCH", f"{base}/activities/{note['id']}"),
        ("POST", f"{base}/activities/{note['id']}/comments"),
        ("POST", f"{base}/feedback"),
        ("POST", "/v1/templates"),
        ("PUT", "/v1/settings"),
    ]
    for method, path in requests:
        response = world[user].request(method, path, raw)
        assert response.status_code < 500, (method, path, response.body)
    for path in (f"{base}/timeline{qs}", f"/v1/templates/x/render{qs}", f"{base}/activities/{note['id']}/history{qs}"):
        response = world[user].get(path)
        assert response.status_code < 500, (path, response.body)
