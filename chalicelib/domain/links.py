"""Linked tickets: each link is one id on both tickets, bounded."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from chalicelib.domain.errors import Conflict
from chalicelib.domain.tickets import Change, Ticket

# -- links --------------------------------------------------------------------------------
# Each link is one id on both tickets, and both tickets are rewritten (with their list entries)
# when one is added: bounded so a ticket item and its copies stay small.
MAX_LINKS = 50


def _check_pair(a: Ticket, b: Ticket, action: str) -> None:
    if a.id == b.id:
        raise Conflict(f"a ticket cannot {action} itself")
    for ticket in (a, b):
        if ticket.merged_into is not None:
            raise Conflict(f"ticket {ticket.id} was merged into {ticket.merged_into}; use that ticket")


def with_link(ticket: Ticket, other_id: str, link: bool, now: datetime) -> tuple[Ticket, list[Change]]:
    """The ticket with `other_id` added to (or removed from) its links; no change if already so."""
    present = other_id in ticket.links
    if present == link:
        return ticket, []
    links = [*ticket.links, other_id] if link else [t for t in ticket.links if t != other_id]
    if len(links) > MAX_LINKS:
        raise Conflict(f"a ticket has at most {MAX_LINKS} links")
    updated = dataclasses.replace(ticket, links=links, updated_at=now, version=ticket.version + 1)
    return updated, [Change("links", list(ticket.links), links)]


def check_link(ticket: Ticket, other: Ticket) -> None:
    _check_pair(ticket, other, "be linked to")
