"""Linked and related tickets: links change both tickets in one transaction (`TicketRepository.update_together`)."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.activities import Activity
from chalicelib.domain.errors import Conflict, FieldError, NotFound, TicketNotFound, ValidationFailed, VersionConflict
from chalicelib.domain.events import TICKET_UPDATED
from chalicelib.domain.links import check_link, with_link
from chalicelib.domain.listing import ListPlan
from chalicelib.domain.tickets import Ticket
from chalicelib.domain.visibility import Caller, can_see
from chalicelib.services.record_service import RecordService
from chalicelib.services.tickets import UPDATE_ATTEMPTS, backoff
from chalicelib.storage.activities import items_for, new_activity_id
from chalicelib.storage.events import ticket_event_item
from chalicelib.storage.tickets import TicketPairWrite

RELATED_LIMIT = 10


class LinkService(RecordService):
    # -- links and related tickets -----------------------------------------------------
    def visible_links(self, caller: Caller, ticket: Ticket) -> list[str]:
        """The linked tickets the caller may see: one BatchGetItem, only for callers who do not
        see every ticket and only when there are links."""
        if not ticket.links or caller.sees_everything:
            return list(ticket.links)
        others = self._repository.get_many(ticket.links)
        return [t for t in ticket.links if t in others and can_see(caller, others[t])]

    def link(self, caller: Caller, ticket_id: str, other_id: str, linked: bool, now: datetime) -> Ticket:
        """Add or remove a link on both tickets, in one transaction (BatchGetItem + one write)."""
        self._require_staff(caller)
        for attempt in range(UPDATE_ATTEMPTS):
            found = self._repository.get_many([ticket_id, other_id])
            ticket = found.get(ticket_id)
            if ticket is None or not can_see(caller, ticket):
                raise TicketNotFound("ticket not found")
            other = found.get(other_id)
            if linked:
                if other is None or not can_see(caller, other):
                    raise ValidationFailed([FieldError("ticket_id", "no such ticket")])
                check_link(ticket, other)
            elif other is not None and not can_see(caller, other):
                # The caller's links leave this ticket out (visible_links), and unlinking would
                # write to it: for them there is no such link.
                raise NotFound("no link to that ticket")
            writes = []
            for this, that in ((ticket, other_id), (other, ticket_id)):
                if this is None:
                    continue  # unlinking from a purged ticket: only this side remains
                updated, changes = with_link(this, that, linked, now)
                if changes:
                    entry = Activity(
                        id=new_activity_id(now),
                        ticket_id=this.id,
                        type="system",
                        visibility="internal",  # the other ticket may be one the customer cannot see
                        actor_id=caller.user_id,
                        at=now,
                        fields={"event": "linked" if linked else "unlinked", "ticket_id": that},
                    )
                    event = ticket_event_item(
                        TICKET_UPDATED,
                        ticket_id=this.id,
                        version=updated.version,
                        actor_id=caller.user_id,
                        now=now,
                        changes=changes,
                    )
                    writes.append(TicketPairWrite(this, updated, changes, [*items_for([entry]), event]))
            if not writes:
                return ticket
            try:
                self._repository.update_together(writes, caller.user_id, now)
            except VersionConflict:
                self._sleep(backoff(attempt))
                continue
            return writes[0].new if writes[0].old.id == ticket_id else ticket
        raise Conflict("the tickets are changing too often; retry shortly", retry_after=1)

    def related(self, caller: Caller, ticket_id: str) -> dict[str, list[Ticket]]:
        """The requester's and the organization's other recent tickets: one Query each on the
        existing list partitions, filtered by the caller's visibility in the same Query."""
        ticket = self._tickets.get(caller, ticket_id)
        check = not caller.sees_everything
        out: dict[str, list[Ticket]] = {"requester_tickets": [], "organization_tickets": []}
        partitions = [("requester_tickets", f"USER#{ticket.requester_id}")]
        if ticket.organization_id:
            partitions.append(("organization_tickets", f"ORG#{ticket.organization_id}"))
        for name, partition in partitions:
            # One more than shown: the ticket itself is in its own requester's partition.
            plan = ListPlan((partition,), {}, check, True, "last_activity_at")
            found, _ = self._repository.list(plan, caller, limit=RELATED_LIMIT + 1, position=None)
            out[name] = [t for t in found if t.id != ticket.id][:RELATED_LIMIT]
        return out
