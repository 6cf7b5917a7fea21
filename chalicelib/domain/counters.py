"""Open-ticket counters: how many tickets each list partition holds per status category. Pure.

A ticket counts once in each of its counter partitions, under its status category:
`ALL`, `ASSIGNEE#<assignee or ->`, `TEAM#<team or ->` and, while it has no assignee,
`UNASSIGNED#<team or ->` (a team's queue), otherwise `TEAM#<team or ->#ASSIGNEE#<assignee>`
(the pair: what a team agent may see of another team, or counted twice in their union). A
deleted ticket counts nowhere. The ticket stream
keeps the counters exact (storage/counters.py): each ticket's last applied contribution is
stored with the version it came from, and a newer version moves the counters by the difference,
so redelivered, repeated or reordered records never count twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from chalicelib.domain.tickets import Ticket
from chalicelib.domain.visibility import Caller

NONE = "-"
CATEGORIES = ("open", "pending", "resolved", "closed")
# The filters a count can be made of: every other filter (priority, tag, requester, a status
# name, ...) is a residual the counters do not split by.
COUNTED_FILTERS = frozenset({"assignee_id", "team_id", "status_category"})


def counter_id(partition: str, category: str) -> str:
    return f"{partition}|{category}"


def split_counter_id(counter: str) -> tuple[str, str]:
    partition, _, category = counter.rpartition("|")
    return partition, category


def assignee_counter(user_id: str, category: str) -> str:
    return counter_id(f"ASSIGNEE#{user_id}", category)


def contribution(ticket: Ticket | None) -> list[str]:
    """The counters one ticket adds 1 to (sorted; empty when deleted or gone)."""
    if ticket is None or ticket.is_deleted:
        return []
    category = ticket.status_category
    team = ticket.team_id or NONE
    assignee = ticket.assignee_id or NONE
    out = [
        counter_id("ALL", category),
        counter_id(f"ASSIGNEE#{assignee}", category),
        counter_id(f"TEAM#{team}", category),
        counter_id(pair(team, assignee), category),
    ]
    return sorted(out)


def pair(team: str, assignee: str) -> str:
    """The partition of one team's tickets of one assignee (`-`: the team's unassigned queue)."""
    return f"UNASSIGNED#{team}" if assignee == NONE else f"TEAM#{team}#ASSIGNEE#{assignee}"


def count_terms(caller: Caller, filters: Mapping[str, str]) -> dict[str, int] | None:
    """How to count the tickets GET /v1/tickets lists for `filters` and this caller from the
    counters: each counter with its sign (the sum is the count), or None when a filter has no
    counter. Visibility is counted exactly: a team agent sees their teams, no team and their
    own tickets, so "everything" is those teams' counters plus their own counter minus their
    own tickets inside those teams (the pairs), which would otherwise count twice."""
    if not caller.is_staff or set(filters) - COUNTED_FILTERS:
        return None
    categories = (filters["status_category"],) if filters.get("status_category") else CATEGORIES
    team = _value(filters.get("team_id"))
    assignee = _value(filters.get("assignee_id"))
    out: Counter[str] = Counter()
    for partition, sign in _partitions(caller, team, assignee):
        for category in categories:
            out[counter_id(partition, category)] += sign
    return {key: value for key, value in sorted(out.items()) if value}


def _value(value: str | None) -> str | None:
    return None if value is None else (value or NONE)


def _partitions(caller: Caller, team: str | None, assignee: str | None) -> list[tuple[str, int]]:
    me = caller.user_id
    if caller.sees_everything:
        if team is not None and assignee is not None:
            return [(pair(team, assignee), 1)]
        if team is not None:
            return [(f"TEAM#{team}", 1)]
        if assignee is not None:
            return [(f"ASSIGNEE#{assignee}", 1)]
        return [("ALL", 1)]
    if assignee is not None and assignee != me:
        if caller.access == "assigned":
            return []
        if team is not None:
            return [(pair(team, assignee), 1)] if team in _scope(caller) else []
        return [(pair(t, assignee), 1) for t in _scope(caller)]
    if caller.access == "assigned" or assignee == me:
        return [(pair(team, me), 1)] if team is not None else [(f"ASSIGNEE#{me}", 1)]
    if team is not None:  # any assignee, one team
        return [(f"TEAM#{team}", 1)] if team in _scope(caller) else [(pair(team, me), 1)]
    teams = _scope(caller)
    return [(f"TEAM#{t}", 1) for t in teams] + [(f"ASSIGNEE#{me}", 1)] + [(pair(t, me), -1) for t in teams]


def _scope(caller: Caller) -> list[str]:
    """The teams whose every ticket a team agent sees: theirs and "no team"."""
    return [*sorted(caller.teams), NONE]


def difference(old: Sequence[str], new: Sequence[str]) -> dict[str, int]:
    """What moving from contribution `old` to `new` adds to each counter (zeros left out)."""
    delta: Counter[str] = Counter(new)
    delta.subtract(Counter(old))
    return {key: value for key, value in sorted(delta.items()) if value}


def recount(tickets: Iterable[Ticket]) -> dict[str, int]:
    """What the counters must hold for these tickets (the property tests' reference)."""
    total: Counter[str] = Counter()
    for ticket in tickets:
        total.update(contribution(ticket))
    return {key: value for key, value in sorted(total.items()) if value}
