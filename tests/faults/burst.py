"""Fire many API requests at once, each from its own process, like concurrent Lambda containers.

Chalice keeps `app.current_request` and `app.lambda_context` on the app object, so two threads
calling `app(event, context)` at once read each other's request: the entry point is not
thread-safe. Each request therefore runs in its own process. This module is run as
`python -m tests.faults.burst` (a fresh interpreter, no pytest or moto threads): it imports the
app once, forks one child per request, releases them together from a barrier, and each child
sends its request through the Lambda entry point (`chalice.local.LocalGateway` builds the API
Gateway proxy event, runs the authorizer and calls `app(event, context)`). Results go to stdout
as JSON, in request order.

Input (stdin, JSON): {"requests": [{"method", "path", "token", "body", "headers", "delay"}], "timeout":
seconds, "output": path}; the environment (endpoint, table, secret) is inherited. The results are
written to `output`, not stdout: the app's logger writes there.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _send(client: Any, request: dict[str, Any]) -> dict[str, Any]:
    headers = {
        "Authorization": f"Bearer {request['token']}",
        "Content-Type": "application/json",
        **request.get("headers", {}),
    }
    body = request.get("body")
    raw = json.dumps(body).encode() if body is not None else b""
    started, cpu = time.monotonic(), time.process_time()
    response = client.http.request(request["method"], request["path"], headers=headers, body=raw)
    return {
        "status": response.status_code,
        "headers": dict(response.headers),
        "body": response.body.decode("utf-8", "replace") if isinstance(response.body, bytes) else response.body,
        "seconds": round(time.monotonic() - started, 3),
        "cpu_seconds": round(time.process_time() - cpu, 3),
    }


def _child(index: int, client: Any, request: dict[str, Any], barrier: Any, results: Any) -> None:
    try:
        barrier.wait(timeout=60)
        time.sleep(request.get("delay", 0))  # a client's own jitter before a retry
        results.put((index, _send(client, request)))
    except BaseException as exc:  # reported, never hidden: the test fails on it
        results.put((index, {"status": -1, "headers": {}, "body": f"{type(exc).__name__}: {exc}", "seconds": 0}))


def _warm_container(token: str) -> Any:
    """Serve one request before forking, as a Lambda container that served before: imports,
    config, services and botocore clients are ready in every child. Then every client's
    connection pool is emptied, so the children share no socket."""
    from botocore.client import BaseClient
    from chalice.test import Client

    from app import app

    client = Client(app, stage_name="local", project_dir=str(ROOT))
    answer = _send(client, {"method": "GET", "path": "/v1/statuses", "token": token})
    if answer["status"] != 200:
        raise RuntimeError(f"warm-up request failed: {answer}")
    for thing in gc.get_objects():
        if isinstance(thing, BaseClient):
            thing.close()
    return client


def run(requests: list[dict[str, Any]], timeout: float) -> list[dict[str, Any]]:
    client = _warm_container(requests[0]["token"])
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(requests))
    results = context.Queue()
    children = [context.Process(target=_child, args=(i, client, r, barrier, results)) for i, r in enumerate(requests)]
    for child in children:
        child.start()
    collected: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while len(collected) < len(requests):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            index, result = results.get(timeout=remaining)
        except Exception:
            break
        collected[index] = result
    for child in children:
        child.join(timeout=max(0.1, deadline - time.monotonic()))
        if child.is_alive():
            child.kill()
    missing = {"status": -2, "headers": {}, "body": "no answer within the timeout", "seconds": timeout}
    return [collected.get(i, missing) for i in range(len(requests))]


def main() -> None:
    spec = json.load(sys.stdin)
    # Hundreds of request processes on a shared CI machine: the other tests go first.
    os.nice(10)
    sys.path.insert(0, str(ROOT))
    results = run(spec["requests"], float(spec.get("timeout", 60)))
    Path(spec["output"]).write_text(json.dumps(results), encoding="utf-8")


if __name__ == "__main__":
    main()
