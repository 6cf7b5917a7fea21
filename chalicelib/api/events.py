"""The change feed: `GET /v1/events` (API.md "Events")."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from chalicelib import composition
from chalicelib.api.models import Cursor, Limit, Model, Strict
from chalicelib.api.routing import STAFF, Api, Reply, RequestContext
from chalicelib.domain.events import EXTENSION_TYPES, TYPES

api = Api("events")

EventType = Literal[TYPES + EXTENSION_TYPES]  # type: ignore[valid-type]


class EventQuery(Strict):
    limit: Limit = 25
    cursor: Cursor | None = None
    type: EventType | None = Field(None, description="only events of this type")


class EventOut(Model):
    id: str
    type: str = Field(description="the EventBridge detail-type, e.g. ticket.updated")
    at: str = Field(description="when the change happened (RFC 3339, UTC)")
    detail: dict[str, Any] = Field(
        description='{"schema_version", "ticket_id", "version", "actor_id", "at", "changes": [{"property", "old", "new"}], ...}'
    )


class EventPage(Model):
    items: list[EventOut]
    next_cursor: str = Field(description="always present: poll it again later, even after an empty page")


@api.route(
    "/v1/events",
    "GET",
    summary="The change feed, oldest first (admins and agents who see every ticket); events appear once settled",
    roles=STAFF,
    query=EventQuery,
    response=EventPage,
    errors=(400, 403),
)
def list_events(ctx: RequestContext) -> Reply:
    query = ctx.query
    position = ctx.page_position(query.cursor, query.type)
    events, last = composition.event_feed().page(
        ctx.caller, position=position, now=ctx.now, limit=query.limit, event_type=query.type
    )
    items = [{"id": e.id, "type": e.type, "at": e.at, "detail": dict(e.detail)} for e in events]
    return Reply({"items": items, "next_cursor": ctx.page_cursor(last, query.type)})
