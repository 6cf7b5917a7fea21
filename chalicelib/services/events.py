"""The change feed use case: who may read it, and which settled page to read."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.errors import NotAllowed
from chalicelib.domain.events import Event, feed_window
from chalicelib.domain.visibility import Caller
from chalicelib.storage import keys
from chalicelib.storage.events import EventRepository


class EventFeed:
    def __init__(self, events: EventRepository) -> None:
        self._events = events

    def page(
        self, caller: Caller, *, position: str | None, now: datetime, limit: int, event_type: str | None
    ) -> tuple[list[Event], str]:
        """Oldest first, only events older than the settle window; the position to continue
        from is always returned (an empty page polls again from where it started)."""
        if not caller.sees_everything:
            raise NotAllowed("the change feed is for admins and agents who see every ticket")
        window = feed_window(position, now, keys.stamp)
        return self._events.page(window, limit=limit, event_type=event_type)
