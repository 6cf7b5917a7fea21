"""Proxy access: an agent may sign in as the requester while the ticket allows it; every change is audited."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from chalicelib.domain.activities import Activity
from chalicelib.domain.errors import NotAllowed
from chalicelib.domain.tickets import Change, Ticket
from chalicelib.domain.visibility import Caller


# -- proxy-login access -------------------------------------------------------------------
def set_proxy_access(caller: Caller, ticket: Ticket, enabled: bool, now: datetime) -> tuple[Ticket, list[Change]]:
    """Seed 002: the requester toggles support's proxy login for this ticket. Turning it off
    stops future proxy logins; it does not end a session already open."""
    if ticket.requester_id != caller.user_id:
        raise NotAllowed("only the ticket's requester can change support's proxy-login access")
    if ticket.proxy_access == enabled:
        return ticket, []
    updated = dataclasses.replace(ticket, proxy_access=enabled, updated_at=now, version=ticket.version + 1)
    return updated, [Change("proxy_access", ticket.proxy_access, enabled)]


def proxy_audit_entry(ticket: Ticket, caller: Caller, enabled: bool, now: datetime, entry_id: str) -> Activity:
    """The audit entry of one toggle: type `proxy_access`, internal (agents only, never public)."""
    return Activity(
        id=entry_id,
        ticket_id=ticket.id,
        type="proxy_access",
        visibility="internal",
        actor_id=caller.user_id,
        at=now,
        fields={"event": "proxy_access_changed", "enabled": enabled},
    )
