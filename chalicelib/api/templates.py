"""Quick-reply templates (`/v1/templates`) and workspace settings (`/v1/settings`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from chalicelib import composition
from chalicelib.api.models import SANITIZED, Id, Model, Name, PageQuery, Strict
from chalicelib.api.routing import STAFF, Api, Reply, RequestContext
from chalicelib.domain.templates import PLACEHOLDERS

api = Api("templates")

_PLACEHOLDER_DOC = "placeholders: " + ", ".join("{{ " + p + " }}" for p in PLACEHOLDERS)
TemplateBody = Annotated[str, StringConstraints(min_length=1, max_length=20_000), SANITIZED]


class TemplateCreate(Strict):
    name: Name
    body: TemplateBody = Field(description=_PLACEHOLDER_DOC)


class TemplatePatch(Strict):
    name: Name | None = None
    body: TemplateBody | None = Field(None, description=_PLACEHOLDER_DOC)


class TemplateOut(Model):
    id: str
    name: str
    body: str
    created_at: datetime
    updated_at: datetime
    version: int


class TemplatePage(Model):
    items: list[TemplateOut]
    next_cursor: str | None


class RenderQuery(Strict):
    ticket_id: Id


class RenderedOut(Model):
    body: str = Field(description="the template filled in for the ticket (sanitized HTML)")
    visibility: Literal["public", "internal"] = Field(description="the workspace's default reply type")


class SettingsIn(Strict):
    default_reply_visibility: Literal["public", "internal"]


class SettingsOut(Model):
    default_reply_visibility: Literal["public", "internal"]


def template_view(entry: Any) -> dict[str, Any]:  # a storage.directory.Entry (not imported: keeps import cheap)
    return {
        "id": entry.id,
        "name": entry.name,
        "body": entry.data.get("body", ""),
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
        "version": entry.version,
    }


@api.route(
    "/v1/templates",
    "POST",
    summary="Create a quick-reply template",
    roles=("admin",),
    body=TemplateCreate,
    response=TemplateOut,
    status=201,
    errors=(403, 422),
)
def create_template(ctx: RequestContext) -> Reply:
    entry = composition.template_service().create(ctx.caller, ctx.body.model_dump(), ctx.now)
    return Reply(template_view(entry), status=201, headers={"Location": f"/v1/templates/{entry.id}"}, version=entry.version)


@api.route("/v1/templates", "GET", summary="List quick-reply templates", roles=STAFF, query=PageQuery, response=TemplatePage)
def list_templates(ctx: RequestContext) -> Reply:
    after = ctx.page_position(ctx.query.cursor, "templates")
    entries, last = composition.template_service().list(ctx.caller, limit=ctx.query.limit, after=after)
    return Reply({"items": [template_view(e) for e in entries], "next_cursor": ctx.page_cursor(last, "templates")})


@api.route(
    "/v1/templates/{template_id}", "GET", summary="Get a quick-reply template", roles=STAFF, response=TemplateOut, errors=(404,)
)
def get_template(ctx: RequestContext, template_id: str) -> Reply:
    entry = composition.template_service().get(ctx.caller, template_id)
    return Reply(template_view(entry), version=entry.version)


@api.route(
    "/v1/templates/{template_id}",
    "PATCH",
    summary="Change a quick-reply template",
    roles=("admin",),
    body=TemplatePatch,
    response=TemplateOut,
    errors=(403, 404, 412, 422),
)
def patch_template(ctx: RequestContext, template_id: str) -> Reply:
    entry = composition.template_service().update(
        ctx.caller, template_id, ctx.body.model_dump(exclude_unset=True), expected_version=ctx.if_match, now=ctx.now
    )
    return Reply(template_view(entry), version=entry.version)


@api.route(
    "/v1/templates/{template_id}",
    "DELETE",
    summary="Delete a quick-reply template",
    roles=("admin",),
    status=204,
    errors=(403, 404),
)
def delete_template(ctx: RequestContext, template_id: str) -> Reply:
    composition.template_service().delete(ctx.caller, template_id, ctx.now)
    return Reply(status=204)


@api.route(
    "/v1/templates/{template_id}/render",
    "GET",
    summary="A template filled in for one ticket (placeholders are data, inserted escaped)",
    roles=STAFF,
    query=RenderQuery,
    response=RenderedOut,
    errors=(404,),
)
def render_template(ctx: RequestContext, template_id: str) -> Reply:
    return Reply(composition.template_service().render(ctx.caller, template_id, ctx.query.ticket_id))


@api.route("/v1/settings", "GET", summary="Workspace settings (default reply type)", roles=STAFF, response=SettingsOut)
def get_settings(ctx: RequestContext) -> Reply:
    return Reply(composition.workspace_settings().get(ctx.caller))


@api.route(
    "/v1/settings",
    "PUT",
    summary="Change the workspace settings",
    roles=("admin",),
    body=SettingsIn,
    response=SettingsOut,
    errors=(403, 422),
)
def put_settings(ctx: RequestContext) -> Reply:
    return Reply(composition.workspace_settings().put(ctx.caller, ctx.body.model_dump(), ctx.now))
