"""Sidebar counts (issue 11): `GET /v1/views?counts=true` answers each view's exact count from the
open counters the ticket stream keeps, for every access level, in one BatchGetItem."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_call_counts import dynamodb_calls  # noqa: F401 (fixture)
from tests.api.test_routing import Stream
from tests.api.test_views import clock, desk, save, view  # noqa: F401 (fixtures)

USERS = ("admin", "agent_all", "agent_support", "agent_eng", "agent_assigned")


@pytest.fixture
def stream(world: dict[str, Any]) -> Stream:
    return Stream()


def sidebar(user: Any) -> dict[str, dict[str, Any]]:
    response = user.get("/v1/views?counts=true")
    assert response.status_code == 200, response.body
    return {item["id"]: item for item in response.data["items"]}


def assert_counts_match_the_lists(world: dict[str, Any]) -> None:
    for name in USERS:
        for view_id, item in sidebar(world[name]).items():
            if item["count"] is not None:
                listed = view(world[name], view_id, limit=100)
                assert item["count"] == len(listed), (name, view_id, item["count"], len(listed))


def test_every_countable_view_counts_exactly_what_it_lists_for_every_access_level(world, desk, stream):  # noqa: F811
    for name in USERS:  # saved views the counters serve, inside and outside each agent's scope
        save(world[name], name="Engineering open", filters={"team_id": "engineering", "status_category": "open"})
        save(world[name], name="Support, any status", filters={"team_id": "support"})
        save(world[name], name="Unassigned", filters={"assignee_id": "-", "status_category": "open"})
        save(world[name], name="Everything", filters={})
        save(world[name], name="Engineer's", filters={"assignee_id": "agent-eng"})
    stream.follow()
    assert_counts_match_the_lists(world)
    counts = {k: v["count"] for k, v in sidebar(world["agent_support"]).items() if k in ("mine-open", "all-open", "pending")}
    assert counts == {"mine-open": 1, "all-open": 3, "pending": 2}

    agent = world["agent_all"]  # moves between views: reassign, solve, delete, move team
    assert agent.patch(f"/v1/tickets/{desk['mine']}", {"assignee_id": "agent-eng", "team_id": "engineering"}).status_code == 200
    assert agent.patch(f"/v1/tickets/{desk['support_unassigned']}", {"status": "resolved"}).status_code == 200
    assert agent.delete(f"/v1/tickets/{desk['eng_unassigned']}").status_code == 204
    assert agent.patch(f"/v1/tickets/{desk['no_team']}", {"assignee_id": "agent-support"}).status_code == 200
    stream.follow()
    assert_counts_match_the_lists(world)
    assert sidebar(world["agent_support"])["mine-open"]["count"] == 1


def test_views_no_counter_can_count_answer_null_and_why(world, desk, stream):  # noqa: F811
    agent = world["agent_support"]
    urgent = save(agent, name="Urgent", filters={"priority": "urgent", "status_category": "open"})
    stream.follow()
    items = sidebar(agent)
    assert (items["recently-solved"]["count"], items["recently-solved"]["count_unavailable"]) == (None, "time_window")
    assert (items["following"]["count"], items["following"]["count_unavailable"]) == (None, "follower_filter")
    assert (items[urgent["id"]]["count"], items[urgent["id"]]["count_unavailable"]) == (None, "residual_filter")
    assert "count_unavailable" not in items["mine-open"]
    assert "count" not in agent.get("/v1/views").data["items"][0]


def test_the_whole_sidebar_is_counted_with_one_batch_get(world, desk, stream, dynamodb_calls):  # noqa: F811
    agent = world["agent_support"]
    for n in range(5):
        save(agent, name=f"Team view {n}", filters={"team_id": "support", "status_category": "pending"})
    stream.follow()
    dynamodb_calls.clear()
    assert agent.get("/v1/views?counts=true").status_code == 200
    # the caller's record, one Query per view audience (private, the support team, shared), one BatchGetItem
    assert dict(dynamodb_calls) == {"GetItem": 1, "Query": 3, "BatchGetItem": 1}
