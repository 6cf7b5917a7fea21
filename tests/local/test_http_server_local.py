"""The local HTTP server as clients meet it: many at once, throttled like API Gateway, Ctrl-C, the banner."""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from devstack.stack import READY_MESSAGE
from tests.local.test_durability import _stack
from tests.local.test_stack_process import _free_port, _running_stack, _tokens

CLIENTS = 50


def _arguments(state_dir: Path, *extra: str) -> list[str]:
    ports = ["--port", str(_free_port()), "--moto-port", str(_free_port()), "--smtp-port", "0"]
    return [*ports, "--fresh", "--no-demo", "--state-dir", str(state_dir), *extra]


def _get(
    url: str, path: str, token: str, connection: http.client.HTTPConnection | None = None
) -> tuple[int, dict[str, str], bytes]:
    address = urlsplit(url)
    connection = connection or http.client.HTTPConnection(address.hostname, address.port, timeout=120)
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def test_fifty_clients_at_once_are_all_answered_and_ctrl_c_stops_clients_that_keep_sending(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    with _stack(_arguments(state_dir)) as (api, process):
        token = _tokens(state_dir)["TOKEN_ADMIN"]
        start = threading.Barrier(CLIENTS)
        outcomes: list[object] = []

        def one_client() -> None:
            start.wait()
            try:
                outcomes.append(_get(api.url, "/v1/tickets?limit=1", token)[0])
            except OSError as exc:
                outcomes.append(repr(exc))

        threads = [threading.Thread(target=one_client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert outcomes == [200] * CLIENTS

        # Clients that never stop sending on their kept-alive connections must not keep it serving.
        answered_after_stop: list[int] = []
        stopped, going = threading.Event(), threading.Semaphore(0)

        def keeps_sending() -> None:
            address = urlsplit(api.url)
            connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    status = _get(api.url, "/v1/tickets?limit=1", token, connection)[0]
                except (OSError, http.client.HTTPException):
                    return
                if stopped.is_set() and status == 200:
                    answered_after_stop.append(status)
                going.release()

        senders = [threading.Thread(target=keeps_sending, daemon=True) for _ in range(5)]
        for sender in senders:
            sender.start()
        for _ in senders:
            assert going.acquire(timeout=120)
        stopped.set()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        # In flight when Ctrl-C came: at most one answer per connection, nothing after.
        assert len(answered_after_stop) <= len(senders)


def test_a_client_beyond_the_throttle_gets_429_problem_json_with_retry_after(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    # A bucket of 3 that refills once in 1000 s: exactly three requests pass.
    with _running_stack(_arguments(state_dir, "--throttle", "0.001:3")) as api:
        token = _tokens(state_dir)["TOKEN_ADMIN"]
        answers = [_get(api.url, "/v1/tickets?limit=1", token) for _ in range(5)]

    assert [status for status, _, _ in answers] == [200, 200, 200, 429, 429]
    _, headers, body = answers[3]
    assert headers["content-type"] == "application/problem+json"
    assert int(headers["retry-after"]) >= 1
    problem = json.loads(body)
    assert (problem["type"], problem["status"]) == ("urn:helpdesk:problem:throttled", 429)


def test_the_start_banner_is_short_and_says_where_the_api_the_tokens_and_smtp_are(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    with _running_stack(_arguments(state_dir)) as api:
        token = _tokens(state_dir)["TOKEN_ADMIN"]
        assert _get(api.url, "/v1/tickets?limit=1", token)[0] == 200
        output = list(api.startup_output)

    banner = output[[line.strip() for line in output].index("Helpdesk local stack") :]
    assert banner[-1].startswith(READY_MESSAGE)
    assert len(banner) <= 22
    text = "".join(banner)
    assert api.url in text
    assert str(state_dir / "tokens.env") in text
    assert "smtp://127.0.0.1:" in text
    # Log lines and metrics of the functions go to the log file, not the console.
    assert not [line for line in output if line.lstrip().startswith("{")]
    assert "/v1/tickets" in (state_dir / "stack.log").read_text()
