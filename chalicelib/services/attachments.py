"""Attachments: an upload is reserved, then confirmed with its message, then downloaded through a short-lived URL."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.activities import visible_to
from chalicelib.domain.attachments import (
    MAX_ATTACHMENTS_PER_MESSAGE,
    attachment_visible,
    check_attach,
    check_complete,
    check_uploaded,
    validate_attachment,
    with_attachment,
)
from chalicelib.domain.errors import Contention, FieldError, NotFound, ValidationFailed, VersionConflict
from chalicelib.domain.events import ATTACHMENT_ADDED, ATTACHMENT_CONFIRMED
from chalicelib.domain.visibility import Audience, Caller
from chalicelib.services.record_service import RecordService
from chalicelib.services.tickets import UPDATE_ATTEMPTS, backoff
from chalicelib.storage import keys
from chalicelib.storage.attachments import Attachment
from chalicelib.storage.events import ticket_event_item


@dataclass(frozen=True)
class Upload:
    attachment: Attachment
    form: dict[str, Any]  # {"url", "fields"}: the browser POSTs the file with these fields


class AttachmentService(RecordService):
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


def _attachment_event(event_type: str, caller: Caller, attachment: Attachment, now: datetime) -> Any:
    """The outbox event of an upload reserved or confirmed (ids and visibility; no file name)."""
    extra = {"attachment_id": attachment.id, "comment_id": attachment.comment_id, "visibility": attachment.visibility}
    return ticket_event_item(
        event_type, ticket_id=attachment.ticket_id, version=None, actor_id=caller.user_id, now=now, extra=extra
    )
