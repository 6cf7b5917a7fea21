"""The event publisher: a DynamoDB stream handler that sends new outbox items to EventBridge.

Every change writes one event item (`PK = EVENTS`) in its own transaction; this handler sees the
committed INSERTs on the table's stream and publishes them with PutEvents, at most 10 entries per
call. Entries EventBridge refuses are reported as batch item failures (`ReportBatchItemFailures`,
merged into the event source mapping by infra/template.json): Lambda retries the batch from the
first failed record, so delivery is at least once and consumers deduplicate on
`detail.event_id`. Each published type is counted in the `Helpdesk` metrics namespace.

The bus name is read from the environment when the first batch arrives. Lambda enters through
`chalicelib.handlers.publish_events`, which imports this module on its first invocation.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from chalice.app import DynamoDBEvent

from chalicelib import composition, config
from chalicelib.domain.events import Outgoing, batches, outgoing_from_stream, put_events_entry
from chalicelib.handlers.metrics import METRICS_NAMESPACE


def publish_events(event: DynamoDBEvent) -> dict[str, Any]:
    records = event.to_dict().get("Records", [])
    return publish(records, composition.events_client(), bus_name())


def bus_name() -> str:
    name = config.environ().get("HELPDESK_EVENT_BUS")
    if not name:
        raise RuntimeError("set HELPDESK_EVENT_BUS to the event bus name")
    return name


def publish(
    records: Sequence[Mapping[str, Any]],
    client: Any,
    bus: str,
    count: Callable[[str, str, int], None] | None = None,
) -> dict[str, Any]:
    """Publish the event items among `records`; answers the partial batch response
    (`{"batchItemFailures": [{"itemIdentifier": <sequence number>}]}`)."""
    count = count or emit_metric
    outgoing = [event for event in (outgoing_from_stream(record) for record in records) if event is not None]
    failed: list[Outgoing] = []
    published: Counter[str] = Counter()
    stages: Counter[str] = Counter()  # escalations entering each stage (dashboard: escalations per stage)
    for batch in batches(outgoing):
        entries = [put_events_entry(event, bus) for event in batch]
        try:
            response = client.put_events(Entries=entries)
        except Exception:
            composition.logger().exception("PutEvents failed", extra={"entries": len(entries)})
            failed.extend(batch)
            continue
        results = response.get("Entries", [])
        for position, event in enumerate(batch):
            result = results[position] if position < len(results) else {"ErrorCode": "Missing"}
            if result.get("ErrorCode") or not result.get("EventId"):
                composition.logger().warning(
                    "event not published",
                    extra={"event_id": event.event_id, "type": event.type, "error": result.get("ErrorCode")},
                )
                failed.append(event)
            else:
                published[event.type] += 1
                stage = escalation_stage(event)
                if stage is not None:
                    stages[stage] += 1
    for event_type, n in sorted(published.items()):
        count("EventsPublished", event_type, n)
    for stage, n in sorted(stages.items()):
        count("EscalationStageEntered", stage, n)
    failures: Counter[str] = Counter(event.type for event in failed)
    for event_type, n in sorted(failures.items()):
        count("EventsFailed", event_type, n)
    return {"batchItemFailures": [{"itemIdentifier": event.record_id} for event in failed]}


def escalation_stage(event: Outgoing) -> str | None:
    """The stage an `escalation.stage_changed` event entered (None for other events)."""
    if event.type != "escalation.stage_changed":
        return None
    try:
        changes = json.loads(event.detail).get("changes") or []
    except ValueError:
        return None
    stage = changes[0].get("new") if changes and isinstance(changes[0], dict) else None
    return stage if isinstance(stage, str) else None


def emit_metric(name: str, event_type: str, value: int) -> None:
    """One EMF line per (metric, type): Powertools' single_metric keeps each type's dimension
    to its own count. `EscalationStageEntered` is dimensioned by the stage instead."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    dimension = "stage" if name == "EscalationStageEntered" else "type"
    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=METRICS_NAMESPACE) as metric:
        metric.add_dimension(name=dimension, value=event_type)
