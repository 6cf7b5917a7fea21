"""Ticket lists: the planner against a brute-force model of visibility and filters, and the
merge of per-partition pages against a simulated DynamoDB Query."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.listing import (
    FILTER_KEYS,
    NONE,
    SORTS,
    STAFF_ONLY_FILTERS,
    ListPlan,
    PartitionPage,
    index_partitions,
    matches,
    merge_pages,
    plan_list,
    scope_partitions,
)
from chalicelib.domain.tickets import PRIORITIES, TYPES, Ticket
from chalicelib.domain.visibility import Caller, can_see, sees_ticket_fields

T0 = datetime(2026, 11, 21, tzinfo=UTC)

CUSTOMERS = ("alice", "bob", "carol", "dave")
AGENTS = ("agnes", "bert", "cleo")
ORGS = ("acme", "globex")
TEAMS = ("billing", "sales", "support")
STATUSES = ("open", "pending", "resolved", "closed", "waiting_on_vendor")
TAGS = ("vip", "bug", "billing", "urgent")
PIPELINES = ("default", "invoices")

# Filter values: the pools tickets draw from, plus values no ticket has.
FILTER_VALUES: dict[str, tuple[str, ...]] = {
    "status": (*STATUSES, "on_hold"),
    "status_category": ("open", "pending", "resolved", "closed"),
    "priority": PRIORITIES,
    "type": TYPES,
    "assignee_id": (*AGENTS, "zoe", "alice", NONE),
    "team_id": (*TEAMS, "legal", NONE),
    "requester_id": (*CUSTOMERS, "erin", "agnes"),
    "organization_id": (*ORGS, "initech"),
    "tag": (*TAGS, "nope"),
    "pipeline_id": (*PIPELINES, "ghost"),
}


def make_ticket(**overrides: Any) -> Ticket:
    values: dict[str, Any] = {
        "id": "T1",
        "number": 1,
        "subject": "s",
        "description": "d",
        "requester_id": "alice",
        "created_at": T0,
        "updated_at": T0,
        "last_activity_at": T0,
    }
    values.update(overrides)
    return Ticket(**values)


def _ticket_from(i: int, fields: tuple[Any, ...]) -> Ticket:
    requester, cc, org, team, assignee, status, priority, kind, tags, deleted, minutes, pipeline = fields
    return make_ticket(
        id=f"T{i:03d}",
        number=i + 1,
        requester_id=requester,
        cc=list(cc),
        organization_id=org,
        team_id=team,
        assignee_id=assignee,
        status=status,
        status_category="pending" if status == "waiting_on_vendor" else status,
        priority=priority,
        type=kind,
        tags=list(tags),
        deleted_at=T0 if deleted else None,
        last_activity_at=T0 + timedelta(minutes=minutes),
        pipeline_id=pipeline,
    )


tickets = st.lists(
    st.tuples(
        st.sampled_from(CUSTOMERS),
        st.frozensets(st.sampled_from(CUSTOMERS), max_size=3),
        st.sampled_from((*ORGS, None)),
        st.sampled_from((*TEAMS, None)),
        st.sampled_from((*AGENTS, None)),
        st.sampled_from(STATUSES),
        st.sampled_from(PRIORITIES),
        st.sampled_from(TYPES),
        st.frozensets(st.sampled_from(TAGS), max_size=3),
        st.integers(0, 9).map(lambda n: n == 0),
        st.integers(0, 50),
        st.sampled_from(PIPELINES),
    ),
    max_size=16,
).map(lambda rows: [_ticket_from(i, row) for i, row in enumerate(rows)])


@st.composite
def callers(draw: st.DrawFn) -> Caller:
    role = draw(st.sampled_from(("admin", "agent", "customer")))
    pool = AGENTS if role != "customer" else CUSTOMERS
    return Caller(
        user_id=draw(st.sampled_from((*pool, "nobody"))),
        role=role,
        org_id=draw(st.sampled_from((*ORGS, None, "initech"))),
        org_admin=draw(st.booleans()),
        teams=frozenset(draw(st.lists(st.sampled_from((*TEAMS, "legal")), unique=True, max_size=3))),
        access=draw(st.sampled_from(("all", "team", "assigned"))),
    )


@st.composite
def filter_sets(draw: st.DrawFn) -> dict[str, str]:
    keys = draw(st.lists(st.sampled_from(FILTER_KEYS), unique=True, max_size=3))
    return {key: draw(st.sampled_from(FILTER_VALUES[key])) for key in keys}


filters_strategy = filter_sets()


ITEM_FIELDS = (
    "id", "requester_id", "cc", "organization_id", "team_id", "assignee_id", "status", "status_category", "priority", "type",
    "tags", "followers", "pipeline_id",
)  # fmt: skip


def as_item(ticket: Ticket) -> dict[str, Any]:
    """The ticket as a storage row (entry item): None attributes are absent."""
    values = {name: getattr(ticket, name) for name in ITEM_FIELDS}
    if values["pipeline_id"] == "default":  # storage keeps no attribute for the default pipeline
        values["pipeline_id"] = None
    return {k: v for k, v in values.items() if v is not None}


def stored_partitions(ticket: Ticket) -> set[str]:
    # Storage files a deleted ticket under no partition at all.
    return set() if ticket.is_deleted else index_partitions(ticket)


def run_plan(plan: ListPlan, caller: Caller, population: list[Ticket]) -> dict[str, Ticket]:
    """Simulated storage: one query per planned partition, residual filters applied, union by id."""
    rows = [(ticket, stored_partitions(ticket), as_item(ticket)) for ticket in population]
    found: dict[str, Ticket] = {}
    for partition in plan.partitions:
        for ticket, partitions, item in rows:
            if partition in partitions and matches(plan, caller, item, sees_ticket_fields):
                found.setdefault(ticket.id, ticket)
    return found


def brute_force(caller: Caller, filters: Mapping[str, str], population: list[Ticket]) -> set[str]:
    def passes(ticket: Ticket) -> bool:
        for key, value in filters.items():
            if key == "tag":
                if value not in ticket.tags:
                    return False
            elif getattr(ticket, key) != (None if value == NONE else value):
                return False
        return True

    return {t.id for t in population if can_see(caller, t) and passes(t)}


@settings(max_examples=200, deadline=None)
@given(population=tickets, caller=callers(), filters=filters_strategy, sort=st.sampled_from(SORTS))
def test_planned_list_is_exactly_the_visible_matching_tickets(
    population: list[Ticket], caller: Caller, filters: dict[str, str], sort: str
) -> None:
    if not caller.is_staff:  # refused for them (test_customers_may_not_filter_by_agent_only_properties)
        filters = {key: value for key, value in filters.items() if key not in STAFF_ONLY_FILTERS}
    plan = plan_list(caller, filters, sort)
    assert set(run_plan(plan, caller, population)) == brute_force(caller, filters, population)
    assert 1 <= len(plan.partitions) <= len(scope_partitions(caller))
    assert len(set(plan.partitions)) == len(plan.partitions)
    assert plan.descending is sort.startswith("-")
    assert plan.by == sort.lstrip("-")


@settings(max_examples=100, deadline=None)
@given(population=tickets, caller=callers())
def test_scope_partitions_union_is_exactly_what_the_caller_sees(population: list[Ticket], caller: Caller) -> None:
    scope = scope_partitions(caller)
    in_scope = {t.id for t in population if stored_partitions(t) & set(scope)}
    assert in_scope == {t.id for t in population if can_see(caller, t)}


def test_filter_pools_cover_every_filter_key() -> None:
    assert set(FILTER_VALUES) == set(FILTER_KEYS)


# -- planner examples ----------------------------------------------------------------

ADMIN = Caller("root", "admin")
TEAM_AGENT = Caller("agnes", "agent", teams=frozenset({"sales", "billing"}), access="team")
ASSIGNED_AGENT = Caller("agnes", "agent", access="assigned")
ORG_ADMIN = Caller("boss", "customer", org_id="acme", org_admin=True)
CUSTOMER = Caller("alice", "customer", org_id="acme")


def test_admin_without_filters_reads_the_all_partition() -> None:
    assert plan_list(ADMIN, {}) == ListPlan(("ALL",), {}, False, True, "last_activity_at")


def test_team_agent_reads_their_teams_the_no_team_partition_and_their_assignments() -> None:
    plan = plan_list(TEAM_AGENT, {}, "created_at")
    assert plan.partitions == ("TEAM#billing", "TEAM#sales", f"TEAM#{NONE}", "ASSIGNEE#agnes")
    assert (plan.descending, plan.by, plan.visibility_filter) == (False, "created_at", False)


def test_org_admin_reads_org_and_own_partitions() -> None:
    assert scope_partitions(ORG_ADMIN) == ("ORG#acme", "USER#boss")


def test_customer_reads_own_partition() -> None:
    assert scope_partitions(CUSTOMER) == ("USER#alice",)


def test_assigned_agent_reads_own_assignments() -> None:
    assert scope_partitions(ASSIGNED_AGENT) == ("ASSIGNEE#agnes",)


def test_filter_inside_scope_needs_no_visibility_check() -> None:
    plan = plan_list(TEAM_AGENT, {"team_id": "sales", "priority": "high"})
    assert plan.partitions == ("TEAM#sales",)
    assert plan.filters == {"priority": "high"}
    assert not plan.visibility_filter


def test_filter_outside_scope_keeps_the_visibility_check() -> None:
    plan = plan_list(CUSTOMER, {"status": "open"})
    assert plan.partitions == ("STATUS#open",)
    assert plan.visibility_filter


def test_most_selective_filter_picks_the_partition() -> None:
    plan = plan_list(ADMIN, {"status": "open", "tag": "vip", "assignee_id": "bert"})
    assert plan.partitions == ("ASSIGNEE#bert",)
    assert plan.filters == {"status": "open", "tag": "vip"}


def test_requester_filter_stays_residual_because_user_partition_holds_ccs() -> None:
    plan = plan_list(ADMIN, {"requester_id": "alice"})
    assert plan.partitions == ("USER#alice",)
    assert plan.filters == {"requester_id": "alice"}
    ccd = make_ticket(requester_id="bob", cc=["alice"])
    assert "USER#alice" in index_partitions(ccd)
    assert not matches(plan, ADMIN, as_item(ccd), sees_ticket_fields)


def test_index_partitions_of_a_ticket() -> None:
    t = make_ticket(
        requester_id="alice", cc=["bob"], organization_id="acme", team_id=None, assignee_id=None, tags=["vip"], status="open"
    )
    assert index_partitions(t) == {
        "ALL",
        "STATUS#open",
        "USER#alice",
        "USER#bob",
        "ORG#acme",
        f"TEAM#{NONE}",
        f"ASSIGNEE#{NONE}",
        "TAG#vip",
        # the views' partitions: by status category, and a team's unassigned tickets
        "CATEGORY#open",
        f"TEAM#{NONE}#open",
        f"ASSIGNEE#{NONE}#open",
        f"TEAM#{NONE}#UNASSIGNED#open",
    }


def test_ticket_without_org_has_no_org_partition() -> None:
    assert not any(p.startswith("ORG#") for p in index_partitions(make_ticket(organization_id=None)))


@pytest.mark.parametrize(("partition_key", "none_key"), [("assignee_id", "team_id"), ("requester_id", "organization_id")])
def test_none_marker_filter_matches_tickets_without_the_attribute(partition_key: str, none_key: str) -> None:
    # plan_list reads the NONE partition for an empty value, and storage renders a residual
    # NONE as attribute_not_exists; the in-memory twin must agree with both, so that e.g.
    # {"assignee_id": "bert", "team_id": "-"} finds bert's tickets that have no team.
    plan = plan_list(ADMIN, {partition_key: "bert", none_key: NONE})
    assert plan.partitions == (f"{'ASSIGNEE' if partition_key == 'assignee_id' else 'USER'}#bert",)
    assert plan.filters[none_key] == NONE
    item = as_item(make_ticket(**{partition_key: "bert", none_key: None}))
    assert matches(plan, ADMIN, item, sees_ticket_fields)


def test_empty_filter_value_means_without_the_attribute() -> None:
    plan = plan_list(ADMIN, {"team_id": ""})
    assert plan.partitions == (f"TEAM#{NONE}",)
    residual = plan_list(ADMIN, {"assignee_id": "bert", "team_id": ""})
    assert matches(residual, ADMIN, as_item(make_ticket(assignee_id="bert")), sees_ticket_fields)
    assert not matches(residual, ADMIN, as_item(make_ticket(assignee_id="bert", team_id="sales")), sees_ticket_fields)


# -- merge_pages against a simulated DynamoDB -----------------------------------------


def key_of(item: Mapping[str, Any]) -> str:
    return str(item["sk"])


def query(
    partition: list[str], passing: set[str], position: str | None, limit: int, descending: bool, eager_last_key: bool
) -> PartitionPage:
    """One DynamoDB Query: evaluate up to `limit` keys strictly after `position`, return those
    passing the filter expression; LastEvaluatedKey = last evaluated key if more may remain."""
    ordered = sorted(partition, reverse=descending)
    if position is not None:
        ordered = [k for k in ordered if (k < position if descending else k > position)]
    evaluated = ordered[:limit]
    more = len(ordered) > limit or (eager_last_key and len(evaluated) == limit)
    items = [{"sk": k} for k in evaluated if k in passing]
    return PartitionPage(items, evaluated[-1] if more and evaluated else None)


@st.composite
def partitioned_keys(draw: st.DrawFn) -> tuple[list[list[str]], set[str]]:
    ids = draw(st.lists(st.integers(0, 40), unique=True, max_size=20))
    keys = [f"2026-11-21T{draw(st.integers(0, 5)):02d}:00:00Z#T{i:03d}" for i in ids]
    count = draw(st.integers(1, 4))
    partitions: list[list[str]] = [[] for _ in range(count)]
    for key in keys:
        for index in draw(st.lists(st.integers(0, count - 1), min_size=1, max_size=count, unique=True)):
            partitions[index].append(key)
    return partitions, set(keys)


def page_through(partitions: list[list[str]], passing: set[str], limit: int, descending: bool, eager_last_key: bool) -> list[str]:
    distinct = {k for p in partitions for k in p}
    out: list[str] = []
    position: str | None = None
    for _ in range(len(distinct) + 2):
        pages = [query(p, passing, position, limit, descending, eager_last_key) for p in partitions]
        items, next_position = merge_pages(pages, limit=limit, descending=descending, sort_key=key_of)
        assert len(items) <= limit
        out.extend(key_of(item) for item in items)
        if next_position is None:
            return out
        assert position is None or (next_position < position if descending else next_position > position), "no progress"
        position = next_position
    raise AssertionError("merge_pages did not terminate")


@settings(max_examples=200, deadline=None)
@given(data=partitioned_keys(), limit=st.integers(1, 5), descending=st.booleans())
def test_paging_through_merged_partitions_yields_each_item_once_in_order(
    data: tuple[list[list[str]], set[str]], limit: int, descending: bool
) -> None:
    partitions, keys = data
    result = page_through(partitions, keys, limit, descending, eager_last_key=False)
    assert result == sorted(keys, reverse=descending)


@settings(max_examples=200, deadline=None)
@given(
    data=partitioned_keys(),
    limit=st.integers(1, 5),
    descending=st.booleans(),
    eager_last_key=st.booleans(),
    keep=st.randoms(use_true_random=False),
)
def test_paging_survives_filter_expressions_and_early_last_keys(
    data: tuple[list[list[str]], set[str]], limit: int, descending: bool, eager_last_key: bool, keep: Any
) -> None:
    # DynamoDB applies Limit before the filter expression (pages may come back short or
    # empty, with a LastEvaluatedKey that was not returned) and may send a LastEvaluatedKey
    # although nothing remains.
    partitions, keys = data
    passing = {k for k in sorted(keys) if keep.random() < 0.6}
    result = page_through(partitions, passing, limit, descending, eager_last_key)
    assert result == sorted(passing, reverse=descending)


def test_merge_holds_back_items_beyond_an_unfinished_partitions_frontier() -> None:
    near = PartitionPage([{"sk": "09#a"}, {"sk": "08#b"}], "08#b")
    done = PartitionPage([{"sk": "07#c"}, {"sk": "01#d"}], None)
    items, position = merge_pages([near, done], limit=5, descending=True, sort_key=key_of)
    assert [key_of(i) for i in items] == ["09#a", "08#b"]
    assert position == "08#b"


def test_merge_returns_a_shared_item_once() -> None:
    a = PartitionPage([{"sk": "05#x"}, {"sk": "03#y"}], None)
    b = PartitionPage([{"sk": "05#x"}], None)
    items, position = merge_pages([a, b], limit=5, descending=True, sort_key=key_of)
    assert [key_of(i) for i in items] == ["05#x", "03#y"]
    assert position is None


def test_merge_of_exhausted_empty_partitions_is_the_end() -> None:
    assert merge_pages([PartitionPage([], None)] * 3, limit=3, descending=False, sort_key=key_of) == ([], None)


def test_merge_cuts_at_limit_and_continues_after_the_last_item() -> None:
    a = PartitionPage([{"sk": "01#a"}, {"sk": "03#c"}], None)
    b = PartitionPage([{"sk": "02#b"}, {"sk": "04#d"}], None)
    items, position = merge_pages([a, b], limit=3, descending=False, sort_key=key_of)
    assert [key_of(i) for i in items] == ["01#a", "02#b", "03#c"]
    assert position == "03#c"


@pytest.mark.parametrize("key", STAFF_ONLY_FILTERS)
def test_customers_may_not_filter_by_agent_only_properties(key: str) -> None:
    customer = Caller(user_id="c1", role="customer", org_id="acme", org_admin=True)
    with pytest.raises(ValidationFailed) as refused:
        plan_list(customer, {key: "x"})
    assert [e.field for e in refused.value.errors] == [key]
    assert plan_list(Caller(user_id="a1", role="agent", access="all"), {key: "x"}).partitions
