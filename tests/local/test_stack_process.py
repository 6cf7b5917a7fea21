"""`python -m devstack` as a developer runs it: the real app, real ports, Ctrl-C to stop."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from devstack.paths import PROJECT_DIR
from devstack.snapshot import SNAPSHOT_FILE
from devstack.stack import READY_MESSAGE

STARTUP_TIMEOUT_SECONDS = 120


def test_stack_serves_demo_data_over_http_and_keeps_it_across_a_restart(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    ports = ["--port", str(_free_port()), "--moto-port", str(_free_port())]

    with _running_stack([*ports, "--fresh", "--state-dir", str(state_dir)]) as api:
        assert api.call("GET", "/health")[0] == 200
        status, problem = api.call("GET", "/v1/tickets")  # no Authorization header at all
        assert status == 401 and problem["type"].endswith("unauthorized")
        tokens = _tokens(state_dir)
        status, everything = api.call("GET", "/v1/tickets?limit=100", tokens["TOKEN_ADMIN"])
        assert status == 200 and len(everything["items"]) >= 12
        # The demo's SLA policies gave every open demo ticket clocks; agents see the next due one.
        assert any(t["sla"] and t["sla"]["metric"] == "first_response" for t in everything["items"])
        _, globex_view = api.call("GET", "/v1/tickets?limit=100", tokens["TOKEN_GLOBEX_CUSTOMER"])
        assert 0 < len(globex_view["items"]) < len(everything["items"])
        assert {t["organization_id"] for t in globex_view["items"]} == {globex_view["items"][0]["organization_id"]}
        status, created = api.call(
            "POST", "/v1/tickets", tokens["TOKEN_GLOBEX_CUSTOMER"], {"subject": "From the e2e test", "description": "hi"}
        )
        assert status == 201
        assert api.call("GET", f"/v1/tickets/{created['id']}", tokens["TOKEN_ACME_CUSTOMER"])[0] == 404

    assert (state_dir / SNAPSHOT_FILE).exists()
    with _running_stack([*ports, "--state-dir", str(state_dir)]) as api:
        tokens = _tokens(state_dir)  # re-minted at start, same users
        status, again = api.call("GET", f"/v1/tickets/{created['id']}", tokens["TOKEN_GLOBEX_CUSTOMER"])
        assert status == 200 and again["subject"] == "From the e2e test"
        _, after_restart = api.call("GET", "/v1/tickets?limit=100", tokens["TOKEN_ADMIN"])
        assert len(after_restart["items"]) == len(everything["items"]) + 1  # demo data not seeded twice


class _Api:
    def __init__(self, url: str, startup_output: list[str] | None = None) -> None:
        self.url = url
        self.startup_output = startup_output if startup_output is not None else []
        """What the stack printed up to its readiness line."""
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(self, method: str, path: str, token: str | None = None, body: object = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with self._opener.open(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


@contextlib.contextmanager
def _running_stack(arguments: list[str]) -> Iterator[_Api]:
    """`python -m devstack ...` until the block ends, then Ctrl-C: it must exit 0."""
    if "--smtp-port" not in arguments:
        # Tests run side by side: none of them may hold the default SMTP port.
        arguments = [*arguments, "--smtp-port", "0"]
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
        seen: list[str] = []
        yield _Api(_wait_for_ready(lines, process, seen), seen)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _tokens(state_dir: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (state_dir / "tokens.env").read_text().splitlines() if "=" in line)
    return {key.removeprefix("export ").strip(): value.strip().strip("'\"") for key, value in pairs}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _lines_of(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """The process's output, line by line, read on a thread so waiting can time out."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_for_ready(lines: queue.Queue[str], process: subprocess.Popen[str], seen: list[str] | None = None) -> str:
    """The API URL from the readiness line; `seen` collects the lines before it."""
    seen = [] if seen is None else seen
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        if line.startswith(READY_MESSAGE):
            return line.removeprefix(READY_MESSAGE).strip()
    raise AssertionError("devstack never became ready:\n" + "".join(seen[-40:]))
