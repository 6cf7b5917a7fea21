"""Change events (API.md "Events"): what an event says, pure and free of AWS.

Every change writes one event item into the same DynamoDB transaction as the change itself
(a transactional outbox, `storage/events.py`); a stream handler publishes the committed items
to EventBridge and `GET /v1/events` reads them back as the change feed. This module decides
what goes into an event's `detail`, what an EventBridge entry looks like, and where a feed page
may end.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.tickets import Change

SOURCE = "helpdesk"
SCHEMA_VERSION = 1
TICKET_CREATED = "ticket.created"
TICKET_UPDATED = "ticket.updated"
TICKET_DELETED = "ticket.deleted"
TICKET_RESTORED = "ticket.restored"
TICKET_MERGED = "ticket.merged"
COMMENT_CREATED = "comment.created"
ESCALATION_STAGE_CHANGED = "escalation.stage_changed"
SLA_BREACHED = "sla.breached"
FEEDBACK_RECEIVED = "feedback.received"
TYPES = (
    TICKET_CREATED,
    TICKET_UPDATED,
    TICKET_DELETED,
    TICKET_RESTORED,
    TICKET_MERGED,
    COMMENT_CREATED,
    ESCALATION_STAGE_CHANGED,
    SLA_BREACHED,
    FEEDBACK_RECEIVED,
)
# Changes that are not a ticket's properties (issue 11, "events for every change";
# docs/decisions.md, "Events for every change"). Activity and attachment events are about a
# ticket (`ticket_id` set); resource events are about configuration (`resource`, `id`).
ACTIVITY_UPDATED = "activity.updated"  # an edit or a pin
ACTIVITY_DELETED = "activity.deleted"
ACTIVITY_RESTORED = "activity.restored"
ACTIVITY_COMMENTED = "activity.commented"
ATTACHMENT_ADDED = "attachment.added"  # an upload reserved
ATTACHMENT_CONFIRMED = "attachment.confirmed"
RESOURCE_CREATED = "resource.created"
RESOURCE_UPDATED = "resource.updated"
RESOURCE_DELETED = "resource.deleted"
CHANGE_TYPES = (
    ACTIVITY_UPDATED,
    ACTIVITY_DELETED,
    ACTIVITY_RESTORED,
    ACTIVITY_COMMENTED,
    ATTACHMENT_ADDED,
    ATTACHMENT_CONFIRMED,
    RESOURCE_CREATED,
    RESOURCE_UPDATED,
    RESOURCE_DELETED,
)
# Published besides API.md's list: the escalation workflow's (docs/decisions.md, Escalations)
# and the changes above.
EXTENSION_TYPES = ("escalation.stage_overdue", "escalation.failed", *CHANGE_TYPES)

# PutEvents takes at most 10 entries and 256 KB per call (an entry counts its Detail, type,
# source and bus name). A change value larger than MAX_VALUE_CHARS as JSON (a description, a
# chat transcript) is left out of the event, marked `"truncated": true`: GET the ticket for it.
MAX_ENTRIES_PER_PUT = 10
MAX_BYTES_PER_PUT = 240_000
MAX_VALUE_CHARS = 4_096

# A writer stamps `at` before its transaction commits, so an event can become visible after a
# later-stamped one. The feed only returns events older than this window, which covers the
# longest a writer can hold a stamp before committing: the API function's 60 s timeout and the
# workflows' retry budget (1+2+4+8+16+30 s with full jitter, plus 1+2 s for a cancelled
# transaction = 64 s). See docs/decisions.md ("Events").
SETTLE_WINDOW = timedelta(seconds=120)
# Event items expire after this long; the feed never reads further back (TTL purges lazily).
RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class Event:
    """One change, as stored in the outbox and shown in the feed."""

    id: str
    type: str
    at: str  # RFC 3339 UTC ending in Z, the same string as detail["at"]
    ticket_id: str
    detail: Mapping[str, Any] = field(default_factory=dict)


def ticket_event(
    event_type: str,
    *,
    event_id: str,
    ticket_id: str,
    version: int | None,
    actor_id: str,
    at: str,
    changes: Sequence[Change] = (),
    extra: Mapping[str, Any] | None = None,
) -> Event:
    """An event about one ticket: `detail` = {schema_version, ticket_id, version, actor_id, at,
    changes: [{property, old, new}], ...extra}."""
    if event_type not in TYPES and event_type not in CHANGE_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    detail: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "ticket_id": ticket_id,
        "version": version,
        "actor_id": actor_id,
        "at": at,
        "changes": [_change(c) for c in changes],
    }
    for key, value in (extra or {}).items():
        detail.setdefault(key, value)
    return Event(id=event_id, type=event_type, at=at, ticket_id=ticket_id, detail=detail)


def resource_event(
    event_type: str, *, event_id: str, resource: str, resource_id: str, version: int | None, actor_id: str, at: str
) -> Event:
    """An event about a configuration resource (a team, a view, a routing rule, ...): `detail` =
    {schema_version, resource, id, version, actor_id, at}; no ticket (`ticket_id` empty)."""
    if event_type not in (RESOURCE_CREATED, RESOURCE_UPDATED, RESOURCE_DELETED):
        raise ValueError(f"not a resource event type {event_type!r}")
    detail = {
        "schema_version": SCHEMA_VERSION,
        "resource": resource,
        "id": resource_id,
        "version": version,
        "actor_id": actor_id,
        "at": at,
    }
    return Event(id=event_id, type=event_type, at=at, ticket_id="", detail=detail)


def _change(change: Change) -> dict[str, Any]:
    out: dict[str, Any] = {"property": change.property, "old": change.old, "new": change.new}
    if any(len(encode_detail({"v": value})) > MAX_VALUE_CHARS for value in (change.old, change.new)):
        out.update(old=None, new=None, truncated=True)
    return out


def encode_detail(detail: Mapping[str, Any]) -> str:
    """The detail as stored (a JSON string): values the history stores as JSON, times as text."""
    return json.dumps(detail, default=_plain, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def decode_detail(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("an event detail is a JSON object")
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


# -- publishing ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Outgoing:
    """A committed event item seen on the table's stream, ready to publish."""

    record_id: str  # the stream record's sequence number: what a partial failure reports
    event_id: str
    type: str
    at: str
    ticket_id: str
    detail: str  # JSON string, as stored


def outgoing_from_stream(record: Mapping[str, Any]) -> Outgoing | None:
    """The event in a DynamoDB stream record, or None when the record is not a new event item
    (updates, removals, TTL expiry and every other kind of item are not published)."""
    if record.get("eventName") != "INSERT":
        return None
    dynamodb = record.get("dynamodb") or {}
    image = dynamodb.get("NewImage") or {}
    if _text(image, "kind") != "event":
        return None
    return Outgoing(
        record_id=str(dynamodb.get("SequenceNumber", "")),
        event_id=_text(image, "id"),
        type=_text(image, "type"),
        at=_text(image, "at"),
        ticket_id=_text(image, "ticket_id"),
        detail=_text(image, "detail") or "{}",
    )


def _text(image: Mapping[str, Any], name: str) -> str:
    value = image.get(name) or {}
    text = value.get("S", "") if isinstance(value, Mapping) else ""
    return str(text)


def put_events_entry(event: Outgoing, bus_name: str) -> dict[str, Any]:
    """The PutEvents entry of an event. The published detail carries the event's id as
    `event_id`: delivery is at least once, so consumers deduplicate on it."""
    try:
        detail = decode_detail(event.detail)
    except ValueError:
        detail = {"raw": event.detail}
    detail.setdefault("event_id", event.event_id)
    detail.setdefault("schema_version", SCHEMA_VERSION)
    entry: dict[str, Any] = {
        "Source": SOURCE,
        "DetailType": event.type,
        "Detail": json.dumps(detail, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
        "EventBusName": bus_name,
    }
    when = parse_at(event.at)
    if when is not None:
        entry["Time"] = when
    return entry


def parse_at(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def batches(
    items: Iterable[Outgoing], size: int = MAX_ENTRIES_PER_PUT, max_bytes: int = MAX_BYTES_PER_PUT
) -> Iterator[list[Outgoing]]:
    """Consecutive groups of at most `size` events and about `max_bytes` (stream order kept)."""
    batch: list[Outgoing] = []
    weight = 0
    for item in items:
        item_weight = entry_bytes(item)
        if batch and (len(batch) == size or weight + item_weight > max_bytes):
            yield batch
            batch, weight = [], 0
        batch.append(item)
        weight += item_weight
    if batch:
        yield batch


def entry_bytes(event: Outgoing) -> int:
    """An upper estimate of the entry's size as PutEvents counts it (Detail plus the rest)."""
    return len(event.detail.encode()) + len(event.type) + 256


# -- the feed -----------------------------------------------------------------------------
@dataclass(frozen=True)
class FeedWindow:
    """Which sort keys one feed page may read: strictly after `after` (a sort key, or a stamp:
    the oldest retained time) and stamped strictly before `settled_before`. `polled_from` is the
    position the client sent (or `after`): an empty page answers it unchanged, so a client is
    caught up when an empty page gives back the cursor it sent."""

    after: str
    settled_before: str
    polled_from: str


def feed_window(
    position: str | None, now: datetime, stamp: Callable[[datetime], str], settle: timedelta = SETTLE_WINDOW
) -> FeedWindow:
    """`stamp` formats a time as stored (`keys.stamp`). A position older than the retention
    starts at the retention boundary (those events are gone or about to be)."""
    oldest = stamp(now - RETENTION)
    after = position if position and position > oldest else oldest
    return FeedWindow(after=after, settled_before=stamp(now - settle), polled_from=position or after)


def next_position(polled_from: str, returned: Sequence[str], last_evaluated: str | None) -> str:
    """Where the next page continues: past everything this page read (a filtered-out event that
    was read is never needed again), otherwise where this page started (an empty page)."""
    if last_evaluated is not None:
        return last_evaluated
    if returned:
        return returned[-1]
    return polled_from
