"""`/api/v2/`: the subset of Zendesk's API that common Zendesk clients use (issue 13).

A translation layer only: every route calls the same services as `/v1` with the caller's own
token, so visibility, validation and history are exactly `/v1`'s; the vocabulary is
`chalicelib.domain.zendesk`. Errors use Zendesk's shape (`{"error", "description", "details"}`),
429s keep `Retry-After`. The routes are not in `/openapi.json` (Zendesk's reference documents
them; docs/zendesk.md lists what is served and how it differs).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from chalice import Response
from pydantic import ConfigDict, Field, StringConstraints

from chalicelib import composition
from chalicelib.api.models import SANITIZED, Cursor, Description, Id, Model, Priority, Subject, Tag
from chalicelib.api.routing import ERROR_DIALECTS, STAFF, Api, Reply, RequestContext
from chalicelib.api.timeline import activity_view
from chalicelib.api.views import directory_view, ticket_view
from chalicelib.domain import zendesk
from chalicelib.domain.activities import TimelineFilter
from chalicelib.domain.errors import FieldError, MalformedRequest, NotAllowed, NotFound, TicketNotFound, ValidationFailed
from chalicelib.domain.listing import plan_list, stamp
from chalicelib.domain.tickets import MAX_CC, MAX_TAGS

api = Api("zendesk", dialect="zendesk")

PAGE_SIZE_MAX = 100
# comments.json reads the thread newest first and answers it oldest first (Zendesk's order):
# at most this many comments of one ticket (docs/zendesk.md).
THREAD_MAX = 1000
_FILE = re.compile(r"^(\d{1,12})\.json$")
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}(?::\d{1,5})?$")


class Lenient(Model):
    """Zendesk clients send fields and parameters this layer does not use (`url`, `include`,
    `sort_by`...): ignored, as Zendesk ignores them. Every field that is used is validated."""

    model_config = ConfigDict(extra="ignore", defer_build=True, populate_by_name=True)


class PageQuery(Lenient):
    size: Annotated[int, Field(ge=1, le=PAGE_SIZE_MAX)] = Field(PAGE_SIZE_MAX, alias="page[size]")
    after: Cursor | None = Field(None, alias="page[after]")
    per_page: Annotated[int, Field(ge=1, le=PAGE_SIZE_MAX)] | None = None


class SearchQuery(PageQuery):
    query: Annotated[str, StringConstraints(min_length=1, max_length=zendesk.MAX_QUERY_CHARS)]


class IncrementalQuery(Lenient):
    start_time: Annotated[int, Field(ge=0, le=253_402_300_799)] | None = None  # up to 9999-12-31
    cursor: Cursor | None = None
    per_page: Annotated[int, Field(ge=1, le=PAGE_SIZE_MAX)] = PAGE_SIZE_MAX


ZendeskStatus = Literal["new", "open", "pending", "hold", "solved", "closed"]
ZendeskType = Literal["question", "incident", "problem", "task"]


class CommentIn(Lenient):
    body: Annotated[str, StringConstraints(min_length=1), SANITIZED] | None = None
    html_body: Annotated[str, StringConstraints(min_length=1), SANITIZED] | None = None
    public: bool = True


class TicketFields(Lenient):
    subject: Subject | None = None
    description: Description | None = None
    comment: CommentIn | None = None
    status: ZendeskStatus | None = None
    priority: Priority | None = None
    type: ZendeskType | None = None
    requester_id: Id | None = None
    assignee_id: Id | None = None
    group_id: Id | None = None
    organization_id: Id | None = None
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)] | None = None
    collaborator_ids: Annotated[list[Id], Field(max_length=MAX_CC)] | None = None
    email_cc_ids: Annotated[list[Id], Field(max_length=MAX_CC)] | None = None


class TicketEnvelope(Lenient):
    ticket: TicketFields


# -- helpers -----------------------------------------------------------------------------
def base_url(ctx: RequestContext) -> str:
    """Absolute links (`url`, `links.next`), as Zendesk gives them: clients follow them as is."""
    host = ctx.headers.get("host", "")
    host = host if _HOST.fullmatch(host) else "localhost"
    proto = ctx.headers.get("x-forwarded-proto", "http").split(",")[0].strip()
    proto = proto if proto in ("http", "https") else "https"
    prefix = ctx.request_path.split("/api/v2/", 1)[0] if "/api/v2/" in ctx.request_path else ""
    return f"{proto}://{host}{prefix}"


def _number(ticket_file: str) -> int:
    match = _FILE.fullmatch(ticket_file) or re.fullmatch(r"(\d{1,12})", ticket_file)
    if match is None:
        raise TicketNotFound("no ticket with that id")
    return int(match.group(1))


def _ticket(ctx: RequestContext, ticket_file: str) -> Any:
    return composition.ticket_service().get_by_number(ctx.caller, _number(ticket_file))


def _shape(ctx: RequestContext, ticket: Any, *, listed: bool = False) -> dict[str, Any]:
    """`listed`: read from a list entry, which carries no description (null, not an empty one)."""
    return zendesk.ticket_shape(ticket_view(ticket, ctx.caller, with_description=not listed), base_url(ctx))


def _values(ctx: RequestContext, fields: TicketFields) -> dict[str, Any]:
    """Our ticket properties from Zendesk's, only those the client sent."""
    sent = fields.model_dump(exclude_unset=True, exclude={"comment"})
    out: dict[str, Any] = {}
    for name in ("subject", "description", "priority", "requester_id", "assignee_id", "organization_id", "tags"):
        if name in sent:
            out[name] = sent[name]
    if "group_id" in sent:
        out["team_id"] = sent["group_id"]
    if "status" in sent and sent["status"] is not None:
        out["status"] = zendesk.status_in(sent["status"])
    if "type" in sent:
        out["type"] = zendesk.type_in(sent["type"])
    cc = sent.get("email_cc_ids", sent.get("collaborator_ids"))
    if cc is not None:
        out["cc"] = cc
    return out


def _comment_body(comment: CommentIn) -> str:
    body = comment.html_body or comment.body
    if not body:
        raise ValidationFailed([FieldError("ticket.comment.body", "a comment needs a body or html_body")])
    return body


def _page_links(ctx: RequestContext, path: str, next_cursor: str | None, size: int) -> dict[str, Any]:
    base = base_url(ctx)
    following = f"{base}{path}?page%5Bsize%5D={size}&page%5Bafter%5D={next_cursor}" if next_cursor else None
    return {
        "meta": {"has_more": next_cursor is not None, "after_cursor": next_cursor, "before_cursor": None},
        "links": {"next": following, "prev": None},
    }


# -- tickets -------------------------------------------------------------------------------
@api.route("/api/v2/tickets.json", "GET", summary="Zendesk: list tickets (cursor pages)", query=PageQuery)
def list_tickets(ctx: RequestContext) -> Reply:
    size = ctx.query.per_page or ctx.query.size
    position = ctx.page_position(ctx.query.after, "tickets")
    tickets, following = composition.ticket_service().list(ctx.caller, {}, sort="created_at", limit=size, position=position)
    next_cursor = ctx.page_cursor(following, "tickets")
    shaped = [_shape(ctx, t, listed=True) for t in tickets]
    return Reply({"tickets": shaped, **_page_links(ctx, "/api/v2/tickets.json", next_cursor, size)})


@api.route("/api/v2/tickets.json", "POST", summary="Zendesk: create a ticket", body=TicketEnvelope, status=201)
def create_ticket(ctx: RequestContext) -> Reply:
    fields = ctx.body.ticket
    values = _values(ctx, fields)
    if "description" not in values:
        if fields.comment is None:
            raise ValidationFailed([FieldError("ticket.comment", "a new ticket needs a comment (its description)")])
        values["description"] = _comment_body(fields.comment)
    if not values.get("subject"):
        # Zendesk takes the subject from the first line of the comment when there is none.
        first_line = re.sub(r"<[^>]*>", " ", values["description"]).strip().splitlines() or [""]
        values["subject"] = (first_line[0].strip() or "(no subject)")[:150]
    ticket = composition.ticket_service().create(ctx.caller, values, ctx.now)
    shaped = _shape(ctx, ticket)
    return Reply(
        {"ticket": shaped, "audit": {"ticket_id": shaped["id"], "author_id": ctx.caller.user_id}},
        status=201,
        headers={"Location": shaped["url"]},
    )


@api.route("/api/v2/tickets/{ticket_file}", "GET", summary="Zendesk: show a ticket (`<id>.json`)", errors=(404,))
def show_ticket(ctx: RequestContext, ticket_file: str) -> Reply:
    return Reply({"ticket": _shape(ctx, _ticket(ctx, ticket_file))})


@api.route(
    "/api/v2/tickets/{ticket_file}",
    "PUT",
    summary="Zendesk: update a ticket, optionally with a comment (one write)",
    body=TicketEnvelope,
    errors=(403, 404, 409, 422),
)
def update_ticket(ctx: RequestContext, ticket_file: str) -> Reply:
    ticket = _ticket(ctx, ticket_file)  # read once: the write below starts from it
    fields = ctx.body.ticket
    values = _values(ctx, fields)
    if fields.comment is not None:
        status = values.pop("status", None)
        posted = composition.conversation_service().comment(
            ctx.caller,
            ticket.id,
            body=_comment_body(fields.comment),
            visibility="public" if fields.comment.public else "internal",
            cc=values.pop("cc", []),
            notify=[],
            status=status,
            properties=values or None,
            now=ctx.now,
            read=ticket,
        )
        ticket = posted.ticket
    elif values:
        ticket = composition.ticket_service().update(
            ctx.caller, ticket.id, values, expected_version=None, now=ctx.now, read=ticket
        )
    return Reply({"ticket": _shape(ctx, ticket), "audit": {"author_id": ctx.caller.user_id}})


@api.route(
    "/api/v2/tickets/{ticket_number}/comments.json",
    "GET",
    summary="Zendesk: a ticket's comments, oldest first (the description first)",
    query=PageQuery,
    errors=(404,),
)
def list_comments(ctx: RequestContext, ticket_number: str) -> Reply:
    ticket = _ticket(ctx, ticket_number)
    ticket_id = ticket.id
    conversation = composition.conversation_service()
    thread: list[dict[str, Any]] = []
    after: str | None = None
    complete = False
    while len(thread) < THREAD_MAX:
        activities, after = conversation.timeline(ctx.caller, ticket_id, TimelineFilter(), limit=100, after=after, now=ctx.now)
        thread += [activity_view(a, ctx.caller) for a in activities if a.type in ("comment", "note")]
        if after is None:
            complete = True
            break
    # Oldest first; the timeline is newest first (pinned entries on top), so equal times keep
    # the reverse of the timeline's order.
    ordered = sorted(enumerate(thread[:THREAD_MAX]), key=lambda pair: (str(pair[1]["at"]), -pair[0]))
    comments = [zendesk.comment_shape(_as_comment(a)) for _, a in ordered]
    if complete:
        opening = {
            "id": f"{ticket.id}-description",
            "actor_id": ticket.requester_id,
            "body": ticket.description,
            "visibility": "public",
            "created_at": ticket.created_at,
        }
        comments.insert(0, zendesk.comment_shape(opening))
    return Reply({"comments": comments, "count": len(comments), "next_page": None, "previous_page": None})


def _as_comment(activity: dict[str, Any]) -> dict[str, Any]:
    return {**activity, "created_at": activity["at"]}


# -- users and organizations ------------------------------------------------------------------
@api.route("/api/v2/users/me.json", "GET", summary="Zendesk: the caller")
def me(ctx: RequestContext) -> Reply:
    entry = composition.directory_service().me(ctx.caller)
    return Reply({"user": _user(ctx, entry)})


@api.route("/api/v2/users/{user_file}", "GET", summary="Zendesk: show a user (`<id>.json`)", errors=(403, 404))
def show_user(ctx: RequestContext, user_file: str) -> Reply:
    if not user_file.endswith(".json"):
        raise _no_user()
    user_id = user_file.removesuffix(".json")
    if user_id == ctx.caller.user_id:
        return me(ctx)
    if not ctx.caller.is_staff:
        raise NotAllowed("end users may only see themselves")
    entry = composition.directory_service().get(ctx.caller, "user", user_id)
    return Reply({"user": _user(ctx, entry)})


def _no_user() -> NotFound:
    return NotFound("no user with that id")


def _user(ctx: RequestContext, entry: Any) -> dict[str, Any]:
    return zendesk.user_shape(directory_view(entry), base_url(ctx))


@api.route("/api/v2/organizations.json", "GET", summary="Zendesk: list organizations", roles=STAFF, query=PageQuery)
def list_organizations(ctx: RequestContext) -> Reply:
    size = ctx.query.per_page or ctx.query.size
    after = ctx.page_position(ctx.query.after, "organizations")
    entries, last = composition.directory_service().list(ctx.caller, "organization", limit=size, after=after)
    next_cursor = ctx.page_cursor(last, "organizations")
    orgs = [zendesk.organization_shape(directory_view(e), base_url(ctx)) for e in entries]
    return Reply({"organizations": orgs, **_page_links(ctx, "/api/v2/organizations.json", next_cursor, size)})


# -- search and the incremental export --------------------------------------------------------
@api.route(
    "/api/v2/search.json", "GET", summary="Zendesk: search tickets (index-backed filters)", query=SearchQuery, errors=(422,)
)
def search(ctx: RequestContext) -> Reply:
    query = ctx.query
    wanted = zendesk.parse_search(query.query)
    size = query.per_page or query.size
    position = ctx.page_position(query.after, "search", query.query)
    plan = plan_list(ctx.caller, wanted.filters, "created_at")
    if wanted.created_after is not None:
        plan = replace(plan, lower_bound=stamp(wanted.created_after))
    tickets, following = composition.ticket_service().list_planned(ctx.caller, plan, limit=size, position=position)
    next_cursor = ctx.page_cursor(following, "search", query.query)
    results = [{**_shape(ctx, t, listed=True), "result_type": "ticket"} for t in tickets]
    # Offset-style clients follow `next_page`; its cursor keeps every page index-backed (no
    # 1,000-result cap: Zendesk's own search stops there).
    next_page = (
        f"{base_url(ctx)}/api/v2/search.json?query={quote(query.query, safe='')}"
        f"&page%5Bsize%5D={size}&page%5Bafter%5D={next_cursor}"
        if next_cursor
        else None
    )
    return Reply({"results": results, "count": len(results), "next_page": next_page, "previous_page": None})


@api.route(
    "/api/v2/incremental/tickets/cursor.json",
    "GET",
    summary="Zendesk: tickets changed since start_time or the cursor, oldest change first, never skipping",
    roles=STAFF,
    query=IncrementalQuery,
    errors=(400, 403),
)
def incremental_tickets(ctx: RequestContext) -> Reply:
    """The change feed (`GET /v1/events`) as Zendesk's cursor export: each page names the tickets
    whose events it read, once each, as they are now. The cursor is the feed's, so an export that
    polls `after_cursor` sees every change, committed late or not (docs/decisions.md, "Events")."""
    query = ctx.query
    if query.cursor is not None:
        position = ctx.page_position(query.cursor, "incremental")
    elif query.start_time is not None:
        position = stamp(datetime.fromtimestamp(query.start_time, UTC))
    else:
        raise MalformedRequest("send start_time (Unix seconds) or cursor")
    events, last = composition.event_feed().page(
        ctx.caller, position=position, now=ctx.now, limit=query.per_page, event_type=None
    )
    ticket_ids = [str(e.detail["ticket_id"]) for e in events if e.detail.get("ticket_id")]
    tickets = [_shape(ctx, t) for t in composition.ticket_service().visible_many(ctx.caller, ticket_ids)]
    cursor = ctx.page_cursor(last, "incremental")
    after_url = f"{base_url(ctx)}/api/v2/incremental/tickets/cursor.json?cursor={cursor}"
    return Reply(
        {
            "tickets": tickets,
            "after_cursor": cursor,
            "after_url": after_url,
            "before_cursor": None,
            "before_url": None,
            "end_of_stream": len(events) < query.per_page,
        }
    )


# -- errors in Zendesk's shape ----------------------------------------------------------------
def _zendesk_error(response: Response) -> Response:
    try:
        problem = json.loads(response.body) if isinstance(response.body, (str, bytes)) else {}
    except ValueError:
        problem = {}
    fields = [(e.get("field", "base"), e.get("message", "")) for e in problem.get("errors", []) if isinstance(e, dict)]
    body = zendesk.error_shape(response.status_code, problem.get("detail"), fields)
    headers = {k: v for k, v in (response.headers or {}).items() if k.lower() != "content-type"}
    return Response(
        body=json.dumps(body), status_code=response.status_code, headers={**headers, "Content-Type": "application/json"}
    )


ERROR_DIALECTS["zendesk"] = _zendesk_error
