"""`make run` publishes every change to the local bus: API write → outbox item → stream → the
publisher → EventBridge (moto) → the template's integrations rule → its SQS queue."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3

from tests.local.test_stack_process import _free_port, _running_stack, _tokens


def test_a_change_made_through_the_api_reaches_the_local_bus(tmp_path: Path) -> None:
    state_dir, moto_port = tmp_path / "state", _free_port()
    ports = ["--port", str(_free_port()), "--moto-port", str(moto_port)]
    arguments = [*ports, "--fresh", "--no-demo", "--state-dir", str(state_dir)]
    with _running_stack(arguments) as api:
        token = _tokens(state_dir)["TOKEN_ADMIN"]
        status, ticket = api.call("POST", "/v1/tickets", token, {"subject": "Local events", "description": "hi"})
        assert status == 201
        assert api.call("PATCH", f"/v1/tickets/{ticket['id']}", token, {"priority": "high"})[0] == 200

        published = _wait_for_messages(moto_port, "helpdesk-local-IntegrationsQueue", count=2)
        assert [(m["source"], m["detail-type"]) for m in published] == [
            ("helpdesk", "ticket.created"),
            ("helpdesk", "ticket.updated"),
        ]
        assert {m["detail"]["ticket_id"] for m in published} == {ticket["id"]}
        # The feed holds them too, once settled; right away it answers an empty page and a cursor.
        status, page = api.call("GET", "/v1/events", token)
        assert status == 200 and page["items"] == [] and page["next_cursor"]


def _wait_for_messages(moto_port: int, queue_name: str, *, count: int, timeout: float = 30) -> list[dict[str, Any]]:
    sqs = boto3.client(
        "sqs",
        endpoint_url=f"http://127.0.0.1:{moto_port}",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(seen) < count and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            seen.append(json.loads(message["Body"]))
    return sorted(seen, key=lambda m: (m["time"], m["detail"]["version"]))
