"""Presence use cases: an agent's heartbeat, and a ticket opened with its viewers (issue 11)."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.errors import NotAllowed, TicketNotFound
from chalicelib.domain.presence import PRESENCE_WINDOW, Viewer, shown_viewers
from chalicelib.domain.tickets import Ticket
from chalicelib.domain.visibility import Caller
from chalicelib.services.tickets import TicketService
from chalicelib.storage import keys
from chalicelib.storage.presence import PresenceRepository


class PresenceService:
    def __init__(self, presence: PresenceRepository, tickets: TicketService) -> None:
        self._presence = presence
        self._tickets = tickets

    def heartbeat(self, caller: Caller, ticket_id: str, now: datetime) -> None:
        """One write, no read: whether the agent may see the ticket is decided when viewers
        are shown, so the answer is the same for every ticket id (it leaks nothing)."""
        if not caller.is_staff:
            raise NotAllowed("presence is for agents")
        self._presence.beat(ticket_id, caller, now)

    def open(self, caller: Caller, ticket_id: str, now: datetime) -> tuple[Ticket, list[Viewer], int]:
        """The ticket as GET answers it, with the agents viewing it (one Query for both)."""
        if not caller.is_staff:
            return self._tickets.open(caller, ticket_id, now), [], 0
        read, viewers = self._presence.ticket_and_viewers(ticket_id, now)
        if read is None:
            raise TicketNotFound("ticket not found")
        ticket = self._tickets.open(caller, ticket_id, now, read=read)
        shown, more = shown_viewers(viewers, ticket, caller, keys.stamp(now - PRESENCE_WINDOW))
        return ticket, shown, more
