"""Following a ticket."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from chalicelib.domain.tickets import Change, Ticket


def with_follower(ticket: Ticket, user_id: str, follow: bool, now: datetime) -> tuple[Ticket, list[Change]]:
    """The ticket after `user_id` follows or unfollows it; no change if already so."""
    following = user_id in ticket.followers
    if following == follow:
        return ticket, []
    followers = [*ticket.followers, user_id] if follow else [u for u in ticket.followers if u != user_id]
    updated = dataclasses.replace(ticket, followers=followers, updated_at=now, version=ticket.version + 1)
    return updated, [Change("followers", list(ticket.followers), followers)]
