"""DynamoDB calls of the conversation routes (the approach of test_call_counts.py)."""

from __future__ import annotations

from tests.api.test_call_counts import dynamodb_calls, measure  # noqa: F401  (fixture)


def test_conversation_paths_use_the_documented_number_of_calls(world, make_ticket, dynamodb_calls):  # noqa: F811
    agent, alice = world["agent_all"], world["alice"]
    ticket = make_ticket(requester_id="alice", assignee_id="agent-assigned")
    tid = ticket["id"]
    base = f"/v1/tickets/{tid}"

    # A comment, its ticket change, history and timeline entries: GetItem + one transaction.
    reply = {"body": "hi", "visibility": "public", "status": "pending", "cc": ["bob"]}
    assert measure(dynamodb_calls, lambda: agent.post(f"{base}/comments", reply)) == {"GetItem": 2, "TransactWriteItems": 1}
    assert measure(dynamodb_calls, lambda: alice.post(f"{base}/comments", {"body": "thanks"})) == {
        "GetItem": 2,
        "TransactWriteItems": 1,
    }
    note = {"body": "n", "visibility": "internal", "notify": ["agent-support"]}
    assert measure(dynamodb_calls, lambda: agent.post(f"{base}/comments", note)) == {"GetItem": 2, "TransactWriteItems": 1}
    # Without `visibility`, staff read the default reply type once per container (cached 30 s).
    assert measure(dynamodb_calls, lambda: agent.post(f"{base}/comments", {"body": "d"})) == {
        "GetItem": 3,
        "TransactWriteItems": 1,
    }
    assert measure(dynamodb_calls, lambda: agent.post(f"{base}/comments", {"body": "d"})) == {
        "GetItem": 2,
        "TransactWriteItems": 1,
    }

    # A first timeline page is one Query, for agents and customers, filtered or not: it reads the
    # timeline head (visibility) with its entries; a later page reads the head alone first
    # (GetItem + Query). Plus the caller's directory record, 1 GetItem, on every request.
    first_page, later_page = {"GetItem": 1, "Query": 1}, {"GetItem": 2, "Query": 1}
    for user in (agent, alice):
        assert measure(dynamodb_calls, lambda u=user: u.get(f"{base}/timeline")) == first_page
        assert measure(dynamodb_calls, lambda u=user: u.get(f"{base}/timeline?q=hi&type=comment&limit=1")) == first_page
        cursor = user.get(f"{base}/timeline?limit=1").data["next_cursor"]
        assert measure(dynamodb_calls, lambda u=user, c=cursor: u.get(f"{base}/timeline?limit=1&cursor={c}")) == later_page

    logged = {"type": "call", "duration_seconds": 5, "outcome": "busy"}
    assert measure(dynamodb_calls, lambda: agent.post(f"{base}/activities", logged)) == {"GetItem": 2, "TransactWriteItems": 1}
    activity = agent.get(f"{base}/timeline").data["items"][0]
    one = f"{base}/activities/{activity['id']}"
    assert measure(dynamodb_calls, lambda: agent.get(one)) == {"GetItem": 2, "BatchGetItem": 1}
    # Pin (moves the item), edit (with its revision), delete, restore: find + one transaction.
    write = {"GetItem": 2, "BatchGetItem": 1, "TransactWriteItems": 1}
    assert measure(dynamodb_calls, lambda: agent.patch(one, {"pinned": True})) == write
    assert measure(dynamodb_calls, lambda: agent.patch(one, {"body": "edited"})) == write
    assert measure(dynamodb_calls, lambda: agent.post(f"{one}/comments", {"body": "c"})) == write
    assert measure(dynamodb_calls, lambda: agent.delete(one)) == write
    assert measure(dynamodb_calls, lambda: agent.post(f"{one}/restore")) == write
    assert measure(dynamodb_calls, lambda: agent.get(f"{one}/history")) == {"GetItem": 2, "Query": 1}

    # Opening a ticket: 1 Query (the ticket and its viewers), except the assignee's first open of
    # an unread ticket.
    fresh = make_ticket(requester_id="alice", assignee_id="agent-assigned")
    opened = {"GetItem": 1, "Query": 1}
    assert measure(dynamodb_calls, lambda: agent.get(f"/v1/tickets/{fresh['id']}")) == opened
    assert measure(dynamodb_calls, lambda: world["agent_assigned"].get(f"/v1/tickets/{fresh['id']}")) == {
        **opened,
        "TransactWriteItems": 1,
    }
    assert measure(dynamodb_calls, lambda: world["agent_assigned"].get(f"/v1/tickets/{fresh['id']}")) == opened

    # PATCH still writes its property-change entries in its own transaction.
    assert measure(dynamodb_calls, lambda: agent.patch(base, {"priority": "high"})) == {"GetItem": 2, "TransactWriteItems": 1}
    follow = f"{base}/followers/me"
    assert measure(dynamodb_calls, lambda: alice.request("PUT", follow)) == {"GetItem": 2, "TransactWriteItems": 1}
    assert measure(dynamodb_calls, lambda: alice.request("PUT", follow)) == {"GetItem": 2}  # already following
    assert measure(dynamodb_calls, lambda: alice.post(f"{base}/close")) == {"GetItem": 2, "TransactWriteItems": 1}
    assert measure(dynamodb_calls, lambda: alice.post(f"{base}/feedback", {"rating": 5})) == {
        "GetItem": 2,
        "TransactWriteItems": 1,
    }
    assert "Scan" not in dynamodb_calls
