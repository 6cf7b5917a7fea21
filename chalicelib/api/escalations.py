"""Escalation routes: create on a ticket, read, and signal the workflow (agents' transitions,
customers' verification). The workflow moves the stage; signals answer 202."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from chalicelib import composition
from chalicelib.api.models import SANITIZED, Model
from chalicelib.api.routing import STAFF, Api, Reply, RequestContext
from chalicelib.domain.escalations import DESCRIPTION_MAX, ESTIMATE_NOTE, NOTE_MAX, UNSET, Escalation
from chalicelib.domain.visibility import Caller

api = Api("escalations")

StageName = Literal["submitted", "review", "engineering", "verification", "resolved"]


class _Strict(Model):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class EscalationCreate(_Strict):
    description: Annotated[str, StringConstraints(min_length=1, max_length=DESCRIPTION_MAX), SANITIZED]


class EscalationTransition(_Strict):
    to: StageName
    note: Annotated[str, StringConstraints(max_length=NOTE_MAX), SANITIZED] = ""
    estimated_resolution_date: date | None = Field(None, description="YYYY-MM-DD; null clears it; omit to keep it")


class EscalationVerification(_Strict):
    confirmed: bool
    comment: Annotated[str, StringConstraints(max_length=NOTE_MAX), SANITIZED] = ""


class StageOut(Model):
    stage: StageName
    entered_at: datetime
    note: str | None = Field(None, description="agents only")
    actor_id: str | None = Field(None, description="agents only")


class OverrunOut(Model):
    stage: StageName
    target_seconds: int
    at: datetime


class EscalationOut(Model):
    """The escalation. Customers get the stage timeline without notes and without agent-only fields."""

    id: str
    ticket_id: str
    description: str
    stage: StageName
    stages: list[StageOut]
    estimated_resolution_date: date | None
    estimated_resolution_note: str | None = Field(None, description="set whenever there is an estimate: it is not a guarantee")
    pending_stage: StageName | None = Field(
        None, description="a signal was accepted; the workflow is moving the escalation there"
    )
    created_at: datetime
    updated_at: datetime
    overruns: list[OverrunOut] | None = Field(None, description="agents only: stages that outlived their target duration")
    failure: dict[str, Any] | None = Field(None, description="agents only: why the workflow stopped, if it did")


def escalation_view(escalation: Escalation, caller: Caller, now: datetime) -> dict[str, Any]:
    erd = escalation.estimated_resolution_date
    staff = caller.is_staff
    stages = []
    for entry in escalation.stages:
        shown: dict[str, Any] = {"stage": entry.stage, "entered_at": entry.entered_at}
        if staff:  # notes are agent text: customers see the stage timeline only
            shown["note"] = entry.note or None
            shown["actor_id"] = entry.actor_id
        stages.append(shown)
    view: dict[str, Any] = {
        "id": escalation.id,
        "ticket_id": escalation.ticket_id,
        "description": escalation.description,
        "stage": escalation.stage,
        "stages": stages,
        "estimated_resolution_date": erd.isoformat() if erd else None,
        "estimated_resolution_note": ESTIMATE_NOTE if erd else None,
        "pending_stage": escalation.pending_stage(now),
        "created_at": escalation.created_at,
        "updated_at": escalation.updated_at,
    }
    if staff:
        view["overruns"] = [{"stage": o.stage, "target_seconds": o.target_seconds, "at": o.at} for o in escalation.overruns]
        view["failure"] = escalation.failure
    return view


def _located(ctx: RequestContext, escalation: Escalation, status: int) -> Reply:
    """The escalation where it can be followed (`Location`): 202 while its workflow takes it on, 201 created."""
    view = escalation_view(escalation, ctx.caller, ctx.now)
    return Reply(view, status=status, headers={"Location": f"/v1/escalations/{escalation.id}"})


@api.route(
    "/v1/tickets/{ticket_id}/escalations",
    "POST",
    summary="Escalate a ticket (stage submitted; one open escalation per ticket)",
    roles=STAFF,
    body=EscalationCreate,
    response=EscalationOut,
    status=201,
    errors=(403, 404, 409, 422, 503),
)
def create_escalation(ctx: RequestContext, ticket_id: str) -> Reply:
    escalation = composition.escalation_service().create(ctx.caller, ticket_id, ctx.body.description, ctx.now)
    return _located(ctx, escalation, 201)


@api.route(
    "/v1/escalations/{escalation_id}",
    "GET",
    summary="One escalation (everyone who sees its ticket; customers without notes)",
    response=EscalationOut,
    errors=(404,),
)
def get_escalation(ctx: RequestContext, escalation_id: str) -> Reply:
    escalation, _ticket = composition.escalation_service().get(ctx.caller, escalation_id)
    return Reply(escalation_view(escalation, ctx.caller, ctx.now))


@api.route(
    "/v1/escalations/{escalation_id}/transitions",
    "POST",
    summary="Move the escalation to the next stage (or from verification back to engineering); 202, the workflow moves it",
    roles=STAFF,
    body=EscalationTransition,
    response=EscalationOut,
    status=202,
    errors=(403, 404, 409, 422, 503),
)
def transition_escalation(ctx: RequestContext, escalation_id: str) -> Reply:
    body = ctx.body
    erd = body.estimated_resolution_date if "estimated_resolution_date" in body.model_fields_set else UNSET
    escalation = composition.escalation_service().transition(ctx.caller, escalation_id, body.to, body.note, erd, ctx.now)
    return _located(ctx, escalation, 202)


@api.route(
    "/v1/escalations/{escalation_id}/verification",
    "POST",
    summary="The customer confirms the fix (→ resolved) or not (→ back to engineering); 202",
    roles=("customer",),
    body=EscalationVerification,
    response=EscalationOut,
    status=202,
    errors=(403, 404, 409, 422, 503),
)
def verify_escalation(ctx: RequestContext, escalation_id: str) -> Reply:
    body = ctx.body
    escalation = composition.escalation_service().verify(ctx.caller, escalation_id, body.confirmed, body.comment, ctx.now)
    return _located(ctx, escalation, 202)
