"""Which event every write route produces (issue 11, "events for every change").

One row per POST/PUT/PATCH/DELETE route of routes.txt: the event types a successful request
writes into its own transaction (the outbox, docs/data-model.md "Events"), or, for the
escalation routes, that the escalation workflow writes when it applies the signal. A request
that changes nothing (an unfollow of a ticket not followed, a route with no matching rule)
writes none. `tests/api/test_route_events.py` fails when a write route has no row and checks
the rows against what the routes emit.
"""

from __future__ import annotations

from chalicelib.domain import events as e

_TICKET = "/v1/tickets/{ticket_id}"
_ACTIVITY = f"{_TICKET}/activities/{{activity_id}}"


def _resource(path: str, item: str = "{entry_id}") -> dict[str, tuple[str, ...]]:
    return {
        f"POST {path}": (e.RESOURCE_CREATED,),
        f"PATCH {path}/{item}": (e.RESOURCE_UPDATED,),
        f"DELETE {path}/{item}": (e.RESOURCE_DELETED,),
    }


ROUTE_EVENTS: dict[str, tuple[str, ...]] = {
    "POST /v1/tickets": (e.TICKET_CREATED,),
    f"PATCH {_TICKET}": (e.TICKET_UPDATED,),
    f"DELETE {_TICKET}": (e.TICKET_DELETED,),
    f"POST {_TICKET}/restore": (e.TICKET_RESTORED,),
    "PATCH /v1/me": (e.RESOURCE_UPDATED,),
    **_resource("/v1/users"),
    **_resource("/v1/organizations"),
    **_resource("/v1/teams"),
    **_resource("/v1/statuses"),
    **_resource("/v1/pipelines"),
    **_resource("/v1/business-hours"),
    **_resource("/v1/sla-policies"),
    f"POST {_TICKET}/comments": (e.COMMENT_CREATED,),
    f"POST {_TICKET}/activities": (e.TICKET_UPDATED,),
    f"PATCH {_ACTIVITY}": (e.ACTIVITY_UPDATED,),
    f"DELETE {_ACTIVITY}": (e.ACTIVITY_DELETED,),
    f"POST {_ACTIVITY}/restore": (e.ACTIVITY_RESTORED,),
    f"POST {_ACTIVITY}/comments": (e.ACTIVITY_COMMENTED,),
    f"PUT {_TICKET}/followers/me": (e.TICKET_UPDATED,),
    f"DELETE {_TICKET}/followers/me": (e.TICKET_UPDATED,),
    f"POST {_TICKET}/close": (e.TICKET_UPDATED,),
    f"POST {_TICKET}/feedback": (e.FEEDBACK_RECEIVED,),
    **_resource("/v1/templates", "{template_id}"),
    "PUT /v1/settings": (e.RESOURCE_CREATED, e.RESOURCE_UPDATED),  # the first PUT creates them
    # The API writes the escalation or signals its workflow; the workflow's own transaction
    # writes the event when the stage changes.
    f"POST {_TICKET}/escalations": (e.ESCALATION_STAGE_CHANGED,),
    "POST /v1/escalations/{escalation_id}/transitions": (e.ESCALATION_STAGE_CHANGED,),
    "POST /v1/escalations/{escalation_id}/verification": (e.ESCALATION_STAGE_CHANGED,),
    f"POST {_TICKET}/links": (e.TICKET_UPDATED,),  # one per ticket of the pair
    f"DELETE {_TICKET}/links/{{other_id}}": (e.TICKET_UPDATED,),
    f"POST {_TICKET}/merge": (e.TICKET_MERGED, e.TICKET_UPDATED),
    f"PUT {_TICKET}/proxy-access": (e.TICKET_UPDATED,),
    f"POST {_TICKET}/time-entries": (e.TICKET_UPDATED,),
    f"POST {_TICKET}/attachments": (e.ATTACHMENT_ADDED,),
    f"POST {_TICKET}/attachments/{{attachment_id}}/confirm": (e.ATTACHMENT_CONFIRMED,),
    **_resource("/v1/webhooks", "{webhook_id}"),
    **_resource("/v1/views", "{view_id}"),
    **_resource("/v1/routing-rules", "{rule_id}"),
    f"POST {_TICKET}/route": (e.TICKET_UPDATED,),
    **_resource("/v1/automations", "{automation_id}"),
    # The Zendesk layer (docs/zendesk.md) writes through the same services as /v1.
    "POST /api/v2/tickets.json": (e.TICKET_CREATED,),
    "PUT /api/v2/tickets/{ticket_file}": (e.TICKET_UPDATED, e.COMMENT_CREATED),  # a comment, if sent
}

# Write routes that change nothing a user made: no event, and why.
NO_EVENT: dict[str, str] = {
    f"PUT {_TICKET}/presence": "a heartbeat: who is viewing, for 60 s (TTL items), not a change of anything",
}
