"""Presence: who is viewing a ticket (issue 11; docs/data-model.md, "Presence")."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.errors import VersionConflict
from chalicelib.domain.presence import PRESENCE_WINDOW, Viewer
from chalicelib.domain.tickets import Ticket
from chalicelib.domain.visibility import Caller
from chalicelib.storage import keys
from chalicelib.storage.errors import translated
from chalicelib.storage.models import PresenceItem, Record, TicketItem
from chalicelib.storage.tickets import ticket_from_item


class PresenceRepository:
    def beat(self, ticket_id: str, caller: Caller, now: datetime) -> None:
        """One UpdateItem: continue the caller's viewing if their last heartbeat is within the
        window (or there is none), keeping `since`. Only a return after a pause, while TTL has
        not yet removed the old item, costs a second write (a put that starts over)."""
        stamp, cutoff = keys.stamp(now), keys.stamp(now - PRESENCE_WINDOW)
        item = PresenceItem(keys.ticket_pk(ticket_id), keys.presence_sk(caller.user_id))
        who = [
            PresenceItem.kind.set(PresenceItem),
            PresenceItem.user_id.set(caller.user_id),
            PresenceItem.name.set(caller.name or caller.user_id),
            PresenceItem.role.set(caller.role),
            PresenceItem.access.set(caller.access),
            PresenceItem.teams.set(sorted(caller.teams)),
            PresenceItem.seen_at.set(stamp),
            PresenceItem.ttl.set(now + PRESENCE_WINDOW),
        ]
        try:
            with translated(on_condition_failed=lambda: VersionConflict("a paused viewing")):
                item.update(
                    actions=[*who, PresenceItem.since.set(PresenceItem.since | stamp)],
                    condition=PresenceItem.seen_at.does_not_exist() | (PresenceItem.seen_at >= cutoff),
                )
        except VersionConflict:
            with translated():
                item.update(actions=[*who, PresenceItem.since.set(stamp)])

    def ticket_and_viewers(self, ticket_id: str, now: datetime) -> tuple[Ticket | None, list[Viewer]]:
        """The ticket and whoever sent a heartbeat in the last 60 s: one consistent Query of the
        sort keys starting with `TICKET` (the ticket item and its presence items). Expired items
        TTL has not removed yet are filtered out, never shown."""
        cutoff = keys.stamp(now - PRESENCE_WINDOW)
        ticket: Ticket | None = None
        viewers: list[Viewer] = []
        with translated():
            results = Record.query(
                keys.ticket_pk(ticket_id),
                Record.SK.startswith(keys.TICKET_SK),
                filter_condition=PresenceItem.seen_at.does_not_exist() | (PresenceItem.seen_at >= cutoff),
                consistent_read=True,
            )
            for item in results:
                if isinstance(item, PresenceItem):
                    viewer = Caller(
                        user_id=item.user_id,
                        role=item.role,
                        name=item.name,
                        teams=frozenset(item.teams or []),
                        access=item.access,
                    )
                    viewers.append(Viewer(viewer, item.since, item.seen_at))
                elif isinstance(item, TicketItem) and item.SK == keys.TICKET_SK:
                    ticket = ticket_from_item(item)
        return ticket, viewers
