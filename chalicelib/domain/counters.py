"""Open-ticket counters: how many tickets each list partition holds per status category. Pure.

A ticket counts once in each of its counter partitions, under its status category:
`ASSIGNEE#<assignee or ->`, `TEAM#<team or ->` and, while it has no assignee,
`UNASSIGNED#<team or ->` (a team's queue). A deleted ticket counts nowhere. The ticket stream
keeps the counters exact (storage/counters.py): each ticket's last applied contribution is
stored with the version it came from, and a newer version moves the counters by the difference,
so redelivered, repeated or reordered records never count twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from chalicelib.domain.tickets import Ticket

NONE = "-"


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
    out = [counter_id(f"ASSIGNEE#{ticket.assignee_id or NONE}", category), counter_id(f"TEAM#{team}", category)]
    if ticket.assignee_id is None:
        out.append(counter_id(f"UNASSIGNED#{team}", category))
    return sorted(out)


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
