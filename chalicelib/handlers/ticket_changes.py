"""The ticket stream: the table's one consumer (besides the events publisher) for what must
follow a committed ticket change.

- **SLA timers** (chalicelib/handlers/sla_timers.py): one timer workflow per running clock
  generation.
- **List entries after a workflow's write.** The escalation workflow (stage) and the SLA timer
  (breach) update the ticket item alone; the API rewrites a ticket's list entries in its own
  transaction, a workflow cannot. Such a change is copied onto the entries here, each
  conditioned on the entry being older than the ticket.
- **Purge.** When TTL removes a deleted ticket's item (90 days after the delete), everything
  left in its partition and its uploaded files are deleted.
- **Escalation workflows.** An escalation item inserted starts its workflow (execution named
  after the escalation, so a redelivered record starts nothing twice); one whose `run` went up
  (continued before an execution's one-year limit, or restarted by an operator) starts that run.
  The API only writes the escalation: a crash can no longer leave one without its workflow.
- **Routing** (services/routing.py). A ticket item inserted (by the API, mail, an import:
  any path) with neither team nor assignee gets the first matching rule's team and assignee,
  written at the version the record carries: a redelivered record finds the ticket moved on
  and routes nothing twice.
- **Open-ticket counters.** Every ticket item's new image moves the counters of its
  partitions by the difference to what the ticket last contributed, once per version.
- **Automations** (services/automations.py). An outbox event item inserted runs the rules its
  type triggers (not for an automation's own events), each step claimed in its own write.
- **Time rules** (services/time_rules.py). A ticket's event (not an automation's) starts the
  wait of its first time rule due; a due item inserted by that wait runs the rule if the ticket
  is still at the wait's version, then starts the next one.
- **Renames** (services/renames.py). A user record whose `name` changed gives their tickets
  the new name, a page at a time (a continuation item's record runs the next page); the
  entries get it below, as after a workflow's change of the ticket item alone.
- **Events expire.** Workflows write outbox events from ASL, which cannot compute an epoch
  TTL; an event item inserted without `ttl` gets `at` + the feed's retention here, so the
  `EVENTS` partition stays bounded whoever wrote the event.

One consumer rather than three: DynamoDB Streams throttles more than two readers per shard.
Every step is idempotent, so a redelivered batch repeats nothing visible.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from chalicelib import composition
from chalicelib.domain.events import RETENTION
from chalicelib.handlers.sla_timers import start_timers

# Ticket fields changed on the ticket item alone (workflows: `SET escalation`, the SLA timer's
# breach; renames: the people's names); lists show them all.
WORKFLOW_FIELDS = ("escalation", "sla", "requester_name", "assignee_name")


def follow_ticket_changes(event: Any) -> dict[str, Any]:
    records = event.to_dict().get("Records", []) if hasattr(event, "to_dict") else event.get("Records", [])
    return handle(
        records,
        composition.sla_timers(),
        composition.ticket_repository(),
        composition.file_store(),
        events=composition.event_repository(),
        escalations=composition.escalation_starter(),
        router=composition.router(),
        counters=composition.open_counters(),
        automator=composition.automator(),
        time_rules=composition.time_rules(),
        clock=composition.clock,  # looked up per call: the tests' injected clock reaches the stream
        renames=composition.renames(),
    )


def handle(
    records: list[Mapping[str, Any]],
    timers: Any,
    tickets: Any,
    files: Any,
    count: Callable[[str, int], None] | None = None,
    events: Any = None,
    escalations: Any = None,
    router: Any = None,
    counters: Any = None,
    renames: Any = None,
    clock: Callable[[], datetime] = composition.clock,
    automator: Any = None,
    time_rules: Any = None,
) -> dict[str, Any]:
    assigned: Counter[str] = Counter()  # this batch's assignments, not yet counted (least_open)

    def upkeep(record: Mapping[str, Any]) -> None:
        if escalations is not None:
            escalations.start_for(record)
        image = ticket_image(record)
        if image is not None:
            ticket = composition.stream_images().ticket(image)
            if counters is not None:
                counters.follow(ticket)
            if router is not None and record.get("eventName") == "INSERT":
                router.route_new(ticket, clock(), assigned)
        if automator is not None:
            automator.follow(record, clock())
        if time_rules is not None:
            time_rules.follow(record, clock())
        if renames is not None:
            renames.follow(record, clock())
        expiring = event_without_expiry(record)
        if expiring is not None and events is not None:
            events.expire(*expiring)
        refresh = workflow_change(record)
        if refresh is not None:
            image, fields = refresh
            tickets.refresh_entries(composition.stream_images().ticket(image), fields)
        purged = purged_ticket(record)
        if purged is not None:
            tickets.purge(purged)
            files.delete_ticket_files(purged)

    return start_timers(records, timers, count, also=upkeep)


def _ticket_item(image: Mapping[str, Any]) -> bool:
    return composition.stream_images().is_ticket(image)


def ticket_image(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The new image of a ticket item's INSERT or MODIFY (None for other items and removals)."""
    if record.get("eventName") not in ("INSERT", "MODIFY"):
        return None
    new = (record.get("dynamodb") or {}).get("NewImage") or {}
    return dict(new) if _ticket_item(new) else None


def workflow_change(record: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]] | None:
    """(new image, changed fields) of a ticket MODIFY that a workflow made: one of
    `WORKFLOW_FIELDS` changed and `updated_at` did not (every API write that changes those
    fields sets it, and rewrites the entries itself)."""
    if record.get("eventName") != "MODIFY":
        return None
    change = record.get("dynamodb") or {}
    old, new = change.get("OldImage") or {}, change.get("NewImage") or {}
    if not _ticket_item(new) or old.get("updated_at") != new.get("updated_at"):
        return None
    fields = [name for name in WORKFLOW_FIELDS if old.get(name) != new.get(name)]
    return (dict(new), fields) if fields else None


def event_without_expiry(record: Mapping[str, Any]) -> tuple[str, datetime] | None:
    """(sort key, expiry) of an outbox event item inserted without `ttl` (a workflow's)."""
    if record.get("eventName") != "INSERT":
        return None
    new = (record.get("dynamodb") or {}).get("NewImage") or {}
    if not composition.stream_images().is_event(new) or "ttl" in new:
        return None
    try:
        at = datetime.fromisoformat(new["at"]["S"])
    except (KeyError, ValueError):
        at = datetime.now(UTC)  # unreadable time: expire a retention from now rather than never
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return new["SK"]["S"], at + RETENTION


def purged_ticket(record: Mapping[str, Any]) -> str | None:
    """The id of a ticket whose item was removed (TTL, 90 days after its delete)."""
    if record.get("eventName") != "REMOVE":
        return None
    old = (record.get("dynamodb") or {}).get("OldImage") or (record.get("dynamodb") or {}).get("Keys") or {}
    return old["PK"]["S"].removeprefix("TICKET#") if _ticket_item(old) else None
