"""`kill -9` mid-burst loses nothing the local stack acknowledged, and its workflows resume."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from devstack.paths import PROJECT_DIR
from tests.local.test_stack_process import _Api, _free_port, _lines_of, _tokens, _wait_for_ready

ACKNOWLEDGED_BEFORE_KILL = 40
WORKFLOW_TIMEOUT_SECONDS = 90


@dataclass
class _Burst:
    """What the stack acknowledged (2xx) before it died, in the order it answered."""

    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: list[tuple[str, str, str]] = field(default_factory=list)  # (ticket id, comment id, body)
    acknowledged: int = 0
    enough: threading.Event = field(default_factory=threading.Event)


def test_sigkill_mid_burst_loses_no_acknowledged_write_and_reuses_no_ticket_number(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    ports = ["--port", str(_free_port()), "--moto-port", str(_free_port())]

    with _stack([*ports, "--fresh", "--state-dir", str(state_dir)]) as (api, process):
        customer = _tokens(state_dir)["TOKEN_GLOBEX_CUSTOMER"]
        burst = _Burst()
        writer = threading.Thread(target=_write_burst, args=(api, customer, burst), daemon=True)
        writer.start()
        assert burst.enough.wait(timeout=300)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        writer.join(timeout=60)
        tickets, comments = dict(burst.tickets), list(burst.comments)

    assert len(tickets) + len(comments) >= ACKNOWLEDGED_BEFORE_KILL
    with _stack([*ports, "--state-dir", str(state_dir)]) as (api, _):
        customer = _tokens(state_dir)["TOKEN_GLOBEX_CUSTOMER"]
        for ticket_id, created in tickets.items():
            status, found = api.call("GET", f"/v1/tickets/{ticket_id}", customer)
            assert status == 200, ticket_id
            assert (found["subject"], found["number"]) == (created["subject"], created["number"])
        for ticket_id, comment_id, body in comments:
            status, timeline = api.call("GET", f"/v1/tickets/{ticket_id}/timeline?limit=100", customer)
            assert status == 200
            assert {"id": comment_id, "body": body} in [{"id": e["id"], "body": e.get("body")} for e in timeline["items"]]

        numbers_before = {created["number"] for created in tickets.values()}
        numbers_after = []
        for index in range(5):
            status, created = api.call("POST", "/v1/tickets", customer, {"subject": f"After {index}", "description": "z"})
            assert status == 201
            numbers_after.append(created["number"])
        assert len(set(numbers_after)) == 5
        assert min(numbers_after) > max(numbers_before)


def test_escalation_open_at_sigkill_moves_on_after_restart_and_its_sla_clock_has_a_timer(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    moto_port = _free_port()
    ports = ["--port", str(_free_port()), "--moto-port", str(moto_port)]

    with _stack([*ports, "--fresh", "--state-dir", str(state_dir)]) as (api, process):
        tokens = _tokens(state_dir)
        customer, admin = tokens["TOKEN_GLOBEX_CUSTOMER"], tokens["TOKEN_ADMIN"]
        status, ticket = api.call("POST", "/v1/tickets", customer, {"subject": "Escalate me", "description": "x"})
        assert status == 201
        status, escalation = api.call("POST", f"/v1/tickets/{ticket['id']}/escalations", admin, {"description": "y"})
        assert status == 201
        assert _running_sla_timers(moto_port, ticket["id"])
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    with _stack([*ports, "--state-dir", str(state_dir)]) as (api, _):
        admin = _tokens(state_dir)["TOKEN_ADMIN"]
        status, _ = api.call("POST", f"/v1/escalations/{escalation['id']}/transitions", admin, {"to": "review", "note": "go"})
        assert status == 202
        assert _stage_eventually(api, admin, escalation["id"]) == "review"
        assert _running_sla_timers(moto_port, ticket["id"])


def _write_burst(api: _Api, token: str, burst: _Burst) -> None:
    """Tickets and comments one after another until the stack dies."""
    index = 0
    last_ticket: str | None = None
    while True:
        index += 1
        try:
            if last_ticket is None or index % 2:
                subject = f"Burst ticket {index}"
                status, body = api.call("POST", "/v1/tickets", token, {"subject": subject, "description": f"body {index}"})
                if 200 <= status < 300:
                    burst.tickets[body["id"]] = {"subject": subject, "number": body["number"]}
                    last_ticket = body["id"]
            else:
                text = f"Burst comment {index}"
                status, body = api.call("POST", f"/v1/tickets/{last_ticket}/comments", token, {"body": text})
                if 200 <= status < 300:
                    burst.comments.append((last_ticket, body["id"], text))
        except OSError:
            return  # the stack is gone
        if 200 <= status < 300:
            burst.acknowledged += 1
            if burst.acknowledged >= ACKNOWLEDGED_BEFORE_KILL:
                burst.enough.set()


def _stage_eventually(api: _Api, token: str, escalation_id: str) -> str:
    """The escalation's stage once the workflow applied the signal (or what it is at the deadline)."""
    deadline = time.monotonic() + WORKFLOW_TIMEOUT_SECONDS
    while True:
        _, escalation = api.call("GET", f"/v1/escalations/{escalation_id}", token)
        if not escalation.get("pending_stage") or time.monotonic() > deadline:
            return str(escalation["stage"])
        time.sleep(0.5)


def _running_sla_timers(moto_port: int, ticket_id: str) -> list[str]:
    client = boto3.client(
        "stepfunctions",
        endpoint_url=f"http://127.0.0.1:{moto_port}",
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    machines = [m["stateMachineArn"] for m in client.list_state_machines()["stateMachines"] if "Sla" in m["name"]]
    names = []
    for arn in machines:
        for page in client.get_paginator("list_executions").paginate(stateMachineArn=arn, statusFilter="RUNNING"):
            names += [e["name"] for e in page["executions"] if e["name"].startswith(ticket_id)]
    return names


@contextlib.contextmanager
def _stack(arguments: list[str]) -> Iterator[tuple[_Api, subprocess.Popen[str]]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack", *arguments],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines = _lines_of(process)
    try:
        yield _Api(_wait_for_ready(lines, process)), process
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
