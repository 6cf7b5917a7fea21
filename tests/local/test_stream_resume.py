"""A ticket stream batch in flight when the local stack is killed runs after the restart, once."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from devstack.paths import PROJECT_DIR
from tests.local.test_durability import _stack
from tests.local.test_stack_process import _Api, _free_port, _tokens

HOLD = Path(__file__).parent / "stream_hold"  # its sitecustomize holds the ticket stream's first ticket batch


def _open_count(api: _Api, token: str) -> int:
    status, body = api.call("GET", "/v1/views?counts=true", token)
    assert status == 200
    (view,) = [view for view in body["items"] if view["id"] == "all-open"]
    return int(view["count"])


def test_a_ticket_stream_batch_in_flight_at_sigkill_runs_after_restart_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state_dir, marker = tmp_path / "state", tmp_path / "held"
    ports = ["--port", str(_free_port()), "--moto-port", str(_free_port()), "--smtp-port", "0"]

    with monkeypatch.context() as held:
        held.setenv("PYTHONPATH", f"{HOLD}:{PROJECT_DIR}")
        held.setenv("HELPDESK_TEST_HOLD_STREAM", str(marker))
        with _stack([*ports, "--fresh", "--no-demo", "--state-dir", str(state_dir)]) as (api, process):
            admin = _tokens(state_dir)["TOKEN_ADMIN"]
            status, _ = api.call("POST", "/v1/tickets", admin, {"subject": "Counted once", "description": "a"})
            assert status == 201
            deadline = time.monotonic() + 60
            while not marker.exists():
                assert time.monotonic() < deadline, "the ticket stream never got the new ticket's batch"
                time.sleep(0.1)
            # The ticket is stored; what the stream adds to it (its open counters) is not yet.
            assert _open_count(api, admin) == 0
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)

    with _stack([*ports, "--state-dir", str(state_dir)]) as (api, _):
        deadline = time.monotonic() + 60
        while (count := _open_count(api, admin)) == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert count == 1
