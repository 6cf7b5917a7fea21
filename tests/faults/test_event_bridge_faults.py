"""EventBridge failures: no API request calls PutEvents (changes write an outbox item in their own
transaction; the stream publisher sends it), so a failing bus can neither fail a request nor
half-write one. What is left to prove: the publisher never loses an event to a failed call."""

from __future__ import annotations

import copy
from typing import Any

import boto3

from chalicelib.handlers import events as publisher
from tests.api.conftest import ApiUser
from tests.faults.conftest import FaultStack
from tests.faults.injection import Call, Injector, faults_for


def outbox_records(stack: FaultStack, ticket_id: str) -> list[dict[str, Any]]:
    """The stream records of the ticket's outbox items, as Lambda hands them over."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(stack.table)
    records = []
    for stream_record in table.stream_shard.items:
        raw = copy.deepcopy(stream_record.record)
        image = raw["dynamodb"].get("NewImage", {})
        if raw["eventName"] == "INSERT" and image.get("PK", {}).get("S") == "EVENTS" and ticket_id in str(image):
            raw["eventSourceARN"] = f"{table.table_arn}/stream/{table.latest_stream_label}"
            raw["dynamodb"]["ApproximateCreationDateTime"] = 0
            records.append(raw)
    return records


def test_a_failing_put_events_reports_every_record_for_retry_and_the_retry_publishes(
    users: dict[str, ApiUser], stack: FaultStack
) -> None:
    created = users["agent"].post("/v1/tickets", {"subject": "bus down", "description": "d"})
    assert created.status_code == 201  # the request never waits for the bus
    ticket_id = created.data["id"]
    assert users["agent"].patch(f"/v1/tickets/{ticket_id}", {"priority": "high"}).status_code == 200
    records = outbox_records(stack, ticket_id)
    assert len(records) == 2
    sequence_numbers = sorted(r["dynamodb"]["SequenceNumber"] for r in records)
    client = boto3.client("events", endpoint_url=stack.endpoint)
    bus = stack.env["HELPDESK_EVENT_BUS"]

    with Injector().installed() as injector:
        for fault in faults_for(Call("events", "PutEvents")):
            with injector.watching(at=(Call("events", "PutEvents"), 0), fault=fault) as calls:
                response = publisher.publish(records, client, bus, count=lambda *_: None)
            assert [str(c) for c in calls] == ["events:PutEvents"]
            failed = sorted(f["itemIdentifier"] for f in response["batchItemFailures"])
            assert failed == sequence_numbers, fault.name  # Lambda retries them: none lost

        with injector.watching() as calls:  # the retry, with the bus back
            assert publisher.publish(records, client, bus, count=lambda *_: None) == {"batchItemFailures": []}
        assert [str(c) for c in calls] == ["events:PutEvents"]
