"""Merging a ticket into another: both tickets change in one transaction (`TicketRepository.update_together`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from chalicelib.domain.errors import Conflict, FieldError, TicketNotFound, ValidationFailed, VersionConflict
from chalicelib.domain.events import TICKET_MERGED, TICKET_UPDATED
from chalicelib.domain.merge import check_organizations, merge, merge_activities
from chalicelib.domain.tickets import Change, Ticket
from chalicelib.domain.visibility import Caller, can_see_even_if_deleted
from chalicelib.services.record_service import RecordService
from chalicelib.services.tickets import UPDATE_ATTEMPTS, backoff
from chalicelib.storage.activities import items_for, new_activity_id
from chalicelib.storage.base import StoredItem
from chalicelib.storage.events import ticket_event_item
from chalicelib.storage.tickets import TicketPairWrite


class MergeService(RecordService):
    # -- merge -------------------------------------------------------------------------
    def merge(self, caller: Caller, target_id: str, source_id: str, now: datetime, *, force: bool = False) -> Ticket:
        """Merge the source into the target: both tickets, their list entries, history and a
        system entry on each timeline in ONE transaction conditioned on both versions read
        (BatchGetItem + TransactWriteItems). Nothing is visible until all of it commits."""
        self._require_staff(caller)
        target_entry, source_entry = new_activity_id(now), new_activity_id(now)
        for attempt in range(UPDATE_ATTEMPTS):
            target, source = self._mergeable_pair(caller, target_id, source_id)
            check_organizations(caller, target, source, force=force)
            result = merge(target, source, now)
            entries = merge_activities(result, caller, now, target_entry, source_entry)
            # One ticket.merged event for the target; the source's own change (closed, merged into
            # the target) is a ticket.updated event, so every version of both tickets has an event.
            merged = _event(TICKET_MERGED, result.target, result.target_changes, caller, now, source_id=source.id)
            closed = _event(TICKET_UPDATED, result.source, result.source_changes, caller, now, merged_into=target.id)
            # The source is closed by the merge: its open SLA clocks complete in the same transaction.
            source_ledger = self._tickets.sla_ledger(source, result.source, frozenset(), now)
            writes = [
                TicketPairWrite(target, result.target, result.target_changes, [*items_for(entries[:1]), merged]),
                TicketPairWrite(source, result.source, result.source_changes, [*items_for(entries[1:]), closed, *source_ledger]),
            ]
            try:
                self._repository.update_together(writes, caller.user_id, now)
            except VersionConflict:
                self._sleep(backoff(attempt))
                continue
            return result.target
        raise Conflict("the tickets are changing too often; retry shortly", retry_after=1)

    def _mergeable_pair(self, caller: Caller, target_id: str, source_id: str) -> tuple[Ticket, Ticket]:
        """Both tickets in one BatchGetItem, each checked the same way: a target the caller cannot
        see is 404, the target itself 409, an unseen source 422 (a field of the body), a deleted one 409."""
        found = self._repository.get_many([target_id, source_id])
        target, source = (_visible(caller, found.get(ticket_id)) for ticket_id in (target_id, source_id))
        if target is None:
            raise TicketNotFound("ticket not found")
        if target_id == source_id:
            raise Conflict("a ticket cannot be merged into itself")
        if source is None:
            raise ValidationFailed([FieldError("source_id", "no such ticket")])
        for ticket, role in ((target, "target"), (source, "source")):
            if ticket.is_deleted:
                raise Conflict(f"the {role} ticket is deleted; restore it first")
        return target, source


def _visible(caller: Caller, ticket: Ticket | None) -> Ticket | None:
    """The ticket if the caller may see it, deleted or not (a deleted one is refused by name)."""
    return ticket if ticket is not None and can_see_even_if_deleted(caller, ticket) else None


def _event(kind: str, ticket: Ticket, changes: Sequence[Change], caller: Caller, now: datetime, **extra: str) -> StoredItem:
    return ticket_event_item(
        kind, ticket_id=ticket.id, version=ticket.version, actor_id=caller.user_id, now=now, changes=changes, extra=extra
    )
