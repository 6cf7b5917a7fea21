"""What a notification says: the event read from the bus, and the text of each version.

The customer version of an event names only what a customer may see (`customer_changes`, never
an internal note: `recipients` never picks a customer for one); the agent version names every
change and says when the comment is an internal note. Plain text: `outbound.build` renders it
as HTML too. The body ends with the reply hint, so a person knows answering the mail reaches
the ticket (the Reply-To carries the ticket's token).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chalicelib.domain.events import (
    COMMENT_CREATED,
    ESCALATION_STAGE_CHANGED,
    TICKET_CREATED,
    TICKET_UPDATED,
    Event,
)
from chalicelib.domain.mail.recipients import Audience, customer_changes

MAX_VALUE_CHARS = 200  # a change's value shown in a mail (descriptions are long)
REPLY_HINT = "Reply to this email to add a comment to the ticket."


def event_from_bus(message: Mapping[str, Any]) -> Event:
    """The event in an EventBridge message; ValueError when it is not one of ours about a ticket."""
    detail = message.get("detail")
    event_type = message.get("detail-type")
    if not isinstance(detail, Mapping) or not isinstance(event_type, str) or not event_type:
        raise ValueError("an EventBridge message has a detail-type and a detail")
    event_id, ticket_id, at = detail.get("event_id"), detail.get("ticket_id"), detail.get("at") or message.get("time")
    if not isinstance(event_id, str) or not event_id or not isinstance(ticket_id, str) or not ticket_id:
        raise ValueError("an event names its id and its ticket")
    return Event(id=event_id, type=event_type, at=str(at or ""), ticket_id=ticket_id, detail=dict(detail))


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _changes(event: Event, audience: Audience) -> list[str]:
    if audience == "customer":
        changes = customer_changes(event)
    else:
        changes = [c for c in event.detail.get("changes") or [] if isinstance(c, Mapping)]
    lines = []
    for change in changes:
        if change.get("truncated"):
            lines.append(f"- {change.get('property')} changed")
        else:
            lines.append(f"- {change.get('property')}: {_value(change.get('old'))} → {_value(change.get('new'))}")
    return lines


def text(
    event: Event,
    audience: Audience,
    *,
    actor_name: str,
    ticket_subject: str,
    comment_body: str | None = None,
    comment_visibility: str = "public",
) -> str:
    """The plain-text body of one version of one event."""
    actor = actor_name or "The help desk"
    parts: list[str] = []
    if event.type == COMMENT_CREATED:
        if comment_visibility == "internal":
            parts.append(f"{actor} added an internal note (agents only):")
        else:
            parts.append(f"{actor} replied:")
        parts.append(comment_body or "")
    elif event.type == TICKET_CREATED:
        parts.append(f"{actor} opened the ticket “{ticket_subject}”.")
    elif event.type == ESCALATION_STAGE_CHANGED:
        moves = [c for c in event.detail.get("changes") or [] if isinstance(c, Mapping)]
        stages = [c.get("new") for c in moves if c.get("property") == "escalation.stage"]
        stage = stages[-1] if stages else None
        parts.append(f"The escalation of this ticket moved to: {stage}." if stage else "The escalation of this ticket moved on.")
    elif event.type == TICKET_UPDATED:
        parts.append(f"{actor} updated the ticket.")
    else:
        parts.append(f"{event.type.replace('.', ' ').capitalize()}.")
    changes = _changes(event, audience)
    if changes:
        parts.append("\n".join(changes))
    parts.append(f"-- \n{REPLY_HINT}")
    return "\n\n".join(parts)
