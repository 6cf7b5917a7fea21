"""Conversation and timeline routes: comments, the timeline, logged activities, follow,
close and feedback (`/v1/tickets/{ticket_id}/…`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, StrictInt, StringConstraints

from chalicelib import composition
from chalicelib.api.models import (
    SANITIZED,
    SHOWN_AS_TEXT,
    Cursor,
    Email,
    Id,
    Limit,
    Model,
    PlainText,
    StatusName,
    Strict,
    TicketOut,
)
from chalicelib.api.routing import STAFF, Api, Reply, RequestContext
from chalicelib.api.views import ticket_view
from chalicelib.domain.activities import (
    ACTIVITY_COMMENT_MAX,
    ACTIVITY_TYPES,
    CALL_OUTCOMES,
    DIRECTIONS,
    LOGGABLE_TYPES,
    MEETING_STATES,
    SUBJECT_MAX,
    TASK_STATUSES,
    Activity,
    TimelineFilter,
    normalize_query,
)
from chalicelib.domain.comments import FEEDBACK_COMMENT_MAX, MAX_NOTIFY
from chalicelib.domain.tickets import MAX_CC
from chalicelib.domain.visibility import Caller

api = Api("timeline")

# Bodies longer than BODY_MAX are accepted and stored truncated (API.md); the request's own
# size is bounded by the 1 MiB body limit of the route wrapper.
Body = Annotated[str, StringConstraints(min_length=1), SANITIZED]
Subject = Annotated[str, StringConstraints(min_length=1, max_length=SUBJECT_MAX), SHOWN_AS_TEXT]
Visibility = Literal["public", "internal"]
HttpsUrl = Annotated[str, StringConstraints(pattern=r"^https://[^\s<>\"']{1,2000}$")]


# -- request models ----------------------------------------------------------------------
class CommentCreate(Strict):
    body: Body
    visibility: Visibility | None = Field(None, description="staff default: the admin setting; customers: public only")
    cc: Annotated[list[Id], Field(max_length=MAX_CC)] = []
    notify: Annotated[list[Id], Field(max_length=MAX_NOTIFY, description="agents to @notify; internal notes only")] = []
    status: StatusName | None = Field(None, description="staff only: applied in the same write")


class TypeFields(Strict):
    """Type-specific fields: which are required or allowed depends on `type` (422 per field)."""

    duration_seconds: Annotated[StrictInt, Field(ge=0, le=86_400)] | None = Field(None, description="call")
    outcome: Literal[CALL_OUTCOMES] | None = Field(None, description="call")  # type: ignore[valid-type]
    direction: Literal[DIRECTIONS] | None = Field(None, description="call, email")  # type: ignore[valid-type]
    phone: Annotated[str, StringConstraints(max_length=40), PlainText("a phone number")] | None = Field(None, description="call")
    start_at: AwareDatetime | None = Field(None, description="meeting")
    end_at: AwareDatetime | None = Field(None, description="meeting")
    link: HttpsUrl | None = Field(None, description="meeting (https only)")
    code: Annotated[str, StringConstraints(max_length=64), PlainText("a meeting code")] | None = Field(
        None, description="meeting"
    )
    state: Literal[MEETING_STATES] | None = Field(None, description="meeting")  # type: ignore[valid-type]
    due_at: AwareDatetime | None = Field(None, description="task")
    task_status: Literal[TASK_STATUSES] | None = Field(None, description="task")  # type: ignore[valid-type]
    to: Annotated[list[Email], Field(max_length=50)] | None = Field(None, description="email")


class ActivityCreate(TypeFields):
    type: Literal[LOGGABLE_TYPES]  # type: ignore[valid-type]
    visibility: Visibility | None = Field(None, description="default internal; notes and tasks are always internal")
    subject: Subject | None = None
    body: Body | None = None
    notify: Annotated[list[Id], Field(max_length=MAX_NOTIFY)] | None = Field(None, description="notes only")


class ActivityPatch(TypeFields):
    pinned: bool | None = None
    subject: Subject | None = None
    body: Body | None = None


class ActivityCommentCreate(Strict):
    body: Annotated[str, StringConstraints(min_length=1, max_length=ACTIVITY_COMMENT_MAX), SANITIZED]


class FeedbackCreate(Strict):
    rating: Annotated[StrictInt, Field(ge=1, le=5)]
    comment: Annotated[str, StringConstraints(max_length=FEEDBACK_COMMENT_MAX), SANITIZED] = ""


class TimelineQuery(Strict):
    limit: Limit = 25
    cursor: Cursor | None = None
    type: Literal[ACTIVITY_TYPES] | None = None  # type: ignore[valid-type]
    actor_id: Id | None = None
    team_id: Id | None = Field(None, description="agents only: activities by members of the team")
    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    deleted: bool = Field(False, description="agents only: list soft-deleted activities (to restore them)")


class RevisionQuery(Strict):
    limit: Limit = 25
    cursor: Cursor | None = None


# -- response models ---------------------------------------------------------------------
class ActivityCommentOut(Model):
    id: str
    actor_id: str
    at: datetime
    body: str


class AttachmentSummaryOut(Model):
    id: str
    filename: str
    content_type: str
    size: int


class ActivityOut(Model):
    """A timeline entry. Customers get public entries only, without the agent-only fields."""

    id: str
    ticket_id: str
    type: str
    visibility: Visibility
    actor_id: str
    at: datetime
    subject: str | None
    body: str | None
    fields: dict[str, Any] = Field(description="type-specific: call duration, meeting start, changes, escalation stage…")
    pinned: bool
    truncated: bool = Field(description="the body was cut at 65,536 characters")
    cc: list[str]
    edited_at: datetime | None
    notify: list[str] | None = Field(None, description="agents only")
    comments: list[ActivityCommentOut] | None = Field(None, description="agents only")
    attachments: list[AttachmentSummaryOut] = Field(
        default_factory=list, description="confirmed uploads of this reply or note; GET …/attachments/{id} for a download URL"
    )
    team_ids: list[str] | None = Field(None, description="agents only")
    deleted_at: datetime | None = Field(None, description="agents only")
    version: int | None = Field(None, description="agents only")


class TimelinePage(Model):
    items: list[ActivityOut]
    next_cursor: str | None


class CommentOut(ActivityOut):
    ticket: TicketOut = Field(description="the ticket after the comment (status, activity status, CC)")


class ClosedTicketOut(TicketOut):
    notice: str = Field(description="what the customer does next (open a new ticket referencing this one)")


class RevisionOut(Model):
    activity_id: str
    actor_id: str
    at: datetime
    changes: dict[str, Any]


class RevisionPage(Model):
    items: list[RevisionOut]
    next_cursor: str | None


# -- views -------------------------------------------------------------------------------
_AGENT_ONLY_ACTIVITY_FIELDS = ("notify", "comments", "team_ids", "deleted_at", "version")


def activity_view(activity: Activity, caller: Caller) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": activity.id,
        "ticket_id": activity.ticket_id,
        "type": activity.type,
        "visibility": activity.visibility,
        "actor_id": activity.actor_id,
        "at": activity.at,
        "subject": activity.subject,
        "body": activity.body,
        "fields": activity.fields,
        "pinned": activity.pinned,
        "truncated": activity.truncated,
        "cc": activity.cc,
        "edited_at": activity.edited_at,
        "attachments": activity.attachments,
    }
    if caller.is_staff:
        data.update(
            notify=activity.notify,
            comments=activity.comments,
            team_ids=activity.team_ids,
            deleted_at=activity.deleted_at,
            version=activity.version,
        )
    return data


def _activity_path(activity: Activity) -> str:
    return f"/v1/tickets/{activity.ticket_id}/activities/{activity.id}"


# -- comments ----------------------------------------------------------------------------
@api.route(
    "/v1/tickets/{ticket_id}/comments",
    "POST",
    summary="Reply publicly or add an internal note (with CC, @notify and a status change, in one write)",
    body=CommentCreate,
    response=CommentOut,
    status=201,
    errors=(403, 404, 409, 422),
)
def post_comment(ctx: RequestContext, ticket_id: str) -> Reply:
    body = ctx.body
    posted = composition.conversation_service().comment(
        ctx.caller,
        ticket_id,
        body=body.body,
        visibility=body.visibility,
        cc=body.cc,
        notify=body.notify,
        status=body.status,
        now=ctx.now,
    )
    out = {**activity_view(posted.activity, ctx.caller), "ticket": ticket_view(posted.ticket, ctx.caller)}
    return Reply(out, status=201, headers={"Location": _activity_path(posted.activity)}, version=posted.activity.version)


# -- the timeline ------------------------------------------------------------------------
@api.route(
    "/v1/tickets/{ticket_id}/timeline",
    "GET",
    summary="Activities newest first, pinned first; filters type, actor_id, team_id, q (text)",
    query=TimelineQuery,
    response=TimelinePage,
    errors=(403, 404),
)
def get_timeline(ctx: RequestContext, ticket_id: str) -> Reply:
    query = ctx.query
    q = normalize_query(query.q) if query.q else None
    bound_to = (ticket_id, query.type, query.actor_id, query.team_id, q, query.deleted)
    after = ctx.page_position(query.cursor, *bound_to)
    flt = TimelineFilter(type=query.type, actor_id=query.actor_id, team_id=query.team_id, q=q, deleted=query.deleted)
    activities, last = composition.conversation_service().timeline(
        ctx.caller, ticket_id, flt, limit=query.limit, after=after, now=ctx.now
    )
    items = [activity_view(a, ctx.caller) for a in activities]
    return Reply({"items": items, "next_cursor": ctx.page_cursor(last, *bound_to)})


# -- logged activities ---------------------------------------------------------------------
@api.route(
    "/v1/tickets/{ticket_id}/activities",
    "POST",
    summary="Log a call, meeting, task, email or note",
    roles=STAFF,
    body=ActivityCreate,
    response=ActivityOut,
    status=201,
    errors=(403, 404, 422),
)
def log_activity(ctx: RequestContext, ticket_id: str) -> Reply:
    values = ctx.body.model_dump(exclude_unset=True)
    posted = composition.conversation_service().log_activity(ctx.caller, ticket_id, values, ctx.now)
    return Reply(
        activity_view(posted.activity, ctx.caller),
        status=201,
        headers={"Location": _activity_path(posted.activity)},
        version=posted.activity.version,
    )


@api.route(
    "/v1/tickets/{ticket_id}/activities/{activity_id}",
    "GET",
    summary="One activity (customers: public ones only)",
    response=ActivityOut,
    errors=(404,),
)
def get_activity(ctx: RequestContext, ticket_id: str, activity_id: str) -> Reply:
    activity = composition.conversation_service().activity(ctx.caller, ticket_id, activity_id)
    return Reply(activity_view(activity, ctx.caller), version=activity.version)


@api.route(
    "/v1/tickets/{ticket_id}/activities/{activity_id}",
    "PATCH",
    summary="Pin/unpin an activity or edit it (the author; edits are kept in its history)",
    roles=STAFF,
    body=ActivityPatch,
    response=ActivityOut,
    errors=(403, 404, 409, 412, 422),
)
def patch_activity(ctx: RequestContext, ticket_id: str, activity_id: str) -> Reply:
    values = ctx.body.model_dump(exclude_unset=True)
    activity = composition.conversation_service().edit(
        ctx.caller, ticket_id, activity_id, values, expected_version=ctx.if_match, now=ctx.now
    )
    return Reply(activity_view(activity, ctx.caller), version=activity.version)


@api.route(
    "/v1/tickets/{ticket_id}/activities/{activity_id}",
    "DELETE",
    summary="Soft-delete an activity (restorable for 90 days)",
    roles=STAFF,
    status=204,
    errors=(403, 404, 409, 412),
)
def delete_activity(ctx: RequestContext, ticket_id: str, activity_id: str) -> Reply:
    composition.conversation_service().delete(ctx.caller, ticket_id, activity_id, expected_version=ctx.if_match, now=ctx.now)
    return Reply(status=204)


@api.route(
    "/v1/tickets/{ticket_id}/activities/{activity_id}/restore",
    "POST",
    summary="Undo an activity's delete within 90 days",
    roles=STAFF,
    response=ActivityOut,
    errors=(403, 404),
)
def restore_activity(ctx: RequestContext, ticket_id: str, activity_id: str) -> Reply:
    activity = composition.conversation_service().restore(ctx.caller, ticket_id, activity_id, ctx.now)
    return Reply(activity_view(activity, ctx.caller), version=activity.version)


@api.route(
    "/v1/tickets/{ticket_id}/activities/{activity_id}/comments",
    "POST",
    summary="Comment on an activity (agents' discussion; never shown to customers)",
    roles=STAFF,
    body=ActivityCommentCreate,
    response=ActivityCommentOut,
    status=201,
    errors=(403, 404, 409, 422),
)
def comment_on_activity(ctx: RequestContext, ticket_id: str, activity_id: str) -> Reply:
    comment = composition.conversation_service().comment_on_activity(ctx.caller, ticket_id, activity_id, ctx.body.body, ctx.now)
    return Reply(comment, status=201)


@api.route(
    "/v1/tickets/{ticket_id}/activities/{activity_id}/history",
    "GET",
    summary="An activity's edit history, newest first",
    roles=STAFF,
    query=RevisionQuery,
    response=RevisionPage,
    errors=(403, 404),
)
def activity_history(ctx: RequestContext, ticket_id: str, activity_id: str) -> Reply:
    after = ctx.page_position(ctx.query.cursor, ticket_id, activity_id)
    revisions, last = composition.conversation_service().activity_history(
        ctx.caller, ticket_id, activity_id, limit=ctx.query.limit, after=after
    )
    items = [{"activity_id": r.activity_id, "actor_id": r.actor_id, "at": r.at, "changes": r.changes} for r in revisions]
    return Reply({"items": items, "next_cursor": ctx.page_cursor(last, ticket_id, activity_id)})


# -- follow, close, feedback ---------------------------------------------------------------
@api.route(
    "/v1/tickets/{ticket_id}/followers/me",
    "PUT",
    summary="Follow the ticket (followers are notified of updates)",
    response=TicketOut,
    errors=(404,),
)
def follow(ctx: RequestContext, ticket_id: str) -> Reply:
    ticket = composition.conversation_service().follow(ctx.caller, ticket_id, True, ctx.now)
    return Reply(ticket_view(ticket, ctx.caller), version=ticket.version)


@api.route("/v1/tickets/{ticket_id}/followers/me", "DELETE", summary="Stop following the ticket", status=204, errors=(404,))
def unfollow(ctx: RequestContext, ticket_id: str) -> Reply:
    composition.conversation_service().follow(ctx.caller, ticket_id, False, ctx.now)
    return Reply(status=204)


@api.route(
    "/v1/tickets/{ticket_id}/close",
    "POST",
    summary="Close the ticket (requester, their org admin, or an agent); closed is final",
    response=ClosedTicketOut,
    errors=(403, 404, 409),
)
def close_ticket(ctx: RequestContext, ticket_id: str) -> Reply:
    ticket, notice = composition.conversation_service().close(ctx.caller, ticket_id, ctx.now)
    return Reply({**ticket_view(ticket, ctx.caller), "notice": notice}, version=ticket.version)


@api.route(
    "/v1/tickets/{ticket_id}/feedback",
    "POST",
    summary="Rate a closed ticket, once (the requester)",
    body=FeedbackCreate,
    response=ClosedTicketOut,
    status=201,
    errors=(403, 404, 409, 422),
)
def leave_feedback(ctx: RequestContext, ticket_id: str) -> Reply:
    ticket = composition.conversation_service().feedback(ctx.caller, ticket_id, ctx.body.rating, ctx.body.comment, ctx.now)
    notice = "Thank you for your feedback."
    return Reply({**ticket_view(ticket, ctx.caller), "notice": notice}, status=201, version=ticket.version)
