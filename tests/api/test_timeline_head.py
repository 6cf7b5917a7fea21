"""The timeline head (`ACT#~`): a timeline page is one Query, and access follows the ticket.

The head carries the ticket's visibility fields at the top of its timeline range, rewritten
with the ticket whenever they change; later pages read the head alone before their Query, so
losing access applies on the very next page (docs/decisions.md, "Who may do what").
"""

from __future__ import annotations

import boto3
import pytest

from tests.api.test_bad_input import assert_problem
from tests.api.test_call_counts import dynamodb_calls, measure  # noqa: F401  (fixture)
from tests.conftest import TABLE


def timeline(user, ticket_id, query=""):
    return user.get(f"/v1/tickets/{ticket_id}/timeline{query}")


def every_page(user, ticket_id, limit, extra=""):
    seen, cursor = [], None
    while True:
        query = f"?limit={limit}{extra}" + (f"&cursor={cursor}" if cursor else "")
        response = timeline(user, ticket_id, query)
        assert response.status_code == 200, response.body
        assert len(response.data["items"]) <= limit
        seen += [a["id"] for a in response.data["items"]]
        cursor = response.data["next_cursor"]
        if cursor is None:
            return seen


@pytest.fixture
def ticket(make_ticket, world):
    made = make_ticket(requester_id="alice", team_id="support", cc=["bob"])
    for i in range(3):
        world["agent_all"].post(f"/v1/tickets/{made['id']}/comments", {"body": f"reply {i}", "visibility": "public"})
        world["agent_all"].post(f"/v1/tickets/{made['id']}/comments", {"body": f"note {i}", "visibility": "internal"})
    return made


def test_pages_of_any_size_return_every_entry_once_and_never_the_head(world, ticket):
    for user in (world["agent_all"], world["alice"]):
        whole = every_page(user, ticket["id"], 100)
        assert len(whole) == len(set(whole)) and all(not entry.startswith("ACT#") for entry in whole)
        for limit in (1, 2, 3, 5):
            assert every_page(user, ticket["id"], limit) == whole
    assert len(every_page(world["agent_all"], ticket["id"], 100)) == len(every_page(world["alice"], ticket["id"], 100)) + 3
    # Filters apply to entries only: the head passes them but is never shown.
    comments = every_page(world["agent_all"], ticket["id"], 2, "&type=comment")
    assert len(comments) == 3


def test_losing_access_hides_the_timeline_on_the_next_first_page(world, ticket):
    agent, bob = world["agent_all"], world["bob"]
    assert timeline(bob, ticket["id"]).status_code == 200
    assert timeline(world["agent_support"], ticket["id"]).status_code == 200
    assert_problem(timeline(world["agent_eng"], ticket["id"]), 404)

    assert agent.patch(f"/v1/tickets/{ticket['id']}", {"cc": [], "team_id": "engineering"}).status_code == 200
    assert_problem(timeline(bob, ticket["id"]), 404)
    assert_problem(timeline(world["agent_support"], ticket["id"]), 404)
    assert timeline(world["agent_eng"], ticket["id"]).status_code == 200
    assert timeline(world["alice"], ticket["id"]).status_code == 200


def test_a_deleted_ticket_has_no_timeline_until_restored(world, ticket):
    agent = world["agent_all"]
    assert agent.delete(f"/v1/tickets/{ticket['id']}").status_code == 204
    for user in (agent, world["alice"], world["admin"]):
        assert_problem(timeline(user, ticket["id"]), 404)
    assert agent.post(f"/v1/tickets/{ticket['id']}/restore").status_code == 200
    assert timeline(world["alice"], ticket["id"]).status_code == 200


def test_a_cursor_keeps_no_access_after_the_caller_is_removed_from_cc(world, ticket):
    bob = world["bob"]
    cursor = timeline(bob, ticket["id"], "?limit=1").data["next_cursor"]
    assert world["agent_all"].patch(f"/v1/tickets/{ticket['id']}", {"cc": []}).status_code == 200

    assert_problem(timeline(bob, ticket["id"], f"?limit=1&cursor={cursor}"), 404)


def test_a_cursor_keeps_no_access_after_the_ticket_is_deleted(world, ticket):
    cursors = {name: timeline(world[name], ticket["id"], "?limit=1").data["next_cursor"] for name in ("alice", "agent_all")}
    assert world["agent_all"].delete(f"/v1/tickets/{ticket['id']}").status_code == 204

    for name, cursor in cursors.items():
        assert_problem(timeline(world[name], ticket["id"], f"?limit=1&cursor={cursor}"), 404)


def test_a_cursor_keeps_no_access_after_the_ticket_moves_to_another_team(world, ticket):
    support = world["agent_support"]
    cursor = timeline(support, ticket["id"], "?limit=1").data["next_cursor"]
    assert world["agent_all"].patch(f"/v1/tickets/{ticket['id']}", {"team_id": "engineering"}).status_code == 200

    assert_problem(timeline(support, ticket["id"], f"?limit=1&cursor={cursor}"), 404)


def test_a_later_page_checks_access_with_one_read_of_the_head(world, ticket, dynamodb_calls):  # noqa: F811
    alice = world["alice"]
    cursor = timeline(alice, ticket["id"], "?limit=1").data["next_cursor"]
    # The caller's directory record, the timeline head, the page.
    assert measure(dynamodb_calls, lambda: timeline(alice, ticket["id"], f"?limit=1&cursor={cursor}")) == {
        "GetItem": 2,
        "Query": 1,
    }


def test_a_cursor_is_only_good_for_the_caller_it_was_issued_to(world, ticket):
    cursor = timeline(world["alice"], ticket["id"], "?limit=1").data["next_cursor"]
    assert_problem(timeline(world["bob"], ticket["id"], f"?limit=1&cursor={cursor}"), 400)
    assert_problem(timeline(world["alice"], ticket["id"], f"?limit=1&cursor={cursor[:-2]}xx"), 400)


def test_a_ticket_without_a_head_reads_the_ticket_instead(world, ticket, dynamodb_calls):  # noqa: F811
    """Tickets written before heads existed (or a public index still catching up) still work."""
    agent = world["agent_all"]
    before = [a["id"] for a in timeline(agent, ticket["id"]).data["items"]]
    boto3.client("dynamodb").delete_item(TableName=TABLE, Key={"PK": {"S": f"TICKET#{ticket['id']}"}, "SK": {"S": "ACT#~"}})
    assert measure(dynamodb_calls, lambda: timeline(agent, ticket["id"])) == {"Query": 2, "GetItem": 2}
    assert [a["id"] for a in timeline(agent, ticket["id"]).data["items"]] == before
    assert every_page(world["alice"], ticket["id"], 2) == every_page(world["alice"], ticket["id"], 100)
    assert_problem(timeline(world["gina"], ticket["id"]), 404)
    assert_problem(timeline(agent, "no-such-ticket"), 404)
