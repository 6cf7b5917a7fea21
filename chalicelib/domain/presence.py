"""Presence: which agents are on a ticket right now (seed 004; issue 11).

An agent's client sends a heartbeat while the ticket is open; a viewer is shown for 60 s after
their last heartbeat and never after (TTL removes items late, so readers decide by `seen_at`).
Only agents who may see the ticket are shown: a heartbeat does not read the ticket, so one sent
for a ticket the agent cannot see is stored but never shown, and its answer is the same as for
any other ticket id. The caller is not among their own viewers; at most five are named, oldest
viewing first, and `viewers_more` counts the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from chalicelib.domain.tickets import Ticket
from chalicelib.domain.visibility import Caller, can_see

PRESENCE_WINDOW = timedelta(seconds=60)
SHOWN_VIEWERS = 5


@dataclass(frozen=True)
class Viewer:
    who: Caller  # as they were at their last heartbeat: who they are and what they could see
    since: str  # RFC 3339 UTC stamp of the first heartbeat of this viewing
    seen_at: str  # of the last heartbeat


def shown_viewers(viewers: list[Viewer], ticket: Ticket, caller: Caller, cutoff: str) -> tuple[list[Viewer], int]:
    """The viewers `caller` is shown on `ticket` (heartbeats at or after `cutoff`), and how many more."""
    if not caller.is_staff:
        return [], 0
    live = [
        v
        for v in viewers
        if v.seen_at >= cutoff and v.who.user_id != caller.user_id and v.who.is_staff and can_see(v.who, ticket)
    ]
    live.sort(key=lambda v: (v.since, v.who.user_id))
    return live[:SHOWN_VIEWERS], max(0, len(live) - SHOWN_VIEWERS)
