"""Presence (issue 11): heartbeats, and who GET of a ticket shows as viewing it.

Time is the services' clock (`composition.clock`), moved by the test: no sleeps.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib import composition
from tests.api.test_bad_input import assert_problem
from tests.api.test_call_counts import dynamodb_calls, measure  # noqa: F401  (fixture)
from tests.api.test_events import Clock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(composition, "clock", fake)
    return fake


def beat(user: Any, ticket_id: str) -> None:
    response = user.request("PUT", f"/v1/tickets/{ticket_id}/presence")
    assert response.status_code == 204, response.body


def viewers(user: Any, ticket_id: str) -> tuple[list[str], int]:
    response = user.get(f"/v1/tickets/{ticket_id}")
    assert response.status_code == 200, response.body
    return [v["user_id"] for v in response.data["viewers"]], response.data["viewers_more"]


def test_a_viewer_is_shown_for_60_seconds_after_their_heartbeat_and_never_after(world, make_ticket, clock):
    ticket = make_ticket(team_id="support")["id"]
    beat(world["agent_support"], ticket)
    seen = world["agent_all"].get(f"/v1/tickets/{ticket}").data
    assert seen["viewers"] == [{"user_id": "agent-support", "name": "Agent-Support", "since": seen["viewers"][0]["since"]}]
    clock.tick(60)
    assert viewers(world["agent_all"], ticket) == (["agent-support"], 0)
    clock.tick(0.001)
    assert viewers(world["agent_all"], ticket) == ([], 0)  # the item is still there: TTL is late


def test_since_is_the_start_of_a_viewing_and_starts_over_after_a_pause(world, make_ticket, clock):
    ticket = make_ticket(team_id="support")["id"]
    agent, reader = world["agent_support"], world["agent_all"]
    beat(agent, ticket)
    first = reader.get(f"/v1/tickets/{ticket}").data["viewers"][0]["since"]
    clock.tick(30)
    beat(agent, ticket)
    assert reader.get(f"/v1/tickets/{ticket}").data["viewers"][0]["since"] == first
    clock.tick(120)
    beat(agent, ticket)
    again = reader.get(f"/v1/tickets/{ticket}").data["viewers"][0]["since"]
    assert again > first


def test_at_most_five_viewers_are_named_and_the_rest_counted(world, make_ticket, login, clock):
    ticket = make_ticket()["id"]
    for i in range(7):
        beat(login(f"agent-{i}", "agent", teams=["support"], access="team"), ticket)
        clock.tick(1)
    named, more = viewers(world["agent_all"], ticket)
    assert named == [f"agent-{i}" for i in range(5)] and more == 2  # oldest viewing first


def test_the_caller_is_not_among_their_own_viewers(world, make_ticket):
    ticket = make_ticket()["id"]
    beat(world["agent_all"], ticket)
    assert viewers(world["agent_all"], ticket) == ([], 0)
    assert viewers(world["agent_support"], ticket) == (["agent-all"], 0)


def test_a_heartbeat_on_an_invisible_ticket_leaks_nothing_and_is_never_shown(world, make_ticket):
    engineering = make_ticket(team_id="engineering")["id"]
    outsider = world["agent_support"]
    # the same answer as for a visible ticket, and as for no ticket at all
    assert outsider.request("PUT", f"/v1/tickets/{engineering}/presence").status_code == 204
    assert outsider.request("PUT", "/v1/tickets/does-not-exist/presence").status_code == 204
    assert_problem(outsider.get(f"/v1/tickets/{engineering}"), 404)
    assert viewers(world["agent_all"], engineering) == ([], 0)
    assert viewers(world["agent_eng"], engineering) == ([], 0)


def test_customers_never_see_viewers_and_cannot_send_heartbeats(world, make_ticket):
    ticket = make_ticket(requester_id="alice")["id"]
    beat(world["agent_all"], ticket)
    seen = world["alice"].get(f"/v1/tickets/{ticket}")
    assert seen.status_code == 200
    assert "viewers" not in seen.data and "viewers_more" not in seen.data
    assert_problem(world["alice"].request("PUT", f"/v1/tickets/{ticket}/presence"), 403)


def test_a_heartbeat_is_one_write_and_no_read(world, make_ticket, dynamodb_calls):  # noqa: F811
    ticket = make_ticket()["id"]
    agent = world["agent_support"]
    for _ in range(2):  # the first heartbeat and a continuing one
        calls = measure(dynamodb_calls, lambda: agent.request("PUT", f"/v1/tickets/{ticket}/presence"))
        assert calls == {"GetItem": 1, "UpdateItem": 1}  # the GetItem is the caller's directory record


def test_get_of_a_ticket_reads_it_and_its_viewers_in_one_query(world, make_ticket, dynamodb_calls):  # noqa: F811
    ticket = make_ticket()["id"]
    beat(world["agent_support"], ticket)
    assert measure(dynamodb_calls, lambda: world["agent_all"].get(f"/v1/tickets/{ticket}")) == {"GetItem": 1, "Query": 1}


def test_a_viewer_who_lost_access_is_not_shown(world, make_ticket, clock):
    ticket = make_ticket(team_id="support")["id"]
    beat(world["agent_support"], ticket)
    assert viewers(world["agent_all"], ticket) == (["agent-support"], 0)
    assert world["agent_all"].patch(f"/v1/tickets/{ticket}", {"team_id": "engineering"}).status_code == 200
    clock.tick(1)
    assert viewers(world["agent_all"], ticket) == ([], 0)


def test_viewers_expire_by_heartbeat_time_not_ttl(world, make_ticket, clock):
    ticket = make_ticket()["id"]
    beat(world["agent_support"], ticket)
    clock.tick(timedelta(minutes=10).total_seconds())
    assert viewers(world["agent_all"], ticket) == ([], 0)
