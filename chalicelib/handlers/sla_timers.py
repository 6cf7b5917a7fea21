"""The SLA timer starter: the part of the ticket stream (chalicelib/handlers/ticket_changes.py)
that starts one timer workflow per running clock generation.

The API settles a ticket's clocks in the ticket's own transaction (chalicelib/services/sla.py);
this handler sees the committed ticket item on the table's stream and starts
`statemachines/sla-timer.asl.json` for every clock that runs with a generation the old image
did not run. The execution name is the generation's, so a redelivered batch starts nothing
twice. Starting after the commit (not inside the request) keeps the API at its DynamoDB call
budget and makes every write path (API, email, integrations, workflows) start timers alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from chalicelib import composition
from chalicelib.domain.sla import MET, TimerStart, outcomes, timers_to_start
from chalicelib.handlers.metrics import emit_metric

_LABELS = {"first_response": "first response", "next_response": "next response", "resolution": "resolution"}


def start_timers(
    records: Sequence[Mapping[str, Any]],
    timers: Any,
    count: Callable[[str, int], None] | None = None,
    also: Callable[[Mapping[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Start the timers the records call for (and `also` per record); a record whose handling
    failed is reported as a batch item failure (Lambda retries from it; already started
    generations are refused as duplicates, and `also` must be idempotent too).
    Clocks met or breached by the recorded writes are counted (`SlaMet`, `SlaBreached`)."""
    count = count or emit_metric
    failures = []
    met = breached = 0
    for record in records:
        try:
            for timer in timers_for_record(record):
                timers.start(timer, timer_payload(timer))
            if also is not None:
                also(record)
            for _metric, outcome in outcomes_of_record(record):
                met, breached = (met + 1, breached) if outcome == MET else (met, breached + 1)
        except Exception:
            composition.logger().exception("ticket change not followed up", extra={"record": record.get("eventID")})
            failures.append({"itemIdentifier": record.get("dynamodb", {}).get("SequenceNumber")})
            break  # Lambda retries from the first failure; later records come again
    for name, value in (("SlaMet", met), ("SlaBreached", breached)):
        if value:
            count(name, value)
    return {"batchItemFailures": failures}


def timers_for_record(record: Mapping[str, Any]) -> list[TimerStart]:
    images = _ticket_images(record)
    return timers_to_start(*images) if images else []


def outcomes_of_record(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    images = _ticket_images(record)
    return outcomes(images[1], images[2]) if images else []


def _ticket_images(record: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None] | None:
    """(ticket id, old `sla`, new `sla`) of a ticket item's INSERT or MODIFY; None for other records."""
    if record.get("eventName") not in ("INSERT", "MODIFY"):
        return None
    change = record.get("dynamodb") or {}
    new = change.get("NewImage") or {}
    if not composition.stream_images().is_ticket(new):
        return None
    ticket_id = new["PK"]["S"].removeprefix("TICKET#")
    return ticket_id, plain_map((change.get("OldImage") or {}).get("sla")), plain_map(new.get("sla"))


def timer_payload(timer: TimerStart) -> dict[str, Any]:
    """The execution input: the clock's key and due time, and the texts the breach writes."""
    label = _LABELS.get(timer.metric, timer.metric)
    detail = {
        "schema_version": 1,
        "ticket_id": timer.ticket_id,
        "version": None,
        "actor_id": "system",
        "at": timer.due_at,
        "changes": [{"property": f"sla.{timer.metric}", "old": "running", "new": "breached"}],
        "metric": timer.metric,
        "generation": timer.generation,
        "due_at": timer.due_at,
    }
    return {
        "ticket_id": timer.ticket_id,
        "metric": timer.metric,
        "generation": timer.generation,
        "due_at": timer.due_at,
        "subject": f"SLA {label} target breached (due {timer.due_at})",
        "activity_fields": json.dumps({"metric": timer.metric, "due_at": timer.due_at, "generation": timer.generation}),
        "ledger_detail": json.dumps({"recorded_by": "sla-timer workflow", "execution": timer.name}),
        "event_detail": json.dumps(detail),
    }


def plain_map(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The ticket's `sla` map attribute in DynamoDB JSON as plain Python, read by the model that
    writes it (imported on first use: PynamoDB stays off the import path of `app`)."""
    if not value or "M" not in value:
        return None
    return composition.stream_images().sla(value)
