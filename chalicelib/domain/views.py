"""Views: named ticket lists an agent works from (issue 11).

A view is filters + a sort over the ticket lists of `domain.listing`, planned by the same
`plan_list` that serves `GET /v1/tickets`, so a view never shows a ticket the caller could not
list there. Six default views every agent has (API.md); saved views hold exactly the filters and
sorts `GET /v1/tickets` accepts.

Semantics of the defaults (docs/decisions.md, "Workspace: views and presence"):
- `mine-open`: assigned to the caller, status category `open`.
- `unassigned-my-teams`: no assignee, team one of the caller's teams, category `open`
  (tickets without a team are in `all-open`; an agent without teams has an empty view).
- `all-open` / `pending`: every ticket the caller may see in category `open` / `pending`.
- `recently-solved`: category `resolved`, last activity within the last 7 days.
- `following`: the tickets the caller follows that they may see, any status.
All sort by last activity, newest first. Each is served by list partitions (no residual filter)
except `following`, whose follower test is a filter expression (docs/data-model.md, "Views").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain.counters import count_terms
from chalicelib.domain.errors import FieldError, NotAllowed, NotFound, ValidationFailed
from chalicelib.domain.listing import NONE, ListPlan, plan_list
from chalicelib.domain.visibility import Caller

RECENTLY_SOLVED_WINDOW = timedelta(days=7)
VISIBILITIES = ("private", "team", "shared")
MAX_NAME = 200


@dataclass(frozen=True)
class DefaultView:
    id: str
    name: str
    # What the view shows, as GET /v1/tickets filters; "me" / "my teams" are the caller's.
    filters: Mapping[str, str]
    sort: str = "-last_activity_at"


DEFAULT_VIEWS: tuple[DefaultView, ...] = (
    DefaultView("mine-open", "My open tickets", {"assignee_id": "me", "status_category": "open"}),
    DefaultView(
        "unassigned-my-teams", "Unassigned in my teams", {"assignee_id": NONE, "team_id": "my teams", "status_category": "open"}
    ),
    DefaultView("all-open", "All open tickets", {"status_category": "open"}),
    DefaultView("pending", "Pending tickets", {"status_category": "pending"}),
    DefaultView(
        "recently-solved", "Recently solved (7 days)", {"status_category": "resolved", "last_activity_after": "7 days ago"}
    ),
    DefaultView("following", "Tickets I follow", {"follower": "me"}),
)
DEFAULT_IDS = frozenset(v.id for v in DEFAULT_VIEWS)


@dataclass(frozen=True)
class SavedView:
    """A view an agent saved: `filters` and `sort` exactly as GET /v1/tickets takes them."""

    id: str
    name: str
    owner_id: str
    visibility: str  # private | team | shared
    team_id: str | None
    filters: Mapping[str, str]
    sort: str
    created_at: datetime
    updated_at: datetime
    version: int = 1


def default_view(view_id: str) -> DefaultView | None:
    return next((v for v in DEFAULT_VIEWS if v.id == view_id), None)


def plan_default(caller: Caller, view_id: str, solved_since: str) -> ListPlan:
    """The list plan of a default view for this caller; `solved_since` is `now - 7 days` as a
    sort key prefix (the storage layer's format), the lower bound of `recently-solved`."""
    require_staff(caller)
    me = caller.user_id
    if view_id == "mine-open":
        return plan_list(caller, {"assignee_id": me, "status_category": "open"})
    if view_id == "unassigned-my-teams":
        if caller.role == "agent" and caller.access == "assigned":
            return ListPlan(())  # they see no unassigned ticket at all: nothing to read
        plans = [plan_list(caller, {"assignee_id": NONE, "team_id": t, "status_category": "open"}) for t in sorted(caller.teams)]
        return union(plans)
    if view_id == "all-open":
        return plan_list(caller, {"status_category": "open"})
    if view_id == "pending":
        return plan_list(caller, {"status_category": "pending"})
    if view_id == "recently-solved":
        return dataclasses.replace(plan_list(caller, {"status_category": "resolved"}), lower_bound=solved_since)
    if view_id == "following":
        plan = plan_list(caller, {})
        return dataclasses.replace(plan, filters={**plan.filters, "follower": me})
    raise NotFound("no such view")


def recently_solved_since(now: datetime) -> datetime:
    return now - RECENTLY_SOLVED_WINDOW


def union(plans: list[ListPlan]) -> ListPlan:
    """One plan reading the partitions of several plans that share residual filters and sort."""
    if not plans:
        return ListPlan(())
    first = plans[0]
    if any(p.filters != first.filters or (p.by, p.descending) != (first.by, first.descending) for p in plans):
        raise ValueError("only plans with the same residual filters and sort can be merged")
    partitions = tuple(dict.fromkeys(p for plan in plans for p in plan.partitions))
    return dataclasses.replace(first, partitions=partitions, visibility_filter=any(p.visibility_filter for p in plans))


def require_staff(caller: Caller) -> None:
    """Views are the agents' workspace; customers have "My tickets" (GET /v1/me/tickets)."""
    if not caller.is_staff:
        raise NotAllowed("views are for agents; customers list their tickets with GET /v1/me/tickets")


# -- saved views: who may use and change them ---------------------------------------------
def may_use(caller: Caller, view: SavedView) -> bool:
    """Private: the owner; team: the owner and the team's members; shared: every agent.
    Admins may use (and manage) every view."""
    if caller.is_admin or view.owner_id == caller.user_id:
        return True
    if not caller.is_staff:
        return False
    if view.visibility == "shared":
        return True
    return view.visibility == "team" and view.team_id in caller.teams


def may_change(caller: Caller, view: SavedView) -> bool:
    """The owner and admins; a team view's members use it but do not edit it."""
    return caller.is_admin or view.owner_id == caller.user_id


def check_audience(caller: Caller, visibility: str, team_id: str | None) -> None:
    """A team view names a team its creator is in (admins: any team); other views name none."""
    errors = []
    if visibility not in VISIBILITIES:
        errors.append(FieldError("visibility", f"must be one of {', '.join(VISIBILITIES)}"))
    elif visibility == "team":
        if not team_id:
            errors.append(FieldError("team_id", "a team view names its team"))
        elif not caller.is_admin and team_id not in caller.teams:
            errors.append(FieldError("team_id", "not one of your teams"))
    elif team_id is not None:
        errors.append(FieldError("team_id", "only team views name a team"))
    if errors:
        raise ValidationFailed(errors)


def plan_saved(caller: Caller, view: SavedView) -> ListPlan:
    """Exactly what GET /v1/tickets answers for these filters and sort."""
    require_staff(caller)
    return plan_list(caller, view.filters, view.sort)


# -- counts (GET /v1/views?counts=true) ----------------------------------------------------
# Why a view has no count (`count: null`): API.md asks for exact counts, and these are the views
# no counter can count exactly without reading tickets (docs/decisions.md, "Sidebar counts").
NO_COUNT_WINDOW = "time_window"  # recently-solved: a rolling 7 days; counters do not expire
NO_COUNT_FOLLOWER = "follower_filter"  # following: nothing counts per follower
NO_COUNT_FILTER = "residual_filter"  # a saved view filtering by more than team, assignee, category


@dataclass(frozen=True)
class ViewCount:
    """How to count one view: counters with their signs, or why it cannot be counted."""

    terms: Mapping[str, int] | None
    unavailable: str | None = None


def count_of(caller: Caller, view: DefaultView | SavedView) -> ViewCount:
    """The counters whose signed sum is exactly the number of tickets the view lists."""
    require_staff(caller)
    if isinstance(view, SavedView):
        terms = count_terms(caller, view.filters)
        return ViewCount(terms) if terms is not None else ViewCount(None, NO_COUNT_FILTER)
    me = caller.user_id
    if view.id == "mine-open":
        return ViewCount(count_terms(caller, {"assignee_id": me, "status_category": "open"}))
    if view.id == "unassigned-my-teams":
        total: dict[str, int] = {}
        if not (caller.role == "agent" and caller.access == "assigned"):
            for team in sorted(caller.teams):
                for counter, sign in (
                    count_terms(caller, {"assignee_id": NONE, "team_id": team, "status_category": "open"}) or {}
                ).items():
                    total[counter] = total.get(counter, 0) + sign
        return ViewCount(total)
    if view.id == "all-open":
        return ViewCount(count_terms(caller, {"status_category": "open"}))
    if view.id == "pending":
        return ViewCount(count_terms(caller, {"status_category": "pending"}))
    if view.id == "recently-solved":
        return ViewCount(None, NO_COUNT_WINDOW)
    if view.id == "following":
        return ViewCount(None, NO_COUNT_FOLLOWER)
    raise NotFound("no such view")


def total(terms: Mapping[str, int], values: Mapping[str, int]) -> int:
    """The signed sum of counter values (absent counters are 0)."""
    return sum(sign * values.get(counter, 0) for counter, sign in terms.items())
