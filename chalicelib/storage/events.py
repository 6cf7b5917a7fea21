"""The event outbox and change feed: partition `EVENTS`, sort key `<at>#<event id>`.

Writers never put events on their own: `event_item` builds the item that joins the change's
own transaction (`also_put`), so an event exists exactly when its change committed. The feed
page is one Query on the partition (docs/data-model.md, "Events").
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from chalicelib.domain.errors import DomainError
from chalicelib.domain.events import (
    RETENTION,
    Event,
    FeedWindow,
    decode_detail,
    encode_detail,
    next_position,
    resource_event,
    ticket_event,
)
from chalicelib.storage import keys
from chalicelib.storage.errors import translated
from chalicelib.storage.models import EventItem


class _AlreadyExpiring(DomainError):
    """The event item has a TTL already, or is gone."""


def new_event_id() -> str:
    return uuid.uuid4().hex


def event_item(event: Event, *, expires_at: datetime | None = None) -> EventItem:
    """The outbox item of `event` (put it in the same transaction as the change it describes)."""
    item = EventItem(
        keys.EVENTS_PK,
        keys.event_sk(event.at, event.id),
        id=event.id,
        type=event.type,
        at=event.at,
        ticket_id=event.ticket_id,
        detail=encode_detail(event.detail),
    )
    if expires_at is not None:
        item.ttl = expires_at
    return item


def ticket_event_item(
    event_type: str,
    *,
    ticket_id: str,
    version: int | None,
    actor_id: str,
    now: datetime,
    changes: Sequence[Any] = (),
    extra: dict[str, Any] | None = None,
) -> EventItem:
    """An event about one ticket, stamped `now`, kept for the feed's retention."""
    event = ticket_event(
        event_type,
        event_id=new_event_id(),
        ticket_id=ticket_id,
        version=version,
        actor_id=actor_id,
        at=keys.stamp(now),
        changes=changes,
        extra=extra,
    )
    return event_item(event, expires_at=now + RETENTION)


def resource_event_item(
    event_type: str, *, resource: str, resource_id: str, version: int | None, actor_id: str, now: datetime
) -> EventItem:
    """An event about a configuration resource, stamped `now`, kept for the feed's retention."""
    event = resource_event(
        event_type,
        event_id=new_event_id(),
        resource=resource,
        resource_id=resource_id,
        version=version,
        actor_id=actor_id,
        at=keys.stamp(now),
    )
    return event_item(event, expires_at=now + RETENTION)


class EventRepository:
    def expire(self, sort_key: str, expires_at: datetime) -> bool:
        """Give an event item without TTL (one a workflow wrote) its expiry; False if it had one
        or is gone (a redelivered stream record changes nothing)."""
        item = EventItem(keys.EVENTS_PK, sort_key)
        try:
            with translated(lambda: _AlreadyExpiring()):
                item.update(
                    actions=[EventItem.ttl.set(expires_at)],
                    condition=EventItem.PK.exists() & EventItem.ttl.does_not_exist(),
                )
        except _AlreadyExpiring:
            return False
        return True

    def page(self, window: FeedWindow, *, limit: int, event_type: str | None) -> tuple[list[Event], str]:
        """Oldest first: one Query `PK = EVENTS AND SK BETWEEN after(position) AND before(cutoff)`;
        `type` is a FilterExpression (a page can then be short while the cursor moves on)."""
        lower, upper = keys.after(window.after), keys.before(window.settled_before)
        if lower >= upper:
            # Nothing has settled past the position yet (or this container's clock is behind
            # the one that issued the cursor): an empty page that polls from the same place.
            return [], window.polled_from
        with translated():
            results = EventItem.query(
                keys.EVENTS_PK,
                EventItem.SK.between(lower, upper),
                filter_condition=(EventItem.type == event_type) if event_type else None,
                scan_index_forward=True,
                limit=limit,
                page_size=limit,
            )
            page = next(results.page_iter)
        raws: list[dict[str, Any]] = page.get("Items", [])
        events = [_to_event(EventItem.from_raw_data(raw)) for raw in raws]
        last = page.get("LastEvaluatedKey")
        sort_keys = [raw["SK"]["S"] for raw in raws]
        return events, next_position(window.polled_from, sort_keys, last["SK"]["S"] if last else None)


def _to_event(item: EventItem) -> Event:
    try:
        detail = decode_detail(item.detail)
    except ValueError:
        detail = {"raw": item.detail}
    return Event(id=item.id, type=item.type, at=item.at, ticket_id=item.ticket_id, detail=detail)
