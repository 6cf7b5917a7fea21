"""Follow / unfollow, close and feedback."""

from __future__ import annotations

import pytest

from tests.api.test_bad_input import assert_problem


def test_follow_and_unfollow_are_idempotent_and_recorded_in_history(world, make_ticket):
    support = world["agent_support"]
    ticket = make_ticket(requester_id="alice")
    path = f"/v1/tickets/{ticket['id']}/followers/me"
    followed = support.request("PUT", path)
    assert followed.status_code == 200 and "agent-support" in followed.data["followers"]
    assert support.request("PUT", path).data["version"] == followed.data["version"]  # no second write
    assert support.delete(path).status_code == 204
    assert support.delete(path).status_code == 204
    after = support.get(f"/v1/tickets/{ticket['id']}").data
    assert "agent-support" not in after["followers"]
    history = support.get(f"/v1/tickets/{ticket['id']}/history?property=followers").data["items"]
    assert [(h["old"], h["new"]) for h in history] == [(["agent-support"], []), ([], ["agent-support"])]


def test_customers_follow_without_seeing_the_followers_list(world, make_ticket):
    alice = world["alice"]
    ticket = make_ticket(requester_id="alice")
    followed = alice.request("PUT", f"/v1/tickets/{ticket['id']}/followers/me")
    assert followed.status_code == 200 and "followers" not in followed.data
    assert "alice" in world["agent_all"].get(f"/v1/tickets/{ticket['id']}").data["followers"]
    assert_problem(world["gina"].request("PUT", f"/v1/tickets/{ticket['id']}/followers/me"), 404)


def test_the_assignee_follows_automatically(world, make_ticket):
    ticket = make_ticket(requester_id="alice")
    patched = world["agent_all"].patch(f"/v1/tickets/{ticket['id']}", {"assignee_id": "agent-support"})
    assert "agent-support" in patched.data["followers"]


@pytest.mark.parametrize("closer", ["alice", "acme_admin", "agent_all"])
def test_requester_org_admin_and_agents_close_and_the_response_says_what_next(world, make_ticket, closer):
    ticket = make_ticket(requester_id="alice")
    closed = world[closer].post(f"/v1/tickets/{ticket['id']}/close")
    assert closed.status_code == 200, closed.body
    assert closed.data["status"] == "closed" and closed.data["closed_at"] is not None
    assert f"reference ticket #{ticket['number']}" in closed.data["notice"]
    entry = world["alice"].get(f"/v1/tickets/{ticket['id']}/timeline").data["items"][0]
    assert entry["type"] == "system" and entry["fields"]["event"] == "closed"
    assert_problem(world[closer].post(f"/v1/tickets/{ticket['id']}/close"), 409)


def test_a_ccd_customer_cannot_close(world, make_ticket):
    ticket = make_ticket(requester_id="alice", cc=["bob"])
    assert_problem(world["bob"].post(f"/v1/tickets/{ticket['id']}/close"), 403)
    assert_problem(world["gina"].post(f"/v1/tickets/{ticket['id']}/close"), 404)


def test_feedback_once_per_closed_ticket_by_its_requester(world, make_ticket):
    alice = world["alice"]
    ticket = make_ticket(requester_id="alice")
    path = f"/v1/tickets/{ticket['id']}/feedback"
    assert_problem(alice.post(path, {"rating": 5}), 409)  # not closed yet
    alice.post(f"/v1/tickets/{ticket['id']}/close")
    assert_problem(world["acme_admin"].post(path, {"rating": 5}), 403)
    left = alice.post(path, {"rating": 4, "comment": "Quick <b>fix</b><script>x</script>"})
    assert left.status_code == 201, left.body
    assert left.data["feedback"]["rating"] == 4 and left.data["feedback"]["comment"] == "Quick <b>fix</b>"
    assert left.data["notice"].startswith("Thank you")
    assert_problem(alice.post(path, {"rating": 5}), 409)
    assert world["agent_all"].get(f"/v1/tickets/{ticket['id']}").data["feedback"]["rating"] == 4
    event = alice.get(f"/v1/tickets/{ticket['id']}/timeline").data["items"][0]
    assert event["fields"]["event"] == "feedback" and event["fields"]["rating"] == 4


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"rating"}),
        ({"rating": 0}, {"rating"}),
        ({"rating": 6}, {"rating"}),
        ({"rating": "5"}, {"rating"}),
        ({"rating": 3, "x": 1}, {"x"}),
    ],
)
def test_invalid_feedback_is_422(world, make_ticket, body, fields):
    ticket = make_ticket(requester_id="alice")
    world["alice"].post(f"/v1/tickets/{ticket['id']}/close")
    problem = assert_problem(world["alice"].post(f"/v1/tickets/{ticket['id']}/feedback", body), 422)
    assert {e["field"] for e in problem["errors"]} == fields
