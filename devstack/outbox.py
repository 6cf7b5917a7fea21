"""Outbox events the local stack wrote but never published are published at its next start.

In AWS a stream record lives 24 hours and Lambda retries a batch the publisher reports as
failed, so every event item (`PK = EVENTS`) reaches the bus at least once. Locally the stream
lives in moto's memory and moto never redelivers: an event committed (and journaled) just
before `kill -9` or Ctrl-C, or one PutEvents refused, would never be published.

So the publisher's function is wrapped: the sort key of every event it published (not reported
as a batch item failure) is appended to `<state dir>/outbox/published`, one a line. There is no
fsync: a lost line means that event is published once more after a crash, which at-least-once
delivery allows (consumers deduplicate on `event_id`). At a start with saved state, one Query of
the `EVENTS` partition finds the events not in that list; they go to the same function as
stream batches (same environment, same metrics, marked when published), and the list is
rewritten with only the sort keys still in the table, so it stays as long as the outbox.

A state dir saved before this list existed has none: its events count as published then (the
list is seeded with all of them) rather than publishing a month of events again.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

OUTBOX_DIR = "outbox"
PUBLISHED_FILE = "published"
PUBLISHER_LOGICAL_ID = "PublishEvents"
EVENTS_PK = "EVENTS"
_BATCH = 100  # the publisher's event source batch size (chalicelib/handlers/__init__.py)

Handler = Callable[[Any, Any], Any]


class PublishedList:
    """The sort keys of the events the local publisher has published."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / OUTBOX_DIR / PUBLISHED_FILE
        self._lock = threading.Lock()

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> set[str]:
        if not self.path.exists():
            return set()
        return {line for line in self.path.read_text(encoding="utf-8").splitlines() if line}

    def add(self, sort_keys: Iterable[str]) -> None:
        lines = "".join(f"{key}\n" for key in sort_keys)
        if not lines:
            return
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as file:
                file.write(lines)

    def replace(self, sort_keys: Iterable[str]) -> None:
        """Atomically (temp file + rename): a crash leaves the old list or the new one."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".published-")
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write("".join(f"{key}\n" for key in sorted(sort_keys)))
            os.replace(temporary, self.path)


def recording_published(handler: Handler, published: PublishedList) -> Handler:
    """The publisher's handler, noting the events of a batch it did not report as failed."""

    def publish_and_record(event: Any, context: Any) -> Any:
        result = handler(event, context)
        failed = {failure.get("itemIdentifier") for failure in (result or {}).get("batchItemFailures", [])}
        published.add(
            sort_key
            for record in event.get("Records", [])
            if (sort_key := _event_sort_key(record)) is not None
            and record.get("dynamodb", {}).get("SequenceNumber") not in failed
        )
        return result

    return publish_and_record


def _event_sort_key(record: dict[str, Any]) -> str | None:
    """The sort key of the event item a stream record inserted (None for any other record)."""
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    if record.get("eventName") != "INSERT" or image.get("kind", {}).get("S") != "event":
        return None
    sort_key = image.get("SK", {}).get("S")
    return sort_key if isinstance(sort_key, str) else None


def publish_unpublished(dynamodb: Any, lambda_client: Any, table_name: str, function_name: str, published: PublishedList) -> int:
    """Hand every event item not yet published to the publisher; answers how many.

    A Query of one partition, once, at a local start (the outbox holds the feed's 30 days).
    """
    items = _event_items(dynamodb, table_name)
    sort_keys = {item["SK"]["S"] for item in items}
    if not published.exists():
        published.replace(sort_keys)
        return 0
    done = published.read()
    # Before invoking: the publisher appends to the list as it works.
    published.replace(done & sort_keys)
    pending = [item for item in items if item["SK"]["S"] not in done]
    for start in range(0, len(pending), _BATCH):
        batch = pending[start : start + _BATCH]
        records = [_stream_record(item, position) for position, item in enumerate(batch, start)]
        # Runs on the function's stream worker, like a batch from the stream (devstack.lambda_dispatch).
        lambda_client.invoke(FunctionName=function_name, Payload=json.dumps({"Records": records}).encode())
    return len(pending)


def _event_items(dynamodb: Any, table_name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("query").paginate(
        TableName=table_name,
        KeyConditionExpression="PK = :events",
        ExpressionAttributeValues={":events": {"S": EVENTS_PK}},
        ConsistentRead=True,
    ):
        items += [item for item in page.get("Items", []) if item.get("kind", {}).get("S") == "event"]
    return items


def _stream_record(item: dict[str, Any], position: int) -> dict[str, Any]:
    """An INSERT record as the table's stream (NEW_AND_OLD_IMAGES) delivers it."""
    return {
        "eventID": f"republish-{position}",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "Keys": {"PK": item["PK"], "SK": item["SK"]},
            "NewImage": item,
            "SequenceNumber": f"republish-{position}",
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }
