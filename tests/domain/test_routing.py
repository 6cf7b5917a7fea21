"""Routing rules and assignment strategies (chalicelib/domain/routing.py), and the open-ticket
counters' arithmetic (chalicelib/domain/counters.py)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import counters
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.routing import (
    Member,
    Rule,
    candidates,
    check_availability,
    check_conditions,
    first_match,
    least_loaded,
    next_in_turn,
    should_route_new,
)
from chalicelib.domain.tickets import Ticket
from chalicelib.domain.visibility import Caller, can_see

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def ticket(**fields: object) -> Ticket:
    values: dict = {"id": "t1", "number": 1, "subject": "Help", "description": "", "requester_id": "alice"}
    values.update(created_at=NOW, updated_at=NOW, last_activity_at=NOW)
    values.update(fields)
    return Ticket(**values)


def rule(rule_id: str = "r", position: int = 0, **conditions: list[str]) -> Rule:
    return Rule(id=rule_id, name=rule_id, position=position, team_id="support", conditions=check_conditions(conditions))


def test_the_first_matching_rule_by_position_wins_and_ties_go_by_id():
    rules = [rule("b", 1), rule("z", 0, priorities=["urgent"]), rule("a", 1)]
    assert first_match(rules, ticket(priority="urgent")).id == "z"
    assert first_match(rules, ticket(priority="low")).id == "a"
    assert first_match([rule("x", priorities=["high"])], ticket()) is None


def test_every_given_condition_must_hold_and_any_value_of_one_matches():
    vip_email = rule(channels=["email", "web"], tags=["vip", "gold"], organization_ids=["acme"])
    assert first_match([vip_email], ticket(channel="web", tags=["gold"], organization_id="acme"))
    assert not first_match([vip_email], ticket(channel="phone", tags=["gold"], organization_id="acme"))
    assert not first_match([vip_email], ticket(channel="web", tags=["other"], organization_id="acme"))
    assert not first_match([vip_email], ticket(channel="web", tags=["gold"], organization_id=None))


def test_tags_all_needs_every_tag():
    both = rule(tags_all=["billing", "VIP"])
    assert first_match([both], ticket(tags=["vip", "billing", "x"]))
    assert not first_match([both], ticket(tags=["vip"]))


def test_keywords_match_whole_words_case_insensitively_and_never_markup():
    printers = rule(subject_contains=["Printer"])
    assert first_match([printers], ticket(subject="The PRINTER's on fire"))
    assert not first_match([printers], ticket(subject="Printers everywhere"))
    described = rule(description_contains=["refund"])
    assert first_match([described], ticket(description="<p>I want a <b>Refund</b></p>"))
    assert not first_match([rule(description_contains=["strong"])], ticket(description="<strong>hi</strong>"))


def test_the_requester_domain_is_compared_exactly_and_lowercase():
    acme = rule(requester_domains=["Acme.com"])
    assert first_match([acme], ticket(), "Ann@ACME.com")
    assert not first_match([acme], ticket(), "ann@mail.acme.com")
    assert not first_match([acme], ticket(), None)


@pytest.mark.parametrize(
    "conditions",
    [{"colors": ["red"]}, {"channels": ["fax"]}, {"subject_contains": ["two words"]}, {"tags": ["t"] * 51}],
)
def test_bad_conditions_are_refused(conditions):
    with pytest.raises(ValidationFailed):
        check_conditions(conditions)


def test_customers_have_no_availability():
    check_availability("agent", "away")
    with pytest.raises(ValidationFailed):
        check_availability("customer", "available")
    with pytest.raises(ValidationFailed):
        check_availability("agent", "asleep")


def test_only_tickets_without_team_and_assignee_are_routed_when_new():
    assert should_route_new(ticket())
    assert not should_route_new(ticket(team_id="support"))
    assert not should_route_new(ticket(assignee_id="agent-1"))


def test_only_available_members_are_candidates():
    members = [Member("b"), Member("a", "away"), Member("c", "offline"), Member("d", "available")]
    assert candidates(members) == ["b", "d"]


ids = st.lists(st.text("abcdefgh", min_size=1, max_size=3), min_size=1, max_size=8, unique=True)


@given(available=ids, start=st.none() | st.text("abcdefgh", max_size=3), rounds=st.integers(1, 4))
def test_round_robin_gives_every_available_agent_a_turn_before_anyone_gets_a_second(available, start, rounds):
    cursor, turns = start, []
    for _ in range(rounds * len(available)):
        cursor = next_in_turn(available, cursor)
        turns.append(cursor)
    for offset in range(0, len(turns), len(available)):
        assert sorted(turns[offset : offset + len(available)]) == sorted(available)


@given(available=ids, loads=st.dictionaries(st.text("abcdefgh", min_size=1, max_size=3), st.integers(0, 5)))
def test_least_open_takes_the_fewest_open_tickets_and_ties_by_id(available, loads):
    chosen = least_loaded(available, loads)
    best = min(loads.get(a, 0) for a in available)
    assert loads.get(chosen, 0) == best
    assert chosen == min(a for a in available if loads.get(a, 0) == best)


def test_no_candidate_means_no_assignee():
    assert next_in_turn([], "a") is None and least_loaded([], {}) is None


# -- counters ------------------------------------------------------------------------------
states = st.builds(
    lambda status, team, assignee, deleted: ticket(
        status=status, status_category=status, team_id=team, assignee_id=assignee, deleted_at=NOW if deleted else None
    ),
    st.sampled_from(["open", "pending", "resolved"]),
    st.none() | st.sampled_from(["support", "eng", "sales"]),
    st.none() | st.sampled_from(["a1", "a2"]),
    st.booleans(),
)


@given(st.lists(states, min_size=1, max_size=8))
def test_moving_by_each_difference_ends_at_the_recount_of_the_last_state(history):
    total: Counter[str] = Counter()
    applied: list[str] = []
    for state in history:
        total.update(counters.difference(applied, counters.contribution(state)))
        applied = counters.contribution(state)
    assert {k: v for k, v in total.items() if v} == counters.recount([history[-1]])


def test_a_ticket_counts_for_its_assignee_its_team_and_the_teams_queue_while_unassigned():
    assert counters.contribution(ticket(team_id="support")) == [
        "ALL|open",
        "ASSIGNEE#-|open",
        "TEAM#support|open",
        "UNASSIGNED#support|open",
    ]
    assert counters.contribution(ticket(assignee_id="a1", status_category="pending")) == [
        "ALL|pending",
        "ASSIGNEE#a1|pending",
        "TEAM#-#ASSIGNEE#a1|pending",
        "TEAM#-|pending",
    ]
    assert counters.contribution(ticket(deleted_at=NOW)) == []


callers = st.builds(
    lambda role, access, teams: Caller(user_id="a1", role=role, access=access, teams=frozenset(teams)),
    st.sampled_from(["agent", "admin"]),
    st.sampled_from(["all", "team", "assigned"]),
    st.sets(st.sampled_from(["support", "eng", "sales"]), max_size=2),
)
count_filters = st.fixed_dictionaries(
    {},
    optional={
        "team_id": st.sampled_from(["support", "eng", "sales", "-", ""]),
        "assignee_id": st.sampled_from(["a1", "a2", "-"]),
        "status_category": st.sampled_from(["open", "pending", "resolved"]),
    },
)


def listed(caller: Caller, filters: dict[str, str], ticket: Ticket) -> bool:
    """GET /v1/tickets' answer, spelled out: visible and matching every filter."""
    wanted = {k: (None if v in ("", "-") else v) for k, v in filters.items()}
    return (
        can_see(caller, ticket)
        and ("team_id" not in wanted or ticket.team_id == wanted["team_id"])
        and ("assignee_id" not in wanted or ticket.assignee_id == wanted["assignee_id"])
        and ("status_category" not in wanted or ticket.status_category == wanted["status_category"])
    )


@given(st.lists(states, max_size=10), callers, count_filters)
def test_the_signed_counters_of_a_filter_equal_the_tickets_the_caller_lists(tickets, caller, filters):
    terms = counters.count_terms(caller, filters)
    assert terms is not None
    values = counters.recount(tickets)
    assert sum(sign * values.get(name, 0) for name, sign in terms.items()) == sum(listed(caller, filters, t) for t in tickets)


def test_filters_without_a_counter_have_no_count():
    agent = Caller(user_id="a1", role="agent")
    assert counters.count_terms(agent, {"priority": "high"}) is None
    assert counters.count_terms(agent, {"status": "open"}) is None
    assert counters.count_terms(Caller(user_id="c", role="customer"), {}) is None
