"""A fixed mixed workload against a freshly started local stack, from this (separate) process."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
READY = "Helpdesk local stack ready on"
MIX = {"list": 50, "get": 25, "create": 15, "patch": 10}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _call(url: str, method: str, token: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


@contextlib.contextmanager
def running_stack(state_dir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A fresh `python -m devstack` with demo data: yields its URL and the demo users' tokens."""
    port = _free_port()
    command = [sys.executable, "-m", "devstack", "--fresh", "--state-dir", str(state_dir), "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--moto-port", str(_free_port()), "--smtp-port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "POWERTOOLS_LOG_LEVEL": "ERROR"},
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or []], daemon=True).start()
    try:
        deadline = time.monotonic() + 120
        while True:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the local stack did not start")
            try:
                if lines.get(timeout=1).startswith(READY):
                    break
            except queue.Empty:
                continue
        env_lines = (state_dir / "tokens.env").read_text().splitlines()
        tokens = dict(line.removeprefix("export ").split("=", 1) for line in env_lines if "=" in line)
        yield f"http://127.0.0.1:{port}", {name: value.strip("'\"") for name, value in tokens.items()}
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def run_against_fresh_stack(*, requests_per_worker: int, workers: int, seed: int = 7) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="helpdesk-bench-") as state_dir, running_stack(Path(state_dir)) as (api, tokens):
        agent = tokens["TOKEN_AGENT_ALL"]
        ids = [t["id"] for t in _call(f"{api}/v1/tickets?limit=100", "GET", agent)[1]["items"]]
        plan = [op for op, weight in MIX.items() for _ in range(weight)]

        def worker(number: int) -> list[tuple[float, int]]:
            rng = random.Random(seed + number)
            results = []
            for i in range(requests_per_worker):
                op = rng.choice(plan)
                started = time.perf_counter()
                if op == "list":
                    status, _ = _call(f"{api}/v1/tickets?limit=25", "GET", agent)
                elif op == "get":
                    status, _ = _call(f"{api}/v1/tickets/{rng.choice(ids)}", "GET", agent)
                elif op == "create":
                    body = {"subject": f"load {number}-{i}", "description": "x"}
                    status, _ = _call(f"{api}/v1/tickets", "POST", agent, body)
                else:
                    status, _ = _call(f"{api}/v1/tickets/{rng.choice(ids)}", "PATCH", agent, {"tags": [f"w{number}"]})
                results.append(((time.perf_counter() - started) * 1000, status))
            return results

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            samples = [s for batch in pool.map(worker, range(workers)) for s in batch]
        elapsed = time.perf_counter() - started
        latencies = sorted(ms for ms, _ in samples)
        return {
            "workers": workers,
            "requests": len(samples),
            "mix": ", ".join(f"{op} {weight}%" for op, weight in MIX.items()),
            "rps": len(samples) / elapsed,
            "p50_ms": statistics.median(latencies),
            "p95_ms": latencies[int(len(latencies) * 0.95) - 1],
            "errors": sum(1 for _, status in samples if status >= 400 and status != 409),
        }
