"""Ticket routes: /v1/tickets and /v1/me/tickets."""

from __future__ import annotations

from typing import Any

from chalicelib import composition
from chalicelib.api.models import (
    HistoryPage,
    HistoryQuery,
    MyTicketsQuery,
    TicketCreate,
    TicketListQuery,
    TicketOut,
    TicketPage,
    TicketPatch,
)
from chalicelib.api.routing import STAFF, Api, Reply, RequestContext
from chalicelib.api.views import ticket_view

api = Api("tickets")


def _page(ctx: RequestContext, tickets: list[Any], position: str | None, *bound_to: Any) -> dict[str, Any]:
    return {
        "items": [ticket_view(t, ctx.caller, with_description=False) for t in tickets],
        "next_cursor": ctx.page_cursor(position, *bound_to),
    }


@api.route(
    "/v1/tickets", "POST", summary="Create a ticket", body=TicketCreate, response=TicketOut, status=201, errors=(403, 409, 422)
)
def create_ticket(ctx: RequestContext) -> Reply:
    values = ctx.body.model_dump(exclude_unset=True)
    ticket = composition.ticket_service().create(ctx.caller, values, ctx.now)
    return Reply(
        ticket_view(ticket, ctx.caller), status=201, headers={"Location": f"/v1/tickets/{ticket.id}"}, version=ticket.version
    )


@api.route("/v1/tickets", "GET", summary="List the tickets the caller may see", query=TicketListQuery, response=TicketPage)
def list_tickets(ctx: RequestContext) -> Reply:
    query = ctx.query
    filters = query.model_dump(exclude={"limit", "cursor", "sort"}, exclude_none=True)
    position = ctx.page_position(query.cursor, filters, query.sort)
    tickets, next_position = composition.ticket_service().list(
        ctx.caller, filters, sort=query.sort, limit=query.limit, position=position
    )
    return Reply(_page(ctx, tickets, next_position, filters, query.sort))


@api.route("/v1/tickets/{ticket_id}", "GET", summary="Get one ticket", response=TicketOut, errors=(404,))
def get_ticket(ctx: RequestContext, ticket_id: str) -> Reply:
    ticket, viewers, more = composition.presence_service().open(ctx.caller, ticket_id, ctx.now)
    links = composition.link_service().visible_links(ctx.caller, ticket)
    body = ticket_view(ticket, ctx.caller, links=links)
    if ctx.caller.is_staff:  # customers never see who is on a ticket
        body["viewers"] = [{"user_id": v.who.user_id, "name": v.who.name, "since": v.since} for v in viewers]
        body["viewers_more"] = more
    return Reply(body, version=ticket.version)


@api.route(
    "/v1/tickets/{ticket_id}",
    "PATCH",
    summary="Change ticket properties (each change is recorded in history)",
    roles=STAFF,
    body=TicketPatch,
    response=TicketOut,
    errors=(403, 404, 409, 412, 422),
)
def patch_ticket(ctx: RequestContext, ticket_id: str) -> Reply:
    values = ctx.body.model_dump(exclude_unset=True)
    ticket = composition.ticket_service().update(ctx.caller, ticket_id, values, expected_version=ctx.if_match, now=ctx.now)
    return Reply(ticket_view(ticket, ctx.caller), version=ticket.version)


@api.route(
    "/v1/tickets/{ticket_id}",
    "DELETE",
    summary="Soft-delete a ticket (restorable for 90 days)",
    roles=STAFF,
    status=204,
    errors=(403, 404, 412),
)
def delete_ticket(ctx: RequestContext, ticket_id: str) -> Reply:
    composition.ticket_service().delete(ctx.caller, ticket_id, expected_version=ctx.if_match, now=ctx.now)
    return Reply(status=204)


@api.route(
    "/v1/tickets/{ticket_id}/restore",
    "POST",
    summary="Undo a delete within 90 days",
    roles=STAFF,
    response=TicketOut,
    errors=(403, 404),
)
def restore_ticket(ctx: RequestContext, ticket_id: str) -> Reply:
    ticket = composition.ticket_service().restore(ctx.caller, ticket_id, ctx.now)
    return Reply(ticket_view(ticket, ctx.caller), version=ticket.version)


@api.route(
    "/v1/tickets/{ticket_id}/history",
    "GET",
    summary="Property history, newest first",
    roles=STAFF,
    query=HistoryQuery,
    response=HistoryPage,
    errors=(403, 404),
)
def ticket_history(ctx: RequestContext, ticket_id: str) -> Reply:
    query = ctx.query
    after = ctx.page_position(query.cursor, ticket_id, query.property)
    entries, last = composition.ticket_service().history(
        ctx.caller, ticket_id, prop=query.property, limit=query.limit, after=after
    )
    items = [{"property": e.property, "old": e.old, "new": e.new, "actor_id": e.actor_id, "at": e.at} for e in entries]
    return Reply({"items": items, "next_cursor": ctx.page_cursor(last, ticket_id, query.property)})


@api.route(
    "/v1/me/tickets",
    "GET",
    summary="\"My tickets\": requested or CC'd (scope=mine) or the organization's (org admins)",
    roles=("customer",),
    query=MyTicketsQuery,
    response=TicketPage,
    errors=(403,),
)
def my_tickets(ctx: RequestContext) -> Reply:
    query = ctx.query
    position = ctx.page_position(query.cursor, query.scope, query.sort)
    tickets, next_position = composition.ticket_service().my_tickets(
        ctx.caller, scope=query.scope, sort=query.sort, limit=query.limit, position=position
    )
    return Reply(_page(ctx, tickets, next_position, query.scope, query.sort))
