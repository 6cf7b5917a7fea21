"""Webhooks (`/v1/webhooks`, admins only): where events are POSTed, signed with a secret that
the create response carries once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from chalicelib import composition
from chalicelib.api.models import Model, PageQuery, Patch, PlainText, Strict
from chalicelib.api.routing import Api, Reply, RequestContext

api = Api("webhooks")

Url = Annotated[str, StringConstraints(min_length=1, max_length=2048), PlainText("an https URL the webhook rules check")]
EventName = Annotated[str, StringConstraints(min_length=1, max_length=64), PlainText("checked against the event types")]
Events = Annotated[
    list[EventName],
    Field(
        min_length=1,
        max_length=32,
        description='event types (API.md "Events", plus escalation.stage_overdue and escalation.failed), '
        'or ["*"] for every type, including types added later',
    ),
]
_URL_DOC = "https:// only; the host must be a public DNS name or a public IP address (never localhost or a private range)"


class WebhookCreate(Strict):
    url: Url = Field(description=_URL_DOC)
    events: Events
    active: bool = True


class WebhookPatch(Patch):
    url: Url | None = Field(None, description=_URL_DOC)
    events: Events | None = None
    active: bool | None = None


class WebhookOut(Model):
    id: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime
    version: int


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="signs every delivery (header Helpdesk-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "
        '"<t>.<body>">); returned only in this response'
    )


class WebhookPage(Model):
    items: list[WebhookOut]
    next_cursor: str | None


def webhook_view(entry: Any) -> dict[str, Any]:  # a storage.directory.Entry; never the secret
    return {
        "id": entry.id,
        "url": entry.data["url"],
        "events": list(entry.data["events"]),
        "active": bool(entry.data.get("active", True)),
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
        "version": entry.version,
    }


@api.route(
    "/v1/webhooks",
    "POST",
    summary="Create a webhook; the response carries its signing secret, once",
    roles=("admin",),
    body=WebhookCreate,
    response=WebhookCreated,
    status=201,
    errors=(403, 422),
)
def create_webhook(ctx: RequestContext) -> Reply:
    entry, secret = composition.webhook_service().create(ctx.caller, ctx.body.model_dump(), ctx.now)
    return Reply(
        {**webhook_view(entry), "secret": secret},
        status=201,
        headers={"Location": f"/v1/webhooks/{entry.id}"},
        version=entry.version,
    )


@api.route("/v1/webhooks", "GET", summary="List webhooks", roles=("admin",), query=PageQuery, response=WebhookPage, errors=(403,))
def list_webhooks(ctx: RequestContext) -> Reply:
    after = ctx.page_position(ctx.query.cursor, "webhooks")
    entries, last = composition.webhook_service().list(ctx.caller, limit=ctx.query.limit, after=after)
    return Reply({"items": [webhook_view(e) for e in entries], "next_cursor": ctx.page_cursor(last, "webhooks")})


@api.route("/v1/webhooks/{webhook_id}", "GET", summary="Get a webhook", roles=("admin",), response=WebhookOut, errors=(403, 404))
def get_webhook(ctx: RequestContext, webhook_id: str) -> Reply:
    entry = composition.webhook_service().get(ctx.caller, webhook_id)
    return Reply(webhook_view(entry), version=entry.version)


@api.route(
    "/v1/webhooks/{webhook_id}",
    "PATCH",
    summary="Change a webhook's URL, events or active flag (the secret stays)",
    roles=("admin",),
    body=WebhookPatch,
    response=WebhookOut,
    errors=(403, 404, 412, 422),
)
def patch_webhook(ctx: RequestContext, webhook_id: str) -> Reply:
    entry = composition.webhook_service().update(
        ctx.caller, webhook_id, ctx.body.model_dump(exclude_unset=True), expected_version=ctx.if_match, now=ctx.now
    )
    return Reply(webhook_view(entry), version=entry.version)


@api.route("/v1/webhooks/{webhook_id}", "DELETE", summary="Delete a webhook", roles=("admin",), status=204, errors=(403, 404))
def delete_webhook(ctx: RequestContext, webhook_id: str) -> Reply:
    composition.webhook_service().delete(ctx.caller, webhook_id, ctx.now)
    return Reply(status=204)
