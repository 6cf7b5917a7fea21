"""Shaping domain objects into API representations, per caller."""

from __future__ import annotations

import dataclasses
from typing import Any

from chalicelib import composition
from chalicelib.domain.sla import summary as sla_summary
from chalicelib.domain.tickets import Ticket
from chalicelib.domain.visibility import AGENT_ONLY_PROPERTIES, Caller

# Ticket fields only staff receive (API.md: customers never get agent-only data).
AGENT_ONLY = tuple(sorted(AGENT_ONLY_PROPERTIES))
_HIDDEN = ("deleted_at",)


def ticket_view(
    ticket: Ticket, caller: Caller, *, with_description: bool = True, links: list[str] | None = None
) -> dict[str, Any]:
    """`links`: the linked tickets the caller may see (LinkService.visible_links). Callers
    who see every ticket get them all; others get them only where they were checked (GET)."""
    data = {f.name: getattr(ticket, f.name) for f in dataclasses.fields(ticket) if f.name not in _HIDDEN}
    if not with_description:
        data.pop("description")
        data.pop("channel_details")  # list entries do not carry it
    data["sla"] = sla_summary(ticket.sla, composition.clock())
    if links is not None:
        data["links"] = links
    elif not caller.sees_everything:
        data.pop("links")
    if not caller.is_staff:
        for name in AGENT_ONLY:
            data.pop(name, None)
    return data


def directory_view(entry: Any) -> dict[str, Any]:
    """A user, organization, team or status record as the API shows it."""
    return {
        "id": entry.id,
        "name": entry.name,
        **entry.data,
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
        "version": entry.version,
    }
