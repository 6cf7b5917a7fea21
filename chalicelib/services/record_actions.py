"""Record-action use cases: links, related tickets, merge, proxy-login access, time entries and
attachments. Single-ticket writes go through `TicketService.write`; links and merges change two
tickets in one transaction (`TicketRepository.update_together`)."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.activities import Activity, visible_to
from chalicelib.domain.attachments import (
    MAX_ATTACHMENTS_PER_MESSAGE,
    attachment_visible,
    check_attach,
    check_complete,
    check_uploaded,
    validate_attachment,
    with_attachment,
)
from chalicelib.domain.errors import (
    Conflict,
    Contention,
    FieldError,
    NotAllowed,
    NotFound,
    TicketNotFound,
    ValidationFailed,
    VersionConflict,
)
from chalicelib.domain.events import ATTACHMENT_ADDED, ATTACHMENT_CONFIRMED, TICKET_MERGED, TICKET_UPDATED
from chalicelib.domain.links import check_link, with_link
from chalicelib.domain.listing import ListPlan
from chalicelib.domain.merge import check_organizations, merge, merge_activities
from chalicelib.domain.proxy_access import proxy_audit_entry, set_proxy_access
from chalicelib.domain.tickets import Ticket
from chalicelib.domain.time_entries import time_entry, with_time
from chalicelib.domain.visibility import Audience, Caller, can_see, can_see_even_if_deleted
from chalicelib.services.tickets import UPDATE_ATTEMPTS, TicketService, TicketWrite, backoff
from chalicelib.storage import keys
from chalicelib.storage.activities import ActivityRepository, items_for, new_activity_id
from chalicelib.storage.attachments import Attachment, AttachmentRepository, FileStore
from chalicelib.storage.events import ticket_event_item
from chalicelib.storage.tickets import TicketPairWrite, TicketRepository

RELATED_LIMIT = 10


@dataclass(frozen=True)
class Upload:
    attachment: Attachment
    form: dict[str, Any]  # {"url", "fields"}: the browser POSTs the file with these fields


class RecordActionsService:
    def __init__(
        self,
        tickets: TicketService,
        repository: TicketRepository,
        activities: ActivityRepository,
        attachments: AttachmentRepository,
        files: FileStore,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._tickets = tickets
        self._repository = repository
        self._activities = activities
        self._attachments = attachments
        self._files = files
        self._sleep = sleep

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

    # -- merge -------------------------------------------------------------------------
    def merge(self, caller: Caller, target_id: str, source_id: str, now: datetime, *, force: bool = False) -> Ticket:
        """Merge the source into the target: both tickets, their list entries, history and a
        system entry on each timeline in ONE transaction conditioned on both versions read
        (BatchGetItem + TransactWriteItems). Nothing is visible until all of it commits."""
        self._require_staff(caller)
        target_entry, source_entry = new_activity_id(now), new_activity_id(now)
        for attempt in range(UPDATE_ATTEMPTS):
            found = self._repository.get_many([target_id, source_id])
            target, source = found.get(target_id), found.get(source_id)
            if target is None or not can_see_even_if_deleted(caller, target):
                raise TicketNotFound("ticket not found")
            if target_id == source_id:
                raise Conflict("a ticket cannot be merged into itself")
            if source is None or not can_see_even_if_deleted(caller, source):
                raise ValidationFailed([FieldError("source_id", "no such ticket")])
            for ticket, role in ((target, "target"), (source, "source")):
                if ticket.is_deleted:
                    raise Conflict(f"the {role} ticket is deleted; restore it first")
            check_organizations(caller, target, source, force=force)
            result = merge(target, source, now)
            entries = merge_activities(result, caller, now, target_entry, source_entry)
            # One ticket.merged event for the target; the source's own change (closed, merged into
            # the target) is a ticket.updated event, so every version of both tickets has an event.
            merged = ticket_event_item(
                TICKET_MERGED,
                ticket_id=target.id,
                version=result.target.version,
                actor_id=caller.user_id,
                now=now,
                changes=result.target_changes,
                extra={"source_id": source.id},
            )
            closed = ticket_event_item(
                TICKET_UPDATED,
                ticket_id=source.id,
                version=result.source.version,
                actor_id=caller.user_id,
                now=now,
                changes=result.source_changes,
                extra={"merged_into": target.id},
            )
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

    # -- proxy-login access --------------------------------------------------------------
    def set_proxy_access(self, caller: Caller, ticket_id: str, enabled: bool, now: datetime) -> Ticket:
        entry_id = new_activity_id(now)

        def change(current: Ticket) -> TicketWrite | None:
            updated, changes = set_proxy_access(caller, current, enabled, now)
            if not changes:
                return None
            return TicketWrite(updated, changes, [], items_for([proxy_audit_entry(current, caller, enabled, now, entry_id)]))

        return self._tickets.write(caller, ticket_id, change, now=now)

    # -- time entries ----------------------------------------------------------------------
    def log_time(
        self, caller: Caller, ticket_id: str, *, minutes: int, note: str, billable: bool, now: datetime
    ) -> tuple[Activity, Ticket]:
        self._require_staff(caller)
        entry_id = new_activity_id(now)  # one id across retries: a retry never logs twice
        logged: dict[str, Activity] = {}

        def change(current: Ticket) -> TicketWrite:
            entry = time_entry(caller, current, minutes, note, billable, now, entry_id)
            updated, changes = with_time(current, minutes, now)
            logged["entry"] = entry
            return TicketWrite(updated, changes, [], items_for([entry]))

        ticket = self._tickets.write(caller, ticket_id, change, now=now)
        return logged["entry"], ticket

    # -- attachments -----------------------------------------------------------------------
    def attach(
        self,
        caller: Caller,
        ticket_id: str,
        *,
        filename: str,
        content_type: str,
        size: int,
        comment_id: str | None,
        now: datetime,
    ) -> Upload:
        """Reserve a slot on the message and answer a presigned POST for the file (GetItem,
        BatchGetItem when a comment is named, one transaction; presigning makes no call)."""
        request = validate_attachment(filename, content_type, size)
        ticket = self._tickets.get(caller, ticket_id)
        message = None
        if comment_id is not None:
            message = self._activities.find(ticket_id, comment_id)
            if message is None or not visible_to(caller, message):
                raise ValidationFailed([FieldError("comment_id", "no such reply or note on this ticket")])
        visibility = check_attach(caller, ticket, message)
        # Time-ordered ids: the ticket's `ATT#` Query lists files oldest first.
        attachment_id = f"{now.astimezone(UTC):%Y%m%d%H%M%S%f}{uuid.uuid4().hex[:16]}"
        object_key = keys.attachment_object_key(ticket_id, attachment_id, request.filename)
        attachment = Attachment(
            id=attachment_id,
            ticket_id=ticket_id,
            comment_id=comment_id,
            filename=request.filename,
            content_type=request.content_type,
            size=request.size,
            visibility=visibility,
            object_key=object_key,
            uploaded_by=caller.user_id,
            created_at=now,
        )
        # Presign first (no call, but it can fail): a failure then leaves no slot taken.
        form = self._files.upload_form(object_key, request.content_type, request.size)
        event = _attachment_event(ATTACHMENT_ADDED, caller, attachment, now)
        self._attachments.add(attachment, MAX_ATTACHMENTS_PER_MESSAGE, [event])
        return Upload(attachment, form)

    def complete_upload(self, caller: Caller, ticket_id: str, attachment_id: str, now: datetime) -> Attachment:
        """Confirm an upload: the file must be in S3 as declared (one HeadObject); then it is
        listed on the ticket and, for a reply or note, on that message, in one transaction.
        Confirming twice answers the same attachment."""
        ticket = self._tickets.get(caller, ticket_id)
        attachment = self._attachments.find([ticket.id], attachment_id)
        if attachment is None or not attachment_visible(caller, attachment.visibility):
            raise NotFound("attachment not found")
        if attachment.uploaded_at is not None:
            return attachment
        check_complete(caller, attachment.uploaded_by)
        check_uploaded((attachment.size, attachment.content_type), self._files.stored(attachment.object_key))
        summary = {
            "id": attachment.id,
            "filename": attachment.filename,
            "content_type": attachment.content_type,
            "size": attachment.size,
        }
        for attempt in range(UPDATE_ATTEMPTS):
            message = None
            if attachment.comment_id is not None:
                read = self._activities.find(ticket.id, attachment.comment_id)
                if read is not None:
                    message = (read, with_attachment(read, summary))
            try:
                event = _attachment_event(ATTACHMENT_CONFIRMED, caller, attachment, now)
                first = self._attachments.complete(attachment, now, message, [event])
            except VersionConflict:  # the message was edited or pinned meanwhile: list it on the new one
                self._sleep(backoff(attempt))
                continue
            if not first:
                return self._attachments.find([ticket.id], attachment_id) or attachment
            return dataclasses.replace(attachment, uploaded_at=now)
        raise Contention("the message keeps changing; retry")

    def attachments(
        self, caller: Caller, ticket_id: str, *, limit: int, after: str | None
    ) -> tuple[list[tuple[Attachment, str]], str | None]:
        """The ticket's uploaded files the caller may see, oldest first, each with a fresh
        presigned GET (GetItem + one Query; presigning makes no call)."""
        ticket = self._tickets.get(caller, ticket_id)
        found, last = self._attachments.page(ticket.id, public_only=not caller.is_staff, limit=limit, after=after)
        return [(a, self._files.download_url(a.object_key, a.filename, a.content_type)) for a in found], last

    def download(self, caller: Caller, ticket_id: str, attachment_id: str) -> tuple[Attachment, str]:
        """A presigned GET for a file of the ticket (or of a ticket merged into it) the caller may
        see: GetItem + one BatchGetItem. An internal note's file is not found for customers."""
        ticket = self._tickets.get(caller, ticket_id)
        attachment = self._attachments.find([ticket.id, *Audience.of(ticket).merged_for(caller)], attachment_id)
        if attachment is None or attachment.uploaded_at is None or not attachment_visible(caller, attachment.visibility):
            raise NotFound("attachment not found")  # a reserved slot without its file is nothing to download
        return attachment, self._files.download_url(attachment.object_key, attachment.filename, attachment.content_type)

    @staticmethod
    def _require_staff(caller: Caller) -> None:
        if not caller.is_staff:
            raise NotAllowed("only agents and admins may do this")


def _attachment_event(event_type: str, caller: Caller, attachment: Attachment, now: datetime) -> Any:
    """The outbox event of an upload reserved or confirmed (ids and visibility; no file name)."""
    extra = {"attachment_id": attachment.id, "comment_id": attachment.comment_id, "visibility": attachment.visibility}
    return ticket_event_item(
        event_type, ticket_id=attachment.ticket_id, version=None, actor_id=caller.user_id, now=now, extra=extra
    )
