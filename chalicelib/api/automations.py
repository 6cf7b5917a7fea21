"""Automation rules (`/v1/automations`: admins write, agents read)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from chalicelib import composition
from chalicelib.api.models import (
    SANITIZED,
    Channel,
    Id,
    Model,
    Name,
    Patch,
    Priority,
    StatusName,
    Strict,
    Tag,
    TicketType,
)
from chalicelib.api.routing import STAFF, Api, Reply, RequestContext
from chalicelib.api.rule_sets import RuleSet, rule_values
from chalicelib.domain.automations import MAX_ACTIONS, MAX_NOTE_CHARS, MAX_VALUES
from chalicelib.domain.time_rules import MAX_BUSINESS_DAYS, MAX_BUSINESS_HOURS

api = Api("automations")

Event = Literal["ticket.created", "ticket.updated", "comment.created", "sla.breached", "escalation.stage_changed", "time"]
Position = Annotated[int, Field(ge=0, le=1_000_000, description="rules run lowest position first (ties by id)")]
Tags = Annotated[list[Tag], Field(min_length=1, max_length=MAX_VALUES)]


class After(Strict):
    """Exactly one of the two (422 otherwise), on the ticket's calendar (its SLA policy's business hours, else 24/7)."""

    business_days: Annotated[int, Field(ge=1, le=MAX_BUSINESS_DAYS)] | None = None
    business_hours: Annotated[int, Field(ge=1, le=MAX_BUSINESS_HOURS)] | None = None


class Trigger(Strict):
    event: Event = Field(description="the event type that sets the rule off; `time`: after a delay in a status category")
    status_category: Literal["open", "pending", "resolved"] | None = Field(
        default=None, description="time rules only: the category the ticket stays in, unchanged but by automations"
    )
    after: After | None = Field(default=None, description="time rules only: how long, from the last change not an automation's")


class Conditions(Strict):
    """All given must hold; within one, any value matches (tags_all: every value)."""

    statuses: Annotated[list[StatusName], Field(max_length=MAX_VALUES)] | None = None
    status_categories: Annotated[list[Literal["open", "pending", "resolved", "closed"]], Field(max_length=MAX_VALUES)] | None = (
        None
    )
    priorities: Annotated[list[Priority], Field(max_length=MAX_VALUES)] | None = None
    types: Annotated[list[TicketType], Field(max_length=MAX_VALUES)] | None = None
    channels: Annotated[list[Channel], Field(max_length=MAX_VALUES)] | None = None
    team_ids: Annotated[list[Id], Field(max_length=MAX_VALUES)] | None = None
    organization_ids: Annotated[list[Id], Field(max_length=MAX_VALUES)] | None = None
    tags: Annotated[list[Tag], Field(max_length=MAX_VALUES)] | None = None
    tags_all: Annotated[list[Tag], Field(max_length=MAX_VALUES)] | None = None
    author_roles: Annotated[list[Literal["customer", "agent", "admin"]], Field(max_length=3)] | None = None
    comment_visibilities: Annotated[list[Literal["public", "internal"]], Field(max_length=2)] | None = None


class ActionIn(Strict):
    """One action; the field its type names is required (422 otherwise)."""

    type: Literal[
        "set_status",
        "set_priority",
        "set_type",
        "set_team",
        "set_assignee",
        "add_tags",
        "remove_tags",
        "add_follower",
        "internal_note",
        "template_reply",
    ]
    status: StatusName | None = None
    priority: Priority | None = None
    ticket_type: TicketType | None = None
    team_id: Id | None = None
    assignee_id: Id | None = Field(default=None, description="set_assignee: null unassigns")
    tags: Tags | None = None
    user_id: Id | None = None
    body: Annotated[str, StringConstraints(min_length=1, max_length=MAX_NOTE_CHARS), SANITIZED] | None = None
    template_id: Id | None = None


Actions = Annotated[list[ActionIn], Field(min_length=1, max_length=MAX_ACTIONS)]


class AutomationCreate(Strict):
    name: Name
    active: bool = True
    position: Position | None = None
    trigger: Trigger
    conditions: Conditions = Conditions()
    actions: Actions


class AutomationPatch(Patch):
    name: Name | None = None
    active: bool | None = None
    position: Position | None = None
    trigger: Trigger | None = None
    conditions: Conditions | None = None
    actions: Actions | None = None


class AutomationOut(Model):
    id: str
    name: str
    active: bool
    built_in: bool
    position: int
    trigger: dict[str, Any]
    conditions: dict[str, list[str]]
    actions: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    version: int


class AutomationPage(Model):
    items: list[AutomationOut]
    next_cursor: str | None


def automation_view(entry: Any) -> dict[str, Any]:  # a storage.directory.Entry
    from chalicelib.domain.automations import BUILT_IN

    data = entry.data
    return {
        "id": entry.id,
        "name": entry.name,
        "active": bool(data.get("active", True)),
        "built_in": entry.id in BUILT_IN,
        "position": int(data.get("position", 0)),
        "trigger": dict(data.get("trigger") or {}),
        "conditions": dict(data.get("conditions") or {}),
        "actions": list(data.get("actions") or []),
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
        "version": entry.version,
    }


def _values(ctx: RequestContext) -> dict[str, Any]:
    values = rule_values(ctx)
    if isinstance(values.get("actions"), list):
        values["actions"] = [{k: v for k, v in a.items() if v is not None or k == "assignee_id"} for a in values["actions"]]
    return values


RULES = RuleSet("/v1/automations", composition.automation_service, automation_view, _values)


@api.route(
    "/v1/automations",
    "POST",
    summary="Create an automation (runs after the others unless a position is given)",
    roles=("admin",),
    body=AutomationCreate,
    response=AutomationOut,
    status=201,
    errors=(403, 409, 422),
)
def create_automation(ctx: RequestContext) -> Reply:
    return RULES.create(ctx)


@api.route(
    "/v1/automations",
    "GET",
    summary="Every automation, built-in ones included, in the order they run",
    roles=STAFF,
    response=AutomationPage,
    errors=(403,),
)
def list_automations(ctx: RequestContext) -> Reply:
    return RULES.list(ctx)


@api.route(
    "/v1/automations/{automation_id}", "GET", summary="Get an automation", roles=STAFF, response=AutomationOut, errors=(403, 404)
)
def get_automation(ctx: RequestContext, automation_id: str) -> Reply:
    return RULES.get(ctx, automation_id)


@api.route(
    "/v1/automations/{automation_id}",
    "PATCH",
    summary="Change an automation (`active: false` turns it off, built-in ones too)",
    roles=("admin",),
    body=AutomationPatch,
    response=AutomationOut,
    errors=(403, 404, 412, 422),
)
def patch_automation(ctx: RequestContext, automation_id: str) -> Reply:
    return RULES.patch(ctx, automation_id)


@api.route(
    "/v1/automations/{automation_id}",
    "DELETE",
    summary="Delete an automation (a built-in one is turned off instead: 409)",
    roles=("admin",),
    status=204,
    errors=(403, 404, 409),
)
def delete_automation(ctx: RequestContext, automation_id: str) -> Reply:
    return RULES.delete(ctx, automation_id)
