"""Default views against a brute-force model: each view's plan, run over simulated partitions,
is exactly the tickets the view means that the caller may see; and which views need a residual
filter (only `following`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings

from chalicelib.domain.errors import NotAllowed
from chalicelib.domain.listing import ListPlan
from chalicelib.domain.tickets import Ticket
from chalicelib.domain.views import DEFAULT_VIEWS, plan_default
from chalicelib.domain.visibility import Caller, can_see
from tests.domain.test_listing import T0, callers, run_plan, tickets

NOW = T0 + timedelta(minutes=30)
SINCE = NOW - timedelta(days=7)
STAMP = SINCE.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def means(view_id: str, caller: Caller, ticket: Ticket) -> bool:
    """What each default view is, in plain Python (domain/views.py's docstring)."""
    category = ticket.status_category
    if view_id == "mine-open":
        return ticket.assignee_id == caller.user_id and category == "open"
    if view_id == "unassigned-my-teams":
        return ticket.assignee_id is None and ticket.team_id in caller.teams and category == "open"
    if view_id == "all-open":
        return category == "open"
    if view_id == "pending":
        return category == "pending"
    if view_id == "recently-solved":
        return category == "resolved" and ticket.last_activity_at >= SINCE
    if view_id == "following":
        return caller.user_id in ticket.followers
    raise AssertionError(view_id)


def run(plan: ListPlan, caller: Caller, population: list[Ticket]) -> set[str]:
    found = run_plan(plan, caller, population)
    if plan.lower_bound is not None:  # a key condition on the sort key (last activity)
        found = {k: t for k, t in found.items() if t.last_activity_at >= SINCE}
    return set(found)


@settings(max_examples=300, deadline=None)
@given(population=tickets, caller=callers())
def test_each_default_view_is_exactly_the_visible_tickets_it_means(population: list[Ticket], caller: Caller) -> None:
    if not caller.is_staff:
        return
    population = [_with(t, followers=[caller.user_id] if i % 3 == 0 else [], minutes=i * 2000) for i, t in enumerate(population)]
    for view in DEFAULT_VIEWS:
        plan = plan_default(caller, view.id, STAMP)
        expected = {t.id for t in population if can_see(caller, t) and means(view.id, caller, t)}
        assert run(plan, caller, population) == expected, view.id


def _with(ticket: Ticket, *, followers: list[str], minutes: int) -> Ticket:
    ticket.followers = followers
    ticket.last_activity_at = NOW - timedelta(minutes=minutes)
    return ticket


TEAM_AGENT = Caller("agnes", "agent", teams=frozenset({"sales", "billing"}), access="team")


@pytest.mark.parametrize("caller", [Caller("root", "admin"), TEAM_AGENT, Caller("bert", "agent", access="assigned")])
def test_only_following_needs_a_residual_filter(caller: Caller) -> None:
    for view in DEFAULT_VIEWS:
        plan = plan_default(caller, view.id, STAMP)
        assert not plan.visibility_filter, view.id
        assert dict(plan.filters) == ({"follower": caller.user_id} if view.id == "following" else {}), view.id


def test_a_team_agents_views_read_category_partitions_of_their_scope() -> None:
    assert plan_default(TEAM_AGENT, "mine-open", STAMP).partitions == ("ASSIGNEE#agnes#open",)
    assert plan_default(TEAM_AGENT, "unassigned-my-teams", STAMP).partitions == (
        "TEAM#billing#UNASSIGNED#open",
        "TEAM#sales#UNASSIGNED#open",
    )
    assert plan_default(TEAM_AGENT, "pending", STAMP).partitions == (
        "TEAM#billing#pending",
        "TEAM#sales#pending",
        "TEAM#-#pending",
        "ASSIGNEE#agnes#pending",
    )
    solved = plan_default(Caller("root", "admin"), "recently-solved", STAMP)
    assert solved.partitions == ("CATEGORY#resolved",) and solved.lower_bound == STAMP


def test_customers_have_no_views() -> None:
    with pytest.raises(NotAllowed):
        plan_default(Caller("alice", "customer"), "all-open", STAMP)
