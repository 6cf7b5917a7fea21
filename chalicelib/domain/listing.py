"""Ticket lists: which index partitions a ticket is filed under, which ones a query reads,
and how pages read from several partitions merge into one ordered page.

Each ticket is filed under a handful of index partitions (one entry item each). A list
request reads one partition, or for callers whose visibility is a union (team agents,
org admins) a few, merged here by sort key. Filters that no partition serves are applied
as DynamoDB filter expressions ("residual" filters).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.pipelines import DEFAULT_PIPELINE
from chalicelib.domain.tickets import Ticket
from chalicelib.domain.visibility import Caller

NONE = "-"  # partition value for "no team" / "unassigned"


def stamp(at: datetime) -> str:
    """Fixed-width UTC timestamp whose string order is time order (the time part of every position)."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


FILTER_KEYS = (
    "status",
    "status_category",
    "priority",
    "type",
    "assignee_id",
    "team_id",
    "requester_id",
    "organization_id",
    "tag",
    "pipeline_id",
)
# Filters on agent-only properties (API.md: customers never get agent-only data): for other
# roles they would be an oracle for the hidden values (which of my tickets is tagged `vip`?).
STAFF_ONLY_FILTERS = ("team_id", "tag")
# Residual filters on list attributes ("contains"): the filter key and the attribute it tests.
LIST_FILTERS = {"tag": "tags", "follower": "followers"}
SORTS = ("-last_activity_at", "last_activity_at", "-created_at", "created_at")
# Filters that name an index partition, most selective first.
_PARTITION_FILTERS = (
    ("assignee_id", "ASSIGNEE"),
    ("requester_id", "USER"),
    ("team_id", "TEAM"),
    ("organization_id", "ORG"),
    ("tag", "TAG"),
    ("status", "STATUS"),
    # Only custom pipelines have a partition: `pipeline_id=default` is a residual filter on the
    # entries' missing attribute (tickets from before pipelines have no partition to be in).
    ("pipeline_id", "PIPELINE"),
)


def index_partitions(ticket: Ticket) -> set[str]:
    """Every partition a live ticket is listed under."""
    category = ticket.status_category
    team, assignee = ticket.team_id or NONE, ticket.assignee_id or NONE
    parts = {
        "ALL",
        f"STATUS#{ticket.status}",
        f"USER#{ticket.requester_id}",
        f"TEAM#{team}",
        f"ASSIGNEE#{assignee}",
        # The views' partitions (domain.views): by status category, alone and within the
        # team/assignee ones, so "my open tickets" or "pending in my teams" read only what
        # they return. Four entries more per ticket (docs/data-model.md, the budget).
        f"CATEGORY#{category}",
        f"TEAM#{team}#{category}",
        f"ASSIGNEE#{assignee}#{category}",
    }
    if ticket.assignee_id is None:
        parts.add(f"TEAM#{team}#UNASSIGNED#{category}")
    parts.update(f"USER#{user}" for user in ticket.cc)
    parts.update(f"TAG#{tag}" for tag in ticket.tags)
    if ticket.organization_id:
        parts.add(f"ORG#{ticket.organization_id}")
    if ticket.pipeline_id != DEFAULT_PIPELINE:
        parts.add(f"PIPELINE#{ticket.pipeline_id}")
    return parts


def scope_partitions(caller: Caller) -> tuple[str, ...]:
    """The partitions whose union is exactly what the caller may see."""
    if caller.sees_everything:
        return ("ALL",)
    if caller.role == "agent":
        if caller.access == "assigned":
            return (f"ASSIGNEE#{caller.user_id}",)
        teams = tuple(f"TEAM#{t}" for t in sorted(caller.teams))
        return (*teams, f"TEAM#{NONE}", f"ASSIGNEE#{caller.user_id}")
    if caller.org_admin and caller.org_id:
        return (f"ORG#{caller.org_id}", f"USER#{caller.user_id}")
    return (f"USER#{caller.user_id}",)


def category_partition(partition: str, category: str) -> str:
    """The partition holding the tickets of `partition` whose status category is `category`."""
    if partition == "ALL":
        return f"CATEGORY#{category}"
    return f"{partition}#{category}"


@dataclass(frozen=True)
class ListPlan:
    partitions: tuple[str, ...]
    filters: Mapping[str, str] = field(default_factory=dict)  # residual equality filters
    visibility_filter: bool = False  # whether the caller's visibility must be checked per item
    descending: bool = True
    by: str = "last_activity_at"
    # Inclusive lower bound on the sort key (a view's "last 7 days"): a key condition, not a filter.
    lower_bound: str | None = None


def plan_list(caller: Caller, filters: Mapping[str, str], sort: str = "-last_activity_at") -> ListPlan:
    """Pick the partitions to read and the filters left for the filter expression."""
    hidden = [key for key in STAFF_ONLY_FILTERS if key in filters and not caller.is_staff]
    if hidden:
        raise ValidationFailed([FieldError(key, "agents only: not a filter for customers") for key in hidden])
    descending = sort.startswith("-")
    by = sort.lstrip("-")
    scope = scope_partitions(caller)
    if "tag" in filters:  # tags are stored lowercased
        filters = {**filters, "tag": filters["tag"].strip().lower()}
    if filters.get("pipeline_id") == DEFAULT_PIPELINE:  # stored as no attribute (domain.pipelines)
        filters = {**filters, "pipeline_id": NONE}
    category = filters.get("status_category")
    if category is not None and "status" not in filters:
        planned = _plan_by_category(scope, filters, category, descending, by)
        if planned is not None:
            return planned
    for key, prefix in _PARTITION_FILTERS:
        if key not in filters or (key == "pipeline_id" and filters[key] == NONE):
            continue
        partition = f"{prefix}#{filters[key] or NONE}"
        residual = {k: v for k, v in filters.items() if k != key}
        if key == "requester_id":  # USER# also files CC'd tickets
            residual["requester_id"] = filters[key]
        inside_scope = partition in scope or scope == ("ALL",)
        return ListPlan((partition,), residual, not inside_scope, descending, by)
    return ListPlan(scope, dict(filters), False, descending, by)


def _plan_by_category(
    scope: tuple[str, ...], filters: Mapping[str, str], category: str, descending: bool, by: str
) -> ListPlan | None:
    """A status category with no filter, an assignee, a team, or a team's unassigned tickets is
    served by a category partition; other combinations keep the category as a residual filter."""
    rest = {k: v for k, v in filters.items() if k != "status_category"}
    everything = scope == ("ALL",)
    if not rest:
        return ListPlan(tuple(category_partition(p, category) for p in scope), {}, False, descending, by)
    assignee, team = rest.get("assignee_id"), rest.get("team_id")
    if set(rest) == {"assignee_id"} and assignee is not None:
        base = f"ASSIGNEE#{assignee or NONE}"
        return ListPlan((category_partition(base, category),), {}, not (everything or base in scope), descending, by)
    if set(rest) == {"team_id"} and team is not None:
        base = f"TEAM#{team or NONE}"
        return ListPlan((category_partition(base, category),), {}, not (everything or base in scope), descending, by)
    if set(rest) == {"team_id", "assignee_id"} and team is not None and (assignee or NONE) == NONE:
        base = f"TEAM#{team or NONE}"
        partition = f"{base}#UNASSIGNED#{category}"
        return ListPlan((partition,), {}, not (everything or base in scope), descending, by)
    return None


def matches(plan: ListPlan, caller: Caller, item: Mapping[str, Any], visible: Callable[..., bool]) -> bool:
    """In-memory evaluation of the plan's residual filters (the storage layer renders the same
    rules as a DynamoDB filter expression; this twin lets tests check the planner)."""
    for key, value in plan.filters.items():
        if key in LIST_FILTERS:
            if value not in item.get(LIST_FILTERS[key], []):
                return False
        elif (item.get(key) or None) != (None if value in ("", NONE) else value):
            return False
    if plan.visibility_filter:
        return bool(
            visible(
                caller,
                requester_id=item["requester_id"],
                cc=item.get("cc", []),
                organization_id=item.get("organization_id"),
                team_id=item.get("team_id"),
                assignee_id=item.get("assignee_id"),
            )
        )
    return True


@dataclass(frozen=True)
class PartitionPage:
    """What one Query of one partition returned: items in key order, and the sort key of
    the last item DynamoDB evaluated (None when the partition is exhausted)."""

    items: Sequence[Mapping[str, Any]]
    last_evaluated: str | None


def merge_pages(
    pages: Sequence[PartitionPage], *, limit: int, descending: bool, sort_key: Callable[[Mapping[str, Any]], str]
) -> tuple[list[Mapping[str, Any]], str | None]:
    """Merge per-partition pages into one page and the position to continue after.

    Only items on the near side of every unfinished partition's last evaluated key are
    safe to return: beyond it, another partition may still hold an item that sorts
    earlier. Positions are sort keys (`<timestamp>#<ticket id>`), so one position serves
    every partition, and an item filed under several partitions is returned once.
    """
    frontier: str | None = None
    for page in pages:
        if page.last_evaluated is None:
            continue
        if frontier is None:
            frontier = page.last_evaluated
        elif descending:
            frontier = max(frontier, page.last_evaluated)
        else:
            frontier = min(frontier, page.last_evaluated)

    def reachable(key: str) -> bool:
        if frontier is None:
            return True
        return key >= frontier if descending else key <= frontier

    unique: dict[str, Mapping[str, Any]] = {}
    for page in pages:
        for item in page.items:
            key = sort_key(item)
            if reachable(key):
                unique.setdefault(key, item)
    ordered = sorted(unique.items(), key=lambda kv: kv[0], reverse=descending)
    chosen = ordered[:limit]
    if len(ordered) > limit:
        return [item for _, item in chosen], chosen[-1][0]
    return [item for _, item in chosen], frontier
