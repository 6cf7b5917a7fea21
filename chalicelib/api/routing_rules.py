"""Routing rules (`/v1/routing-rules`: admins write, agents read) and `POST /v1/tickets/{id}/route`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from chalicelib import composition
from chalicelib.api.models import Id, Model, Name, Patch, PlainText, Strict, Tag, TicketOut
from chalicelib.api.routing import STAFF, Api, Reply, RequestContext
from chalicelib.api.rule_sets import RuleSet
from chalicelib.api.views import ticket_view
from chalicelib.domain.routing import KEYWORD_MAX_CHARS, MAX_KEYWORDS, MAX_VALUES

api = Api("routing")

Priority = Literal["low", "normal", "high", "urgent"]
TicketType = Literal["incident", "problem", "request", "change"]
Channel = Literal["email", "chat", "phone", "conference", "web", "api"]
Keyword = Annotated[
    str, StringConstraints(min_length=1, max_length=KEYWORD_MAX_CHARS), PlainText("a word matched case-insensitively")
]
Domain = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.-]{1,253}$")]
Keywords = Annotated[list[Keyword], Field(max_length=MAX_KEYWORDS)]
Position = Annotated[int, Field(ge=0, le=1_000_000, description="rules apply lowest position first (ties by id)")]
Assignment = Literal["none", "round_robin", "least_open"]


class Conditions(Strict):
    """All given must hold; within one, any value matches (tags_all: every value)."""

    channels: Annotated[list[Channel], Field(max_length=MAX_VALUES)] | None = None
    types: Annotated[list[TicketType], Field(max_length=MAX_VALUES)] | None = None
    priorities: Annotated[list[Priority], Field(max_length=MAX_VALUES)] | None = None
    organization_ids: Annotated[list[Id], Field(max_length=MAX_VALUES)] | None = None
    tags: Annotated[list[Tag], Field(max_length=MAX_VALUES)] | None = None
    tags_all: Annotated[list[Tag], Field(max_length=MAX_VALUES)] | None = None
    subject_contains: Keywords | None = None
    description_contains: Keywords | None = None
    requester_domains: Annotated[list[Domain], Field(max_length=MAX_VALUES)] | None = None


class RuleCreate(Strict):
    name: Name
    position: Position | None = None
    conditions: Conditions = Conditions()
    team_id: Id
    assignment: Assignment = "none"


class RulePatch(Patch):
    name: Name | None = None
    position: Position | None = None
    conditions: Conditions | None = None
    team_id: Id | None = None
    assignment: Assignment | None = None


class RuleOut(Model):
    id: str
    name: str
    position: int
    conditions: dict[str, list[str]]
    team_id: str
    assignment: Assignment
    created_at: datetime
    updated_at: datetime
    version: int


class RulePage(Model):
    items: list[RuleOut]
    next_cursor: str | None


def rule_view(entry: Any) -> dict[str, Any]:  # a storage.directory.Entry
    data = entry.data
    return {
        "id": entry.id,
        "name": entry.name,
        "position": int(data.get("position", 0)),
        "conditions": dict(data.get("conditions") or {}),
        "team_id": data["team_id"],
        "assignment": data.get("assignment", "none"),
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
        "version": entry.version,
    }


RULES = RuleSet("/v1/routing-rules", composition.routing_rule_service, rule_view)


@api.route(
    "/v1/routing-rules",
    "POST",
    summary="Create a routing rule (appended last unless a position is given)",
    roles=("admin",),
    body=RuleCreate,
    response=RuleOut,
    status=201,
    errors=(403, 409, 422),
)
def create_routing_rule(ctx: RequestContext) -> Reply:
    return RULES.create(ctx)


@api.route("/v1/routing-rules", "GET", summary="Every routing rule, in order", roles=STAFF, response=RulePage, errors=(403,))
def list_routing_rules(ctx: RequestContext) -> Reply:
    return RULES.list(ctx)


@api.route("/v1/routing-rules/{rule_id}", "GET", summary="Get a routing rule", roles=STAFF, response=RuleOut, errors=(403, 404))
def get_routing_rule(ctx: RequestContext, rule_id: str) -> Reply:
    return RULES.get(ctx, rule_id)


@api.route(
    "/v1/routing-rules/{rule_id}",
    "PATCH",
    summary="Change a routing rule (position reorders it)",
    roles=("admin",),
    body=RulePatch,
    response=RuleOut,
    errors=(403, 404, 412, 422),
)
def patch_routing_rule(ctx: RequestContext, rule_id: str) -> Reply:
    return RULES.patch(ctx, rule_id)


@api.route(
    "/v1/routing-rules/{rule_id}", "DELETE", summary="Delete a routing rule", roles=("admin",), status=204, errors=(403, 404)
)
def delete_routing_rule(ctx: RequestContext, rule_id: str) -> Reply:
    return RULES.delete(ctx, rule_id)


@api.route(
    "/v1/tickets/{ticket_id}/route",
    "POST",
    summary="Apply the routing rules to the ticket now (unchanged when no rule matches)",
    roles=STAFF,
    response=TicketOut,
    errors=(403, 404, 409, 422),
)
def route_ticket(ctx: RequestContext, ticket_id: str) -> Reply:
    ticket, rule_id = composition.router().route(ctx.caller, ticket_id, ctx.now)
    headers = {"Helpdesk-Routing-Rule": rule_id} if rule_id else {}
    return Reply(ticket_view(ticket, ctx.caller), headers=headers, version=ticket.version)
