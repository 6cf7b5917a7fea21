"""SLA routes: a ticket's clocks and ledger, and the admin collections that configure them
(`/v1/business-hours`, `/v1/sla-policies`, registered through the directory's collection helper)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from chalicelib import composition
from chalicelib.api import models
from chalicelib.api.models import Id, Model, Name, Patch, Priority, StatusName, Strict
from chalicelib.api.routing import STAFF, Api, Reply, RequestContext
from chalicelib.domain.sla import MAX_TARGET_MINUTES, RESPONSE_KINDS

api = Api("sla")

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WallClock = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]
IsoDate = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
Timezone = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+/-]+$")]
Shift = Annotated[list[WallClock], Field(min_length=2, max_length=2)]
Shifts = Annotated[list[Shift], Field(max_length=12)]
Weekly = Annotated[dict[Day, Shifts], Field(description="split shifts allowed; 24:00 ends a day")]
Minutes = Annotated[int, Field(ge=1, le=MAX_TARGET_MINUTES)]
ResponseKind = Literal[RESPONSE_KINDS]  # type: ignore[valid-type]


class Holiday(Strict):
    date: IsoDate | None = Field(None, description="one day; or give start and end (inclusive)")
    start: IsoDate | None = None
    end: IsoDate | None = None
    name: Annotated[str, StringConstraints(max_length=100), models.SHOWN_AS_TEXT] | None = None


Holidays = Annotated[list[Holiday], Field(max_length=500)]


class BusinessHoursCreate(Strict):
    id: Id | None = None
    name: Name
    timezone: Timezone = Field(description="IANA time zone, e.g. Europe/Berlin")
    weekly: Weekly
    holidays: Holidays = []


class BusinessHoursPatch(Patch):
    name: Name | None = None
    timezone: Timezone | None = None
    weekly: Weekly | None = None
    holidays: Holidays | None = None


class BusinessHoursOut(Model):
    id: str
    name: str
    timezone: str
    weekly: dict[str, list[list[str]]]
    holidays: list[dict[str, str]]
    created_at: datetime
    updated_at: datetime
    version: int


class Goals(Strict):
    first_response_minutes: Minutes | None = None
    next_response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None


class Conditions(Strict):
    priorities: Annotated[list[Priority], Field(max_length=4)] | None = None
    types: Annotated[list[models.TicketType], Field(max_length=4)] | None = None
    channels: Annotated[list[models.Channel], Field(max_length=6)] | None = None
    organization_ids: Annotated[list[Id], Field(max_length=100)] | None = None
    tags: Annotated[list[models.Tag], Field(max_length=50)] | None = None


Targets = Annotated[dict[Priority, Goals], Field(description="per priority; business minutes")]
PauseStatuses = Annotated[list[StatusName], Field(max_length=20, description="statuses or status categories")]
Responses = Annotated[list[ResponseKind], Field(max_length=4, description="what counts as a response")]


class SlaPolicyCreate(Strict):
    id: Id | None = None
    name: Name
    position: Annotated[int, Field(ge=0, le=10_000)] | None = Field(
        None, description="lowest matching position applies; unique (409 if taken); omitted: 10 after the last policy"
    )
    conditions: Conditions = Field(default_factory=Conditions)
    business_hours_id: Id | None = Field(None, description="none: the clocks run 24/7")
    pause_statuses: PauseStatuses = ["pending"]
    targets: Targets
    responses: Responses = ["public_reply"]


class SlaPolicyPatch(Patch):
    nullable = frozenset({"business_hours_id"})
    name: Name | None = None
    position: Annotated[int, Field(ge=0, le=10_000)] | None = None
    conditions: Conditions | None = None
    business_hours_id: Id | None = None
    pause_statuses: PauseStatuses | None = None
    targets: Targets | None = None
    responses: Responses | None = None


class SlaPolicyOut(Model):
    id: str
    name: str
    position: int
    conditions: dict[str, list[str] | None]
    business_hours_id: str | None = None
    pause_statuses: list[str]
    targets: dict[str, dict[str, int | None]]
    responses: list[str]
    created_at: datetime
    updated_at: datetime
    version: int


class ClockOut(Model):
    metric: Literal["first_response", "next_response", "resolution"]
    status: Literal["running", "paused", "met", "breached"]
    due_at: datetime | None = Field(description="null while paused")
    completed_at: datetime | None
    breached_at: datetime | None = Field(description="when the timer recorded the breach")
    started_at: datetime
    target_minutes: int
    business_seconds_elapsed: int
    generation: int = Field(description="the timer generation; a re-plan starts a new one")


class ClockList(Model):
    items: list[ClockOut]


class LedgerLineOut(Model):
    event: str = Field(description="applied, started, paused, resumed, replanned, met, completed_late, breached, stopped")
    at: datetime
    metric: str | None
    generation: int | None
    due_at: datetime | None
    detail: dict[str, object]


class LedgerPage(Model):
    items: list[LedgerLineOut]
    next_cursor: str | None


@api.route(
    "/v1/tickets/{ticket_id}/sla",
    "GET",
    summary="The ticket's SLA clocks",
    roles=STAFF,
    response=ClockList,
    errors=(403, 404),
)
def ticket_clocks(ctx: RequestContext, ticket_id: str) -> Reply:
    ticket = composition.ticket_service().get(ctx.caller, ticket_id)
    return Reply({"items": composition.sla_service().clocks(ticket, ctx.now)})


@api.route(
    "/v1/tickets/{ticket_id}/sla/ledger",
    "GET",
    summary="The ticket's SLA ledger, oldest first: how every due time was computed",
    roles=STAFF,
    query=models.PageQuery,
    response=LedgerPage,
    errors=(403, 404),
)
def ticket_ledger(ctx: RequestContext, ticket_id: str) -> Reply:
    ticket = composition.ticket_service().get(ctx.caller, ticket_id)
    after = ctx.page_position(ctx.query.cursor, ticket_id)
    lines, last = composition.sla_service().ledger(ticket, limit=ctx.query.limit, after=after)
    return Reply({"items": lines, "next_cursor": ctx.page_cursor(last, ticket_id)})
