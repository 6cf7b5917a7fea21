"""Start `python -m devstack` as a separate process, for the fuzzer and the benchmarks.

They drive the stack over HTTP from outside, as a client would, so the stack runs in its own
process with a fresh state directory and free ports, and stops with Ctrl-C as a person would stop it.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from devstack.paths import PROJECT_DIR
from devstack.stack import READY_MESSAGE

STARTUP_TIMEOUT_SECONDS = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def demo_tokens(state_dir: Path) -> dict[str, str]:
    """The demo users' tokens the stack wrote to `tokens.env`, by variable name."""
    pairs = (line.split("=", 1) for line in (state_dir / "tokens.env").read_text().splitlines() if "=" in line)
    return {key.removeprefix("export ").strip(): value.strip().strip("'\"") for key, value in pairs}


@contextlib.contextmanager
def running_stack(state_dir: Path, startup_timeout: float = STARTUP_TIMEOUT_SECONDS) -> Iterator[tuple[str, dict[str, str]]]:
    """A fresh stack with demo data: yields its URL and the demo users' tokens."""
    command = [sys.executable, "-m", "devstack", "--fresh", "--state-dir", str(state_dir), "--smtp-port", "0"]
    process = subprocess.Popen(
        [*command, "--port", str(free_port()), "--moto-port", str(free_port())],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "POWERTOOLS_LOG_LEVEL": "ERROR"},
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or []], daemon=True).start()
    try:
        yield _wait_for_ready(lines, process, startup_timeout), demo_tokens(state_dir)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_ready(lines: queue.Queue[str], process: subprocess.Popen[str], timeout: float) -> str:
    """The API URL from the readiness line; the last output lines if the stack never got there."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
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
    raise RuntimeError("the local stack did not start:\n" + "".join(seen[-40:]))
