"""Views (issue 11): the six default views, saved views and their pages of tickets.

Every view is planned by the planner of GET /v1/tickets, so visibility is that of the list: a
team agent never sees another team's ticket in any view. The clock is injected
(`composition.clock`) so "recently solved" (7 days) is decided at known times.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import composition
from tests.api.test_bad_input import assert_problem
from tests.api.test_events import START, Clock

DEFAULTS = ("mine-open", "unassigned-my-teams", "all-open", "pending", "recently-solved", "following")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(composition, "clock", fake)
    return fake


def ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.body
    return {item["id"] for item in response.data["items"]}


def view(user: Any, view_id: str, **params: Any) -> set[str]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return ids(user.get(f"/v1/views/{view_id}/tickets" + (f"?{query}" if query else "")))


@pytest.fixture
def desk(world: dict[str, Any], make_ticket: Any, clock: Clock) -> dict[str, str]:
    """Tickets of two teams in every status category, one solved long ago, one followed."""
    clock.now = START - timedelta(days=8)
    old = make_ticket(team_id="support", status="resolved")["id"]
    clock.now = START
    made = {
        "old_solved": old,
        "mine": make_ticket(team_id="support", assignee_id="agent-support")["id"],
        "mine_pending": make_ticket(team_id="support", assignee_id="agent-support", status="pending")["id"],
        "support_unassigned": make_ticket(team_id="support")["id"],
        "eng_unassigned": make_ticket(team_id="engineering")["id"],
        "eng_assigned": make_ticket(team_id="engineering", assignee_id="agent-eng")["id"],
        "no_team": make_ticket()["id"],
        "support_pending": make_ticket(team_id="support", status="pending")["id"],
        "eng_pending": make_ticket(team_id="engineering", status="pending")["id"],
        "support_solved": make_ticket(team_id="support", status="resolved")["id"],
        "eng_solved": make_ticket(team_id="engineering", status="resolved")["id"],
        "support_closed": make_ticket(team_id="support", status="closed")["id"],
        "assigned_to_other": make_ticket(team_id="engineering", assignee_id="agent-assigned")["id"],
    }
    clock.tick()
    follow = world["agent_support"].request("PUT", f"/v1/tickets/{made['support_pending']}/followers/me")
    assert follow.status_code == 200, follow.body
    return made


def test_every_agent_has_the_six_default_views(world):
    for user in ("agent_all", "agent_support", "agent_assigned", "admin"):
        listed = world[user].get("/v1/views")
        assert listed.status_code == 200, listed.body
        defaults = [v["id"] for v in listed.data["items"] if v["default"]]
        assert defaults == list(DEFAULTS)


def test_each_default_view_returns_exactly_its_tickets_for_a_team_agent(world, desk):
    agent = world["agent_support"]
    t = desk
    assert view(agent, "mine-open") == {t["mine"]}
    assert view(agent, "unassigned-my-teams") == {t["support_unassigned"]}
    assert view(agent, "all-open") == {t["mine"], t["support_unassigned"], t["no_team"]}
    assert view(agent, "pending") == {t["mine_pending"], t["support_pending"]}
    assert view(agent, "recently-solved") == {t["support_solved"]}
    # the assignee follows their tickets; the agent followed one more
    assert view(agent, "following") == {t["mine"], t["mine_pending"], t["support_pending"]}


def test_another_teams_agent_sees_their_team_in_every_view_and_nothing_of_support(world, desk):
    agent, t = world["agent_eng"], desk
    assert view(agent, "mine-open") == {t["eng_assigned"]}
    assert view(agent, "unassigned-my-teams") == {t["eng_unassigned"]}
    assert view(agent, "all-open") == {t["eng_unassigned"], t["eng_assigned"], t["no_team"], t["assigned_to_other"]}
    assert view(agent, "pending") == {t["eng_pending"]}
    assert view(agent, "recently-solved") == {t["eng_solved"]}
    support = {t[k] for k in t if k.startswith(("support", "mine", "old"))}
    for view_id in DEFAULTS:
        assert not view(agent, view_id) & support, view_id


def test_agents_with_wider_or_narrower_access_get_their_visibility_in_views(world, desk):
    t = desk
    everyone_open = {
        t["mine"],
        t["support_unassigned"],
        t["eng_unassigned"],
        t["eng_assigned"],
        t["no_team"],
        t["assigned_to_other"],
    }
    assert view(world["agent_all"], "all-open") == everyone_open
    assert view(world["admin"], "all-open") == everyone_open
    # agent-all is in support: unassigned in my teams is support's, whatever the access
    assert view(world["agent_all"], "unassigned-my-teams") == {t["support_unassigned"]}
    assert view(world["agent_all"], "recently-solved") == {t["support_solved"], t["eng_solved"]}
    assigned_only = world["agent_assigned"]
    assert view(assigned_only, "all-open") == {t["assigned_to_other"]}
    assert view(assigned_only, "mine-open") == {t["assigned_to_other"]}
    assert view(assigned_only, "following") == {t["assigned_to_other"]}  # assignees follow
    for view_id in ("unassigned-my-teams", "pending", "recently-solved"):
        assert view(assigned_only, view_id) == set()


def test_a_solved_ticket_leaves_recently_solved_after_seven_days(world, desk, clock):
    agent = world["agent_support"]
    assert view(agent, "recently-solved") == {desk["support_solved"]}
    clock.now = START + timedelta(days=7, seconds=1)
    assert view(agent, "recently-solved") == set()


def test_a_followed_ticket_the_agent_can_no_longer_see_leaves_following(world, desk):
    engineer, agent_all = world["agent_eng"], world["agent_all"]
    ticket = desk["eng_unassigned"]
    assert engineer.request("PUT", f"/v1/tickets/{ticket}/followers/me").status_code == 200
    assert ticket in view(engineer, "following")
    assert agent_all.patch(f"/v1/tickets/{ticket}", {"team_id": "support"}).status_code == 200
    assert ticket not in view(engineer, "following")


def test_a_ticket_moves_between_views_as_its_status_and_assignee_change(world, desk):
    agent, t = world["agent_support"], desk
    path = f"/v1/tickets/{t['support_unassigned']}"
    assert world["agent_all"].patch(path, {"assignee_id": "agent-support"}).status_code == 200
    assert t["support_unassigned"] in view(agent, "mine-open")
    assert t["support_unassigned"] not in view(agent, "unassigned-my-teams")
    assert world["agent_all"].patch(path, {"status": "pending"}).status_code == 200
    assert t["support_unassigned"] not in view(agent, "mine-open")
    assert t["support_unassigned"] in view(agent, "pending")


def test_customers_have_no_views(world):
    for user in ("alice", "acme_admin"):
        assert_problem(world[user].get("/v1/views"), 403)
        assert_problem(world[user].get("/v1/views/mine-open/tickets"), 403)
        assert_problem(world[user].post("/v1/views", {"name": "mine"}), 403)


def test_an_unknown_view_is_404(world):
    assert_problem(world["agent_all"].get("/v1/views/nope/tickets"), 404)
    assert_problem(world["agent_all"].get("/v1/views/nope"), 404)


# -- saved views --------------------------------------------------------------------------
def save(user: Any, **body: Any) -> dict[str, Any]:
    response = user.post("/v1/views", body)
    assert response.status_code == 201, response.body
    return response.data


def test_a_saved_view_lists_what_get_tickets_lists_for_its_filters(world, desk):
    agent = world["agent_support"]
    saved = save(agent, name="Support pending", filters={"team_id": "support", "status_category": "pending"})
    assert saved["visibility"] == "private" and saved["owner_id"] == "agent-support"
    expected = ids(agent.get("/v1/tickets?team_id=support&status_category=pending"))
    assert expected == {desk["mine_pending"], desk["support_pending"]}
    assert view(agent, saved["id"]) == expected
    # an engineer's identical view never shows support's tickets
    other = save(world["agent_eng"], name="Support pending", filters={"team_id": "support", "status_category": "pending"})
    assert view(world["agent_eng"], other["id"]) == set()


def test_a_private_view_is_the_owners_alone(world):
    mine = save(world["agent_support"], name="Mine", filters={"priority": "urgent"})
    other = world["agent_all"]
    assert_problem(other.get(f"/v1/views/{mine['id']}"), 404)
    assert_problem(other.get(f"/v1/views/{mine['id']}/tickets"), 404)
    assert_problem(other.patch(f"/v1/views/{mine['id']}", {"name": "taken"}), 404)
    assert_problem(other.delete(f"/v1/views/{mine['id']}"), 404)
    assert mine["id"] not in {v["id"] for v in other.get("/v1/views").data["items"]}
    assert mine["id"] in {v["id"] for v in world["agent_support"].get("/v1/views").data["items"]}
    assert world["admin"].get(f"/v1/views/{mine['id']}").status_code == 200


def test_team_views_are_used_by_the_teams_members_and_changed_by_the_owner(world):
    team_view = save(
        world["agent_support"], name="Support urgent", visibility="team", team_id="support", filters={"priority": "urgent"}
    )
    member, outsider = world["agent_all"], world["agent_eng"]
    assert team_view["id"] in {v["id"] for v in member.get("/v1/views").data["items"]}
    assert member.get(f"/v1/views/{team_view['id']}/tickets").status_code == 200
    assert_problem(member.patch(f"/v1/views/{team_view['id']}", {"name": "mine now"}), 403)
    assert_problem(outsider.get(f"/v1/views/{team_view['id']}/tickets"), 404)
    assert team_view["id"] not in {v["id"] for v in outsider.get("/v1/views").data["items"]}
    # a team view names one of its creator's teams
    problem = assert_problem(world["agent_eng"].post("/v1/views", {"name": "x", "visibility": "team", "team_id": "support"}), 422)
    assert [e["field"] for e in problem["errors"]] == ["team_id"]


def test_shared_views_are_every_agents(world):
    shared = save(world["agent_eng"], name="Everything urgent", visibility="shared", filters={"priority": "urgent"})
    for user in ("agent_all", "agent_support", "agent_assigned"):
        assert shared["id"] in {v["id"] for v in world[user].get("/v1/views").data["items"]}
    assert_problem(world["agent_support"].delete(f"/v1/views/{shared['id']}"), 403)
    assert world["admin"].delete(f"/v1/views/{shared['id']}").status_code == 204
    assert_problem(world["agent_eng"].get(f"/v1/views/{shared['id']}"), 404)


def test_saved_view_filters_are_exactly_the_list_filters(world):
    agent = world["agent_support"]
    for filters in ({"priority": "whenever"}, {"colour": "red"}, {"status_category": "solved"}, {"team_id": ""}):
        assert_problem(agent.post("/v1/views", {"name": "bad", "filters": filters}), 422)
    assert_problem(agent.post("/v1/views", {"name": "bad", "sort": "priority"}), 422)
    assert_problem(agent.post("/v1/views", {"name": "", "filters": {}}), 422)


def test_the_owner_edits_and_deletes_a_view_with_versions(world, desk):
    agent = world["agent_support"]
    saved = save(agent, name="Pending", filters={"status_category": "pending"})
    path = f"/v1/views/{saved['id']}"
    changed = agent.patch(path, {"name": "Open", "filters": {"status_category": "open"}}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200, changed.body
    assert changed.data["version"] == 2 and changed.data["filters"] == {"status_category": "open"}
    assert view(agent, saved["id"]) == view(agent, "all-open")
    assert_problem(agent.patch(path, {"name": "stale"}, headers={"If-Match": '"1"'}), 412)
    assert_problem(agent.patch("/v1/views/mine-open", {"name": "mine"}), 403)
    assert agent.delete(path).status_code == 204
    assert_problem(agent.get(path), 404)


def test_a_cursor_of_an_edited_view_is_refused(world, desk):
    agent = world["agent_support"]
    saved = save(agent, name="All", filters={})
    first = agent.get(f"/v1/views/{saved['id']}/tickets?limit=1")
    assert first.data["next_cursor"]
    assert agent.patch(f"/v1/views/{saved['id']}", {"filters": {"priority": "urgent"}}).status_code == 200
    assert_problem(agent.get(f"/v1/views/{saved['id']}/tickets?limit=1&cursor={first.data['next_cursor']}"), 400)


# -- pages ----------------------------------------------------------------------------------
def read_all(user: Any, view_id: str, limit: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        suffix = f"&cursor={cursor}" if cursor else ""
        page = user.get(f"/v1/views/{view_id}/tickets?limit={limit}{suffix}")
        assert page.status_code == 200, page.body
        assert len(page.data["items"]) <= limit
        seen.extend(item["id"] for item in page.data["items"])
        cursor = page.data["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the pages never ended")


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(1, 7), view_id=st.sampled_from(("all-open", "following", "pending")))
def test_view_pages_follow_cursors_without_skipping_or_repeating(world, desk, limit, view_id):
    for user in ("agent_support", "agent_all", "agent_eng"):
        pages = read_all(world[user], view_id, limit)
        assert len(pages) == len(set(pages))
        assert set(pages) == view(world[user], view_id, limit=100)


def test_view_pages_are_newest_activity_first_like_the_ticket_list(world, desk):
    agent = world["agent_all"]
    page = agent.get("/v1/views/all-open/tickets?limit=100").data["items"]
    listed = agent.get("/v1/tickets?status_category=open&limit=100").data["items"]
    assert [t["id"] for t in page] == [t["id"] for t in listed]
    assert [t["last_activity_at"] for t in page] == sorted((t["last_activity_at"] for t in page), reverse=True)
    assert "description" not in page[0]


# -- cost -------------------------------------------------------------------------------------
@pytest.fixture
def query_pages(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(items DynamoDB read, items it returned) of every Query page a request makes."""
    from pynamodb.pagination import PageIterator

    pages: list[tuple[int, int]] = []
    real_next = PageIterator.__next__

    def recording_next(self: Any) -> Any:
        page = real_next(self)
        pages.append((page["ScannedCount"], page["Count"]))
        return page

    monkeypatch.setattr(PageIterator, "__next__", recording_next)
    return pages


INDEX_BACKED = ("mine-open", "unassigned-my-teams", "all-open", "pending", "recently-solved")


def test_index_backed_views_read_only_what_they_return(world, desk, query_pages):
    """Each default view but `following` is served by list partitions alone: every item a Query
    reads is returned (1.0 read per returned, for agents who see everything one Query a page)."""
    for user in ("agent_all", "agent_support", "agent_eng", "agent_assigned", "admin"):
        for view_id in INDEX_BACKED:
            query_pages.clear()
            response = world[user].get(f"/v1/views/{view_id}/tickets?limit=100")
            assert response.status_code == 200
            assert all(read == returned for read, returned in query_pages), (user, view_id, query_pages)
    query_pages.clear()
    world["agent_all"].get("/v1/views/all-open/tickets?limit=2")
    assert query_pages == [(2, 2)]


def test_following_filters_the_callers_lists_by_follower(world, desk, query_pages):
    """`following` is the one residual filter: it reads the caller's list and keeps followed tickets."""
    query_pages.clear()
    assert view(world["agent_all"], "following", limit=100) == set()
    read = sum(r for r, _ in query_pages)
    assert read == len(desk) and sum(n for _, n in query_pages) == 0


# -- names on list entries ----------------------------------------------------------------------
def test_list_entries_carry_the_requester_and_assignee_names(world, make_ticket):
    agent = world["agent_all"]
    ticket = make_ticket(requester_id="alice", assignee_id="agent-support")
    entry = next(t for t in agent.get("/v1/tickets?limit=100").data["items"] if t["id"] == ticket["id"])
    assert (entry["requester_name"], entry["assignee_name"]) == ("Alice", "Agent-Support")
    assert agent.patch(f"/v1/tickets/{ticket['id']}", {"assignee_id": "agent-all", "requester_id": "bob"}).status_code == 200
    entry = next(t for t in agent.get("/v1/views/mine-open/tickets").data["items"] if t["id"] == ticket["id"])
    assert (entry["requester_name"], entry["assignee_name"]) == ("Bob", "Agent-All")
    mine = world["bob"].get("/v1/me/tickets").data["items"]
    assert [(t["requester_name"], t["assignee_name"]) for t in mine] == [("Bob", "Agent-All")]
    assert agent.patch(f"/v1/tickets/{ticket['id']}", {"assignee_id": None}).status_code == 200
    assert agent.get(f"/v1/tickets/{ticket['id']}").data["assignee_name"] is None


def test_tickets_written_before_the_view_partitions_get_them_from_the_reindex_command(world, make_ticket):
    import boto3

    from chalicelib import cli
    from tests.conftest import TABLE

    ticket = make_ticket(team_id="support")["id"]
    table = boto3.client("dynamodb")
    old_style = ["IDX#CATEGORY#open", "IDX#TEAM#support#open", "IDX#ASSIGNEE#-#open", "IDX#TEAM#support#UNASSIGNED#open"]
    for sk in old_style:  # as a ticket written before these partitions existed
        table.delete_item(TableName=TABLE, Key={"PK": {"S": f"TICKET#{ticket}"}, "SK": {"S": sk}})
    assert ticket not in view(world["admin"], "all-open")
    assert ticket not in view(world["agent_support"], "unassigned-my-teams")
    assert cli.main(["reindex", "--table", TABLE]) == 0
    assert ticket in view(world["admin"], "all-open")
    assert ticket in view(world["agent_support"], "unassigned-my-teams")
