"""Workspace routes (issue 11): /v1/views and ticket presence."""

from __future__ import annotations

from typing import Any

from chalicelib import composition
from chalicelib.api.models import PageQuery, TicketPage, ViewCreate, ViewList, ViewListQuery, ViewOut, ViewPatch
from chalicelib.api.routing import STAFF, Api, Reply, RequestContext
from chalicelib.api.views import ticket_view
from chalicelib.domain.views import DefaultView, SavedView

api = Api("workspace")


def view_out(view: DefaultView | SavedView) -> dict[str, Any]:
    if isinstance(view, DefaultView):
        return {
            "id": view.id,
            "name": view.name,
            "default": True,
            "visibility": "default",
            "filters": dict(view.filters),
            "sort": view.sort,
        }
    return {
        "id": view.id,
        "name": view.name,
        "default": False,
        "visibility": view.visibility,
        "team_id": view.team_id,
        "owner_id": view.owner_id,
        "filters": dict(view.filters),
        "sort": view.sort,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
        "version": view.version,
    }


@api.route(
    "/v1/views",
    "GET",
    summary="The caller's default views and the saved views they may use",
    roles=STAFF,
    query=ViewListQuery,
    response=ViewList,
    errors=(403,),
)
def list_views(ctx: RequestContext) -> Reply:
    service = composition.view_service()
    defaults, saved = service.list(ctx.caller)
    views = (*defaults, *saved)
    items = [view_out(v) for v in views]
    if ctx.query.counts:
        for item, (count, unavailable) in zip(items, service.counts(ctx.caller, views), strict=True):
            item["count"] = count
            if unavailable is not None:
                item["count_unavailable"] = unavailable
    return Reply({"items": items})


@api.route(
    "/v1/views", "POST", summary="Save a view (filters and sort as GET /v1/tickets takes them)", roles=STAFF,
    body=ViewCreate, response=ViewOut, status=201, errors=(403, 422),
)  # fmt: skip
def create_view(ctx: RequestContext) -> Reply:
    values = ctx.body.model_dump(exclude_unset=True)
    if "filters" in values:
        values["filters"] = ctx.body.filters.model_dump(exclude_none=True)
    view = composition.view_service().create(ctx.caller, values, ctx.now)
    return Reply(view_out(view), status=201, headers={"Location": f"/v1/views/{view.id}"}, version=view.version)


@api.route("/v1/views/{view_id}", "GET", summary="One view", roles=STAFF, response=ViewOut, errors=(403, 404))
def get_view(ctx: RequestContext, view_id: str) -> Reply:
    view = composition.view_service().get(ctx.caller, view_id)
    return Reply(view_out(view), version=getattr(view, "version", None))


@api.route(
    "/v1/views/{view_id}", "PATCH", summary="Change a saved view (its owner or an admin)", roles=STAFF,
    body=ViewPatch, response=ViewOut, errors=(403, 404, 412, 422),
)  # fmt: skip
def patch_view(ctx: RequestContext, view_id: str) -> Reply:
    values = ctx.body.model_dump(exclude_unset=True)
    if "filters" in values:
        values["filters"] = ctx.body.filters.model_dump(exclude_none=True)
    view = composition.view_service().update(ctx.caller, view_id, values, expected_version=ctx.if_match, now=ctx.now)
    return Reply(view_out(view), version=view.version)


@api.route(
    "/v1/views/{view_id}", "DELETE", summary="Delete a saved view (its owner or an admin)", roles=STAFF, status=204,
    errors=(403, 404, 412),
)  # fmt: skip
def delete_view(ctx: RequestContext, view_id: str) -> Reply:
    composition.view_service().delete(ctx.caller, view_id, expected_version=ctx.if_match, now=ctx.now)
    return Reply(status=204)


@api.route(
    "/v1/views/{view_id}/tickets", "GET", summary="A page of a view's tickets (pages like GET /v1/tickets)", roles=STAFF,
    query=PageQuery, response=TicketPage, errors=(403, 404),
)  # fmt: skip
def view_tickets(ctx: RequestContext, view_id: str) -> Reply:
    service = composition.view_service()
    view = service.get(ctx.caller, view_id)
    # The cursor is bound to the view's definition: a page of an edited view starts over (400).
    bound_to = (view_id, dict(view.filters), view.sort, getattr(view, "version", 0))
    position = ctx.page_position(ctx.query.cursor, *bound_to)
    tickets, next_position = service.tickets(ctx.caller, view, limit=ctx.query.limit, position=position, now=ctx.now)
    return Reply(
        {
            "items": [ticket_view(t, ctx.caller, with_description=False) for t in tickets],
            "next_cursor": ctx.page_cursor(next_position, *bound_to),
        }
    )


@api.route(
    "/v1/tickets/{ticket_id}/presence", "PUT",
    summary="Heartbeat: the caller is viewing the ticket (shown to other agents for 60 s)", roles=STAFF, status=204,
    errors=(403, 404),  # 404: a path id that cannot be a ticket id (the route table's check); any well-formed id is 204
)  # fmt: skip
def heartbeat(ctx: RequestContext, ticket_id: str) -> Reply:
    composition.presence_service().heartbeat(ctx.caller, ticket_id, ctx.now)
    return Reply(status=204)
