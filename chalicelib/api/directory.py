"""Admin collections: /v1/users, /v1/organizations, /v1/teams, /v1/statuses, /v1/pipelines."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from chalicelib import composition
from chalicelib.api import models, sla
from chalicelib.api.routing import Api, Reply, RequestContext
from chalicelib.api.views import directory_view
from chalicelib.domain.errors import Conflict
from chalicelib.domain.pipelines import DEFAULT_PIPELINE
from chalicelib.domain.statuses import BUILTIN_STATUSES

api = Api("directory")


def _collection(
    path: str, kind: str, create: type[BaseModel], patch: type[BaseModel], out: type[BaseModel], readers: tuple[str, ...]
) -> None:
    """The five routes of one admin collection; statuses add their built-ins on top."""
    item_path = f"{path}/{{entry_id}}"

    def view(entry: Any) -> dict[str, Any]:
        data = directory_view(entry)
        if kind == "status":
            return {"id": data["id"], "name": data["name"], "category": data["category"], "builtin": False}
        if kind == "pipeline":
            return {"id": data["id"], "name": data["name"], "statuses": data["statuses"], "builtin": False}
        return data

    def create_entry(ctx: RequestContext) -> Reply:
        entry = composition.directory_service().create(ctx.caller, kind, ctx.body.model_dump(exclude_unset=True), ctx.now)
        return Reply(view(entry), status=201, headers={"Location": f"{path}/{entry.id}"}, version=entry.version)

    def list_entries(ctx: RequestContext) -> Reply:
        after = ctx.page_position(ctx.query.cursor, kind)
        entries, last = composition.directory_service().list(ctx.caller, kind, limit=ctx.query.limit, after=after)
        items = [view(e) for e in entries]
        if kind == "status" and ctx.query.cursor is None:
            items = [{"id": s.name, "name": s.name, "category": s.category, "builtin": True} for s in BUILTIN_STATUSES] + items
        if kind == "pipeline" and ctx.query.cursor is None:
            items = [composition.directory_service().pipelines.default_view(), *items]
        return Reply({"items": items, "next_cursor": ctx.page_cursor(last, kind)})

    def get_entry(ctx: RequestContext, entry_id: str) -> Reply:
        builtin = _builtin(kind, entry_id)
        if builtin is not None:
            return Reply(builtin)
        entry = composition.directory_service().get(ctx.caller, kind, entry_id)
        return Reply(view(entry), version=entry.version)

    def patch_entry(ctx: RequestContext, entry_id: str) -> Reply:
        _refuse_builtin(kind, entry_id)
        entry = composition.directory_service().update(
            ctx.caller, kind, entry_id, ctx.body.model_dump(exclude_unset=True), expected_version=ctx.if_match, now=ctx.now
        )
        return Reply(view(entry), version=entry.version)

    def delete_entry(ctx: RequestContext, entry_id: str) -> Reply:
        _refuse_builtin(kind, entry_id)
        composition.directory_service().delete(ctx.caller, kind, entry_id, ctx.now)
        return Reply(status=204)

    for handler, name in (
        (create_entry, f"create_{kind}"),
        # The collection's name from its path, not kind + "s" (which made `list_statuss`).
        (list_entries, "list_" + path.rsplit("/", 1)[1].replace("-", "_")),
        (get_entry, f"get_{kind}"),
        (patch_entry, f"update_{kind}"),
        (delete_entry, f"delete_{kind}"),
    ):
        handler.__name__ = name
    api.route(
        path, "POST", summary=f"Create a {kind}", roles=("admin",), body=create, response=out, status=201, errors=(403, 409, 422)
    )(create_entry)
    api.route(
        path, "GET", summary=f"List {kind}s", roles=readers, query=models.PageQuery, response=models.page_of(out), errors=(403,)
    )(list_entries)
    api.route(item_path, "GET", summary=f"Get a {kind}", roles=readers, response=out, errors=(403, 404))(get_entry)
    api.route(
        item_path,
        "PATCH",
        summary=f"Change a {kind}",
        roles=("admin",),
        body=patch,
        response=out,
        errors=(403, 404, 409, 412, 422),
    )(patch_entry)
    api.route(item_path, "DELETE", summary=f"Delete a {kind}", roles=("admin",), status=204, errors=(403, 404, 409))(delete_entry)


def _builtin(kind: str, entry_id: str) -> dict[str, Any] | None:
    if kind == "pipeline" and entry_id == DEFAULT_PIPELINE:
        return composition.directory_service().pipelines.default_view()
    if kind != "status":
        return None
    for status in BUILTIN_STATUSES:
        if status.name == entry_id:
            return {"id": status.name, "name": status.name, "category": status.category, "builtin": True}
    return None


def _refuse_builtin(kind: str, entry_id: str) -> None:
    if _builtin(kind, entry_id) is not None:
        raise Conflict(f"built-in {kind}s cannot be changed or deleted")


_collection("/v1/users", "user", models.UserCreate, models.UserPatch, models.UserOut, ("admin", "agent"))
_collection(
    "/v1/organizations",
    "organization",
    models.OrganizationCreate,
    models.OrganizationPatch,
    models.OrganizationOut,
    ("admin", "agent"),
)
_collection("/v1/teams", "team", models.TeamCreate, models.TeamPatch, models.TeamOut, ("admin", "agent"))
_collection("/v1/statuses", "status", models.StatusCreate, models.StatusPatch, models.StatusOut, ("admin", "agent", "customer"))
_collection(
    "/v1/pipelines", "pipeline", models.PipelineCreate, models.PipelinePatch, models.PipelineOut, ("admin", "agent", "customer")
)
_collection(
    "/v1/business-hours",
    "business_hours",
    sla.BusinessHoursCreate,
    sla.BusinessHoursPatch,
    sla.BusinessHoursOut,
    ("admin", "agent"),
)
_collection("/v1/sla-policies", "sla_policy", sla.SlaPolicyCreate, sla.SlaPolicyPatch, sla.SlaPolicyOut, ("admin", "agent"))


@api.route("/v1/me", "GET", summary="The caller's own user record", roles=("admin", "agent", "customer"), response=models.UserOut)
def get_me(ctx: RequestContext) -> Reply:
    entry = composition.directory_service().me(ctx.caller)
    return Reply(directory_view(entry), version=entry.version)


@api.route(
    "/v1/me",
    "PATCH",
    summary="Change the caller's own preferences (notifications: whether the help desk mails them)",
    roles=("admin", "agent", "customer"),
    body=models.MePatch,
    response=models.UserOut,
    errors=(404, 422),
)
def update_me(ctx: RequestContext) -> Reply:
    entry = composition.directory_service().update_me(ctx.caller, ctx.body.model_dump(exclude_unset=True), ctx.now)
    return Reply(directory_view(entry), version=entry.version)
