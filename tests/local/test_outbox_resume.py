"""An event the local stack wrote but never published reaches the bus after a restart, once;
one it had published (and noted in `outbox/published`) is not published again."""

from __future__ import annotations

import json
import re
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

from devstack.outbox import OUTBOX_DIR, PUBLISHED_FILE
from tests.local.test_durability import _stack
from tests.local.test_stack_process import _free_port, _tokens

QUEUE = "helpdesk-local-IntegrationsQueue"
_FAILED = re.compile(r'"EventsFailed":\[(\d+)(?:\.0)?\]')


def _client(service: str, moto_port: int) -> Any:
    return boto3.client(
        service,
        endpoint_url=f"http://127.0.0.1:{moto_port}",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def _events(moto_port: int) -> dict[str, tuple[str, str, str]]:
    """Sort key → (event id, type, ticket id) of every outbox item in the table."""
    items = _client("dynamodb", moto_port).query(
        TableName="helpdesk-local-HelpdeskTable",
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "EVENTS"}},
        ConsistentRead=True,
    )["Items"]
    return {
        item["SK"]["S"]: (item["id"]["S"], item["type"]["S"], item["ticket_id"]["S"])
        for item in items
        if item.get("kind", {}).get("S") == "event"
    }


def _noted(state_dir: Path) -> set[str]:
    path = state_dir / OUTBOX_DIR / PUBLISHED_FILE
    return set(path.read_text(encoding="utf-8").splitlines()) if path.exists() else set()


def _failed(state_dir: Path) -> int:
    """How many events the publisher reported failed (its EventsFailed metric lines)."""
    return sum(int(n) for n in _FAILED.findall((state_dir / "stack.log").read_text(encoding="utf-8")))


def _until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


def _publisher_idle(state_dir: Path, moto_port: int) -> Callable[[], bool]:
    """True once the publisher has tried every event item: noted as published or counted failed.
    (It publishes after the write answered, on its own worker: a test must wait for it.)"""
    return lambda: len(_noted(state_dir) & _events(moto_port).keys()) + _failed(state_dir) >= len(_events(moto_port))


def _receive_all(moto_port: int) -> list[str]:
    """The event ids of every message on the integrations queue now (received and deleted)."""
    sqs = _client("sqs", moto_port)
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    ids: list[str] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", []):
        for message in messages:
            ids.append(json.loads(message["Body"])["detail"]["event_id"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return ids


def test_an_event_written_but_not_published_before_sigkill_is_published_at_restart_and_published_ones_are_not(
    tmp_path: Path,
) -> None:
    state_dir, moto_port = tmp_path / "state", _free_port()
    ports = ["--port", str(_free_port()), "--moto-port", str(moto_port), "--smtp-port", "0"]

    with _stack([*ports, "--fresh", "--no-demo", "--state-dir", str(state_dir)]) as (api, process):
        admin = _tokens(state_dir)["TOKEN_ADMIN"]
        status, _ = api.call("POST", "/v1/tickets", admin, {"subject": "Published", "description": "a"})
        assert status == 201
        _until(_publisher_idle(state_dir, moto_port), "the first ticket's events are published")
        # The bus goes away until the publisher has tried (and failed) to send the next ticket's
        # event: PutEvents refuses it, and locally nothing retries it.
        events = _client("events", moto_port)
        (bus,) = [b["Name"] for b in events.list_event_buses()["EventBuses"] if b["Name"] != "default"]
        rules = [
            (rule, events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"])
            for rule in events.list_rules(EventBusName=bus)["Rules"]
        ]
        for rule, targets in rules:
            events.remove_targets(Rule=rule["Name"], EventBusName=bus, Ids=[t["Id"] for t in targets])
            events.delete_rule(Name=rule["Name"], EventBusName=bus)
        events.delete_event_bus(Name=bus)
        status, unpublished = api.call("POST", "/v1/tickets", admin, {"subject": "Never published", "description": "b"})
        assert status == 201
        _until(_publisher_idle(state_dir, moto_port), "the publisher has tried the second ticket's event")
        assert _failed(state_dir) >= 1
        events.create_event_bus(Name=bus)
        for rule, targets in rules:
            events.put_rule(Name=rule["Name"], EventBusName=bus, EventPattern=rule["EventPattern"], State="ENABLED")
            events.put_targets(Rule=rule["Name"], EventBusName=bus, Targets=targets)
        status, _ = api.call("POST", "/v1/tickets", admin, {"subject": "Published later", "description": "c"})
        assert status == 201
        _until(_publisher_idle(state_dir, moto_port), "the third ticket's events are published")
        written, noted = _events(moto_port), _noted(state_dir)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    never_published = {event[0] for sort_key, event in written.items() if sort_key not in noted}
    already_published = {event[0] for sort_key, event in written.items() if sort_key in noted}
    refused = {event[0] for event in written.values() if event[1:] == ("ticket.created", unpublished["id"])}
    assert refused and refused <= never_published
    assert len(already_published) >= 2  # the first and the third ticket's

    with _stack([*ports, "--state-dir", str(state_dir)]):
        arrived: list[str] = []

        def all_arrived() -> bool:
            arrived.extend(_receive_all(moto_port))
            return never_published <= set(arrived)

        _until(all_arrived, "the unpublished events arrive")
        # Every event is noted again before the last look: nothing else is on its way.
        _until(lambda: _events(moto_port).keys() <= _noted(state_dir), "the restart's publishing is noted")
        arrived.extend(_receive_all(moto_port))
        assert Counter(arrived) == Counter(never_published)
        assert not already_published & set(arrived)
