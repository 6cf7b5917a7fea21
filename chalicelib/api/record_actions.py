"""Record-action routes: links, related tickets, merge, proxy-login access, time entries and
attachments (`/v1/tickets/{ticket_id}/…`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictInt, StringConstraints

from chalicelib import composition
from chalicelib.api.models import SANITIZED, Cursor, Id, Limit, Model, PlainText, Strict, TicketOut
from chalicelib.api.routing import STAFF, Api, Reply, RequestContext
from chalicelib.api.timeline import ActivityOut, activity_view
from chalicelib.api.views import ticket_view
from chalicelib.domain.attachments import MAX_ATTACHMENT_BYTES
from chalicelib.domain.time_entries import MAX_MINUTES, TIME_NOTE_MAX

api = Api("record_actions")


# -- request models ----------------------------------------------------------------------
class LinkCreate(Strict):
    ticket_id: Id


class MergeRequest(Strict):
    source_id: Id
    force: StrictBool = Field(
        False,
        description="admins: merge a ticket of another organization; its thread stays hidden from this ticket's customers",
    )


class ProxyAccess(Strict):
    enabled: StrictBool


class TimeEntryCreate(Strict):
    minutes: Annotated[StrictInt, Field(ge=1, le=MAX_MINUTES)]
    note: Annotated[str, StringConstraints(max_length=TIME_NOTE_MAX), SANITIZED] = ""
    billable: StrictBool = False


class AttachmentCreate(Strict):
    filename: Annotated[str, StringConstraints(min_length=1, max_length=200), PlainText("a file name")]
    content_type: Annotated[str, StringConstraints(min_length=1, max_length=200), PlainText("checked against the allow-list")]
    size: Annotated[StrictInt, Field(ge=1, le=MAX_ATTACHMENT_BYTES)]
    comment_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:@-]{1,128}$")] | None = Field(
        None, description="the reply or note the file belongs to; omitted: the ticket's own first message"
    )


# -- response models ---------------------------------------------------------------------
class RelatedOut(Model):
    requester_tickets: list[TicketOut]
    organization_tickets: list[TicketOut]


class TimeEntryOut(ActivityOut):
    ticket: TicketOut = Field(description="the ticket with its new time_spent_minutes")


class AttachmentOut(Model):
    id: str
    ticket_id: str
    comment_id: str | None
    filename: str
    content_type: str
    size: int
    visibility: str
    uploaded_by: str
    created_at: datetime
    uploaded_at: datetime | None = Field(description="null until the upload is confirmed; only then is the file listed")


class UploadOut(AttachmentOut):
    upload_url: str = Field(description="POST the file here as multipart/form-data with upload_fields, file last")
    upload_fields: dict[str, str]


class DownloadOut(AttachmentOut):
    download_url: str = Field(description="presigned GET, valid 5 minutes")


class AttachmentPage(Model):
    items: list[DownloadOut]
    next_cursor: str | None


class AttachmentQuery(Strict):
    limit: Limit = 25
    cursor: Cursor | None = None


def _attachment_view(attachment: Any) -> dict[str, Any]:
    return {
        "id": attachment.id,
        "ticket_id": attachment.ticket_id,
        "comment_id": attachment.comment_id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "visibility": attachment.visibility,
        "uploaded_by": attachment.uploaded_by,
        "created_at": attachment.created_at,
        "uploaded_at": attachment.uploaded_at,
    }


# -- links and related tickets -----------------------------------------------------------
@api.route(
    "/v1/tickets/{ticket_id}/links",
    "POST",
    summary="Link two related tickets (both show it in links)",
    roles=STAFF,
    body=LinkCreate,
    response=TicketOut,
    errors=(403, 404, 409, 422),
)
def add_link(ctx: RequestContext, ticket_id: str) -> Reply:
    service = composition.link_service()
    ticket = service.link(ctx.caller, ticket_id, ctx.body.ticket_id, True, ctx.now)
    return Reply(ticket_view(ticket, ctx.caller, links=service.visible_links(ctx.caller, ticket)), version=ticket.version)


@api.route(
    "/v1/tickets/{ticket_id}/links/{other_id}",
    "DELETE",
    summary="Remove a link (from both tickets)",
    roles=STAFF,
    status=204,
    errors=(403, 404),
)
def remove_link(ctx: RequestContext, ticket_id: str, other_id: str) -> Reply:
    composition.link_service().link(ctx.caller, ticket_id, other_id, False, ctx.now)
    return Reply(status=204)


@api.route(
    "/v1/tickets/{ticket_id}/related",
    "GET",
    summary="The requester's and the organization's other recent tickets (those the caller may see)",
    response=RelatedOut,
    errors=(404,),
)
def related_tickets(ctx: RequestContext, ticket_id: str) -> Reply:
    related = composition.link_service().related(ctx.caller, ticket_id)
    return Reply(
        {name: [ticket_view(t, ctx.caller, with_description=False) for t in tickets] for name, tickets in related.items()}
    )


# -- merge -------------------------------------------------------------------------------
@api.route(
    "/v1/tickets/{ticket_id}/merge",
    "POST",
    summary="Merge source_id into this ticket, atomically (the source is closed with merged_into)",
    roles=STAFF,
    body=MergeRequest,
    response=TicketOut,
    errors=(403, 404, 409, 422),
)
def merge_tickets(ctx: RequestContext, ticket_id: str) -> Reply:
    ticket = composition.merge_service().merge(ctx.caller, ticket_id, ctx.body.source_id, ctx.now, force=ctx.body.force)
    links = composition.link_service().visible_links(ctx.caller, ticket)
    return Reply(ticket_view(ticket, ctx.caller, links=links), version=ticket.version)


# -- proxy-login access --------------------------------------------------------------------
@api.route(
    "/v1/tickets/{ticket_id}/proxy-access",
    "PUT",
    summary="Allow or stop support's proxy login for this ticket (the requester; audited)",
    body=ProxyAccess,
    response=TicketOut,
    errors=(403, 404, 422),
)
def put_proxy_access(ctx: RequestContext, ticket_id: str) -> Reply:
    ticket = composition.proxy_access_service().set_proxy_access(ctx.caller, ticket_id, ctx.body.enabled, ctx.now)
    return Reply(ticket_view(ticket, ctx.caller), version=ticket.version)


# -- time entries --------------------------------------------------------------------------
@api.route(
    "/v1/tickets/{ticket_id}/time-entries",
    "POST",
    summary="Log time worked (agent-only; adds to time_spent_minutes)",
    roles=STAFF,
    body=TimeEntryCreate,
    response=TimeEntryOut,
    status=201,
    errors=(403, 404, 409, 422),
)
def log_time(ctx: RequestContext, ticket_id: str) -> Reply:
    body = ctx.body
    entry, ticket = composition.time_entry_service().log_time(
        ctx.caller, ticket_id, minutes=body.minutes, note=body.note, billable=body.billable, now=ctx.now
    )
    out = {**activity_view(entry, ctx.caller), "ticket": ticket_view(ticket, ctx.caller)}
    return Reply(out, status=201, headers={"Location": f"/v1/tickets/{ticket_id}/activities/{entry.id}"})


# -- attachments ---------------------------------------------------------------------------
@api.route(
    "/v1/tickets/{ticket_id}/attachments",
    "POST",
    summary="Start an upload: a presigned S3 POST of exactly `size` bytes (5 files per message, 500 KB each, "
    "allowed types only); confirm it once uploaded",
    body=AttachmentCreate,
    response=UploadOut,
    status=201,
    errors=(403, 404, 409, 422),
)
def create_attachment(ctx: RequestContext, ticket_id: str) -> Reply:
    body = ctx.body
    upload = composition.attachment_service().attach(
        ctx.caller,
        ticket_id,
        filename=body.filename,
        content_type=body.content_type,
        size=body.size,
        comment_id=body.comment_id,
        now=ctx.now,
    )
    out = {
        **_attachment_view(upload.attachment),
        "upload_url": upload.form["url"],
        "upload_fields": upload.form["fields"],
    }
    location = f"/v1/tickets/{ticket_id}/attachments/{upload.attachment.id}"
    return Reply(out, status=201, headers={"Location": location})


@api.route(
    "/v1/tickets/{ticket_id}/attachments/{attachment_id}",
    "GET",
    summary="A presigned download URL for a file of the ticket (or of a ticket merged into it)",
    response=DownloadOut,
    errors=(404,),
)
def get_attachment(ctx: RequestContext, ticket_id: str, attachment_id: str) -> Reply:
    attachment, url = composition.attachment_service().download(ctx.caller, ticket_id, attachment_id)
    return Reply({**_attachment_view(attachment), "download_url": url})


@api.route(
    "/v1/tickets/{ticket_id}/attachments/{attachment_id}/confirm",
    "POST",
    summary="Confirm an upload once the file is in S3: from then on it is listed on the ticket and its message",
    response=AttachmentOut,
    errors=(403, 404, 409),
)
def confirm_attachment(ctx: RequestContext, ticket_id: str, attachment_id: str) -> Reply:
    attachment = composition.attachment_service().complete_upload(ctx.caller, ticket_id, attachment_id, ctx.now)
    return Reply(_attachment_view(attachment))


@api.route(
    "/v1/tickets/{ticket_id}/attachments",
    "GET",
    summary="The ticket's uploaded files the caller may see, oldest first, each with a fresh download URL",
    query=AttachmentQuery,
    response=AttachmentPage,
    errors=(404,),
)
def list_attachments(ctx: RequestContext, ticket_id: str) -> Reply:
    after = ctx.page_position(ctx.query.cursor, ticket_id)
    found, last = composition.attachment_service().attachments(ctx.caller, ticket_id, limit=ctx.query.limit, after=after)
    items = [{**_attachment_view(attachment), "download_url": url} for attachment, url in found]
    return Reply({"items": items, "next_cursor": ctx.page_cursor(last, ticket_id)})
