"""The publisher: committed event items on the table's stream reach the EventBridge bus.

Real moto stream records (read from the table's stream after real API writes) go through the
chalice handler, PutEvents goes to a moto bus whose rule forwards to an SQS queue, and the
test reads the queue: what a subscriber of the bus would receive.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest

from chalicelib.domain.events import Outgoing
from chalicelib.handlers import events as publisher
from tests.conftest import TABLE

BUS = "helpdesk-test-bus"


@pytest.fixture
def bus_queue(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """A bus whose rule sends every helpdesk event to a queue; answers the queue URL."""
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name=BUS)
    queue_url = sqs.create_queue(QueueName="bus-tap")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="tap", EventBusName=BUS, EventPattern=json.dumps({"source": ["helpdesk"]}))
    events.put_targets(Rule="tap", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": queue_arn}])
    monkeypatch.setenv("HELPDESK_EVENT_BUS", BUS)
    return queue_url


def stream_records() -> list[dict[str, Any]]:
    """Every record on the table's stream so far, as Lambda would hand them over (read from moto's
    shard: in-process moto does not serve the DynamoDB Streams API)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(TABLE)
    records = []
    for stream_record in table.stream_shard.items:
        raw = copy.deepcopy(stream_record.record)
        raw["eventSourceARN"] = table.latest_stream_label and f"{table.table_arn}/stream/{table.latest_stream_label}"
        raw["dynamodb"]["ApproximateCreationDateTime"] = 0  # Lambda sends epoch seconds
        records.append(raw)
    return records


def received(queue_url: str) -> list[dict[str, Any]]:
    sqs, messages = boto3.client("sqs"), []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return messages
        messages += [json.loads(m["Body"]) for m in batch]


def invoke_handler(records: list[dict[str, Any]]) -> Any:
    from app import app

    return app.handler_map["publish_events"]({"Records": records}, None)


def test_committed_events_reach_the_bus_with_their_detail(world, make_ticket, bus_queue, capsys):
    agent = world["agent_all"]
    ticket = make_ticket()
    assert agent.patch(f"/v1/tickets/{ticket['id']}", {"priority": "urgent"}).status_code == 200
    records = stream_records()
    capsys.readouterr()

    assert invoke_handler(records) == {"batchItemFailures": []}

    # The world's organizations and teams published their resource.created events too.
    published = [m for m in received(bus_queue) if m["detail-type"].startswith("ticket.")]
    assert [m["source"] for m in published] == ["helpdesk", "helpdesk"]
    assert [m["detail-type"] for m in published] == ["ticket.created", "ticket.updated"]
    detail = published[1]["detail"]
    assert detail["ticket_id"] == ticket["id"] and detail["version"] == 2 and detail["actor_id"] == "agent-all"
    assert detail["changes"] == [{"property": "priority", "old": "normal", "new": "urgent"}]
    assert detail["schema_version"] == 1 and detail["event_id"]
    # The feed and the bus describe the same event.
    images = [r["dynamodb"]["NewImage"] for r in records]
    item_ids = {
        image["id"]["S"]
        for image in images
        if image.get("kind", {}).get("S") == "event" and image["type"]["S"].startswith("ticket.")
    }
    assert {m["detail"]["event_id"] for m in published} == item_ids
    # One EMF metric line per published type, in the Helpdesk namespace.
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    counted = {
        (m["type"], tuple(m["EventsPublished"])) for m in metrics if "EventsPublished" in m and m["type"].startswith("ticket.")
    }
    assert counted == {("ticket.created", (1.0,)), ("ticket.updated", (1.0,))}
    assert all(m["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Helpdesk" for m in metrics)


def test_only_new_event_items_are_published(world, make_ticket, bus_queue):
    make_ticket()
    records = stream_records()
    others = [r for r in records if r["dynamodb"]["NewImage"].get("kind", {}).get("S") != "event"]
    assert others, "ticket, entries and history are on the stream too"
    events = [r for r in records if r not in others]
    modified = [{**r, "eventName": "MODIFY"} for r in events]
    assert invoke_handler(others + modified) == {"batchItemFailures": []}
    assert received(bus_queue) == []


class FlakyBus:
    """PutEvents that refuses chosen events, and records the size of every call."""

    def __init__(self, refuse: set[str] | None = None, down: bool = False) -> None:
        self.refuse, self.down, self.calls = refuse or set(), down, []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(len(Entries))
        if self.down:
            raise RuntimeError("EventBridge is down")
        results = []
        for entry in Entries:
            if json.loads(entry["Detail"])["event_id"] in self.refuse:
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
            else:
                results.append({"EventId": "e-" + json.loads(entry["Detail"])["event_id"]})
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


def record(n: int, event_type: str = "ticket.updated") -> dict[str, Any]:
    image = {
        "PK": {"S": "EVENTS"},
        "SK": {"S": f"2026-01-01T00:00:00.{n:06d}Z#id{n}"},
        "kind": {"S": "event"},
        "id": {"S": f"id{n}"},
        "type": {"S": event_type},
        "at": {"S": f"2026-01-01T00:00:00.{n:06d}Z"},
        "ticket_id": {"S": "t1"},
        "detail": {"S": json.dumps({"ticket_id": "t1", "version": n, "actor_id": "a", "at": "x", "changes": []})},
    }
    return {"eventName": "INSERT", "dynamodb": {"NewImage": image, "SequenceNumber": f"{1000 + n}"}}


def test_entries_go_in_batches_of_ten_and_refused_ones_are_reported(capsys):
    bus = FlakyBus(refuse={"id4", "id17"})
    counts: list[tuple[str, str, int]] = []
    response = publisher.publish(
        [record(n) for n in range(23)], bus, "bus", count=lambda name, kind, n: counts.append((name, kind, n))
    )
    assert bus.calls == [10, 10, 3]
    assert response == {"batchItemFailures": [{"itemIdentifier": "1004"}, {"itemIdentifier": "1017"}]}
    assert ("EventsPublished", "ticket.updated", 21) in counts and ("EventsFailed", "ticket.updated", 2) in counts


def test_a_failed_put_events_call_reports_its_whole_batch():
    response = publisher.publish([record(n) for n in range(12)], FlakyBus(down=True), "bus", count=lambda *a: None)
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [str(1000 + n) for n in range(12)]


def test_the_entry_carries_source_type_time_and_the_stored_detail():
    from chalicelib.domain.events import put_events_entry

    outgoing = Outgoing("9", "abc", "comment.created", "2026-01-01T10:00:00.123Z", "t1", '{"ticket_id":"t1","version":3}')
    entry = put_events_entry(outgoing, "my-bus")
    assert entry["Source"] == "helpdesk" and entry["DetailType"] == "comment.created" and entry["EventBusName"] == "my-bus"
    assert json.loads(entry["Detail"]) == {"ticket_id": "t1", "version": 3, "event_id": "abc", "schema_version": 1}
    assert entry["Time"].isoformat() == "2026-01-01T10:00:00.123000+00:00"


def test_escalations_entering_a_stage_are_counted_per_stage():
    entered = []
    for n, stage in enumerate(["review", "engineering", "review"]):
        item = record(n, "escalation.stage_changed")
        detail = {"ticket_id": "t1", "changes": [{"property": "escalation.stage", "old": None, "new": stage}]}
        item["dynamodb"]["NewImage"]["detail"] = {"S": json.dumps(detail)}
        entered.append(item)
    counts: list[tuple[str, str, int]] = []
    publisher.publish([*entered, record(9)], FlakyBus(), "bus", count=lambda name, kind, n: counts.append((name, kind, n)))
    assert [c for c in counts if c[0] == "EscalationStageEntered"] == [
        ("EscalationStageEntered", "engineering", 1),
        ("EscalationStageEntered", "review", 2),
    ]
