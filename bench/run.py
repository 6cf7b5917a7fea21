"""The benchmark: `make bench` (not part of the test gate). Writes bench/results.md.

Per API operation, in process (chalice test client + moto, the same code paths as
Lambda): DynamoDB calls, items read per item returned, capacity units computed from
item sizes, p50/p95 latency. State transitions per escalation and per SLA clock from real
executions on moto (bench/workflows.py) and their monthly cost. Then: cold import of `app` against a bare Chalice app,
and a fresh interpreter's first request against a bare app's (routes load on first use), the Lambda package size,
and the throughput of the running local stack under a fixed mixed workload sent from a separate process.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import notifications, routing, workflows  # noqa: E402
from bench.dynamo_meter import Meter  # noqa: E402
from bench.in_process import SECRET, app_world, converse, make_teams, ticket_body  # noqa: E402


@dataclass
class Row:
    operation: str
    calls: str
    read_per_returned: str
    query_read_per_returned: str
    rcu: float
    wcu: float
    p50_ms: float
    p95_ms: float


def in_process_rows(tickets: int, iterations: int) -> list[Row]:
    from devstack import dynamodb_isolation, moto_fast_paths

    def install() -> None:
        dynamodb_isolation.install()
        moto_fast_paths.install()  # as in the local stack and the tests: moto's own answers, less of moto's time

    with app_world("helpdesk-bench", install=install) as caller:
        admin = caller("bench-admin", "admin")
        make_teams(admin)
        admin("POST", "/v1/organizations", {"id": "acme", "name": "Acme"})
        agent_all = caller("agent-all", "agent", teams=["support"], access="all")
        agent_team = caller("agent-team", "agent", teams=["support"], access="team")
        customer = caller("cust-1", "customer", org="acme")
        for user in (agent_all, agent_team, customer):
            user("GET", "/v1/statuses")
        ids = [agent_all("POST", "/v1/tickets", ticket_body(i, views=True))["id"] for i in range(tickets)]
        customer_ticket = next(t for i, t in enumerate(ids) if i % 5 == 0)
        converse(customer_ticket, agent_all, customer, 30)

        meter = Meter()
        undo = meter.install()
        operations: list[tuple[str, Callable[[int], Any]]] = [
            ("GET ticket (agent)", lambda i: agent_all("GET", f"/v1/tickets/{ids[i % len(ids)]}")),
            ("GET ticket (customer)", lambda i: customer("GET", f"/v1/tickets/{customer_ticket}")),
            ("list, admin (ALL partition)", lambda i: admin("GET", "/v1/tickets?limit=25")),
            ("list, team filter (index-backed)", lambda i: agent_all("GET", "/v1/tickets?team_id=support&limit=25")),
            ("list, team agent (3 partitions merged)", lambda i: agent_team("GET", "/v1/tickets?limit=25")),
            ("list, priority filter (residual)", lambda i: agent_all("GET", "/v1/tickets?priority=high&limit=25")),
            (
                "view mine-open (team agent, ASSIGNEE#me#open)",
                lambda i: agent_team("GET", "/v1/views/mine-open/tickets?limit=25"),
            ),
            (
                "view unassigned-my-teams (team agent)",
                lambda i: agent_team("GET", "/v1/views/unassigned-my-teams/tickets?limit=25"),
            ),
            ("view all-open (agent all, CATEGORY#open)", lambda i: agent_all("GET", "/v1/views/all-open/tickets?limit=25")),
            ("view all-open (team agent, 3 merged)", lambda i: agent_team("GET", "/v1/views/all-open/tickets?limit=25")),
            ("view pending (agent all)", lambda i: agent_all("GET", "/v1/views/pending/tickets?limit=25")),
            ("view recently-solved (agent all)", lambda i: agent_all("GET", "/v1/views/recently-solved/tickets?limit=25")),
            ("view following (team agent, residual)", lambda i: agent_team("GET", "/v1/views/following/tickets?limit=25")),
            # calls per request: the caller, one Query per view audience, one BatchGetItem of counters
            ("sidebar counts (team agent, GET /v1/views?counts=true)", lambda i: agent_team("GET", "/v1/views?counts=true")),
            ("list, customer (USER partition)", lambda i: customer("GET", "/v1/tickets?limit=25")),
            ("My tickets (customer)", lambda i: customer("GET", "/v1/me/tickets")),
            ("history page", lambda i: agent_all("GET", f"/v1/tickets/{ids[i % len(ids)]}/history")),
            ("timeline page (agent)", lambda i: agent_all("GET", f"/v1/tickets/{customer_ticket}/timeline")),
            ("timeline page (customer, public index)", lambda i: customer("GET", f"/v1/tickets/{customer_ticket}/timeline")),
            (
                "comment (agent public reply)",
                lambda i: agent_all("POST", f"/v1/tickets/{ids[i % len(ids)]}/comments", {"body": "Thanks, on it."}),
            ),
            ("create ticket", lambda i: agent_all("POST", "/v1/tickets", {"subject": f"b{i}", "description": "d" * 400})),
            (
                "PATCH ticket (2 properties)",
                lambda i: agent_all(
                    "PATCH", f"/v1/tickets/{ids[i % len(ids)]}", {"priority": ["low", "high"][i % 2], "tags": [f"t{i}"]}
                ),
            ),
        ]
        rows = []
        try:
            for name, operation in operations:
                operation(0)  # warm: the first request of a user records it
                meter.reset()
                timings = []
                returned = 0  # items the API returned (a merged list reads more than it returns)
                for i in range(iterations):
                    started = time.perf_counter()
                    result = operation(i + 1)
                    timings.append((time.perf_counter() - started) * 1000)
                    returned += len(result["items"]) if "items" in result else 1
                calls = ", ".join(f"{op} {n / iterations:g}" for op, n in sorted(meter.calls.items()))
                ratio = f"{meter.items_read / returned:.2f}" if meter.items_read and returned else "-"
                by_query = f"{meter.query_items_read / returned:.2f}" if meter.query_items_read and returned else "-"
                timings.sort()
                rows.append(
                    Row(
                        name,
                        calls,
                        ratio,
                        by_query,
                        round(meter.rcu / iterations, 2),
                        round(meter.wcu / iterations, 2),
                        round(statistics.median(timings), 2),
                        round(timings[int(len(timings) * 0.95) - 1], 2),
                    )
                )
        finally:
            undo()
    return rows


def import_ratio(runs: int = 7) -> tuple[float, float, float]:
    """Median wall time of a fresh interpreter importing `app`, against a bare Chalice app; and
    `app` as the Lambda package holds it (without `chalice.local`, which chalice never packages)."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}

    def median(code: str) -> float:
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
            samples.append(time.perf_counter() - started)
        return statistics.median(samples) * 1000

    bare = median("from chalice import Chalice; Chalice(app_name='bare')")
    ours = median("import app")
    packaged = median("import sys; sys.modules['chalice.local'] = None; import app")
    return bare, ours, packaged


# Lazy routes move work from `import app` to the first request: this is what a cold start pays.
_FIRST_REQUEST = """
import json, os, sys
from chalice.test import Client
import app
headers = {"Authorization": "Bearer " + os.environ["BENCH_TOKEN"], "Content-Type": "application/json"}
with Client(app.app, stage_name="local") as client:
    if sys.argv[1:] == ["create"]:
        response = client.http.post("/v1/tickets", headers=headers, body=json.dumps({"subject": "Cold", "description": "x"}))
        print(json.loads(response.body)["id"])
    else:
        response = client.http.get("/v1/tickets/" + os.environ["BENCH_TICKET"], headers=headers)
    assert response.status_code < 300, response.body
"""
_BARE_FIRST_REQUEST = """
from chalice import Chalice
from chalice.test import Client
app = Chalice(app_name="bare")
app.route("/")(lambda: {"ok": True})
with Client(app) as client:
    assert client.http.get("/").status_code == 200
"""


def first_request(runs: int = 7) -> tuple[float, float]:
    """Median wall time of a fresh interpreter importing `app` and serving one GET /v1/tickets/{id}
    through chalice's in-process client (authorizer, route module, pydantic, PynamoDB, botocore
    clients, DynamoDB calls against a moto server), against a bare Chalice app serving one route."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    from chalicelib.tokens import mint_local_token
    from devstack.tables import table_definition

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call otherwise
    moto = ThreadedMotoServer(port=0, verbose=False)
    moto.start()
    try:
        host, port = moto.get_host_and_port()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "HELPDESK_TABLE": f"helpdesk-first-request-{time.time_ns()}",  # moto keeps tables across servers
            "HELPDESK_JWT_SECRET": SECRET,
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "BENCH_TOKEN": mint_local_token(sub="bench-admin", role="admin", secret=SECRET),
        }
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        dynamodb.create_table(**table_definition(env["HELPDESK_TABLE"]))

        def run(code: str, *args: str) -> str:
            return subprocess.run(
                [sys.executable, "-c", code, *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
            ).stdout

        env["BENCH_TICKET"] = run(_FIRST_REQUEST, "create").strip()

        def median(code: str) -> float:
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                run(code)
                samples.append(time.perf_counter() - started)
            return statistics.median(samples) * 1000

        return median(_BARE_FIRST_REQUEST), median(_FIRST_REQUEST)
    finally:
        moto.stop()


def package_size() -> str:
    zip_path = ROOT / "out" / "deployment.zip"
    if not zip_path.exists():
        return "not built (run `make package`)"
    import zipfile

    with zipfile.ZipFile(zip_path) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    return f"{zip_path.stat().st_size / 1e6:.1f} MB zipped, {unpacked / 1e6:.1f} MB unpacked"


def stack_throughput(requests_per_worker: int, workers: int) -> dict[str, Any]:
    from bench.load import run_against_fresh_stack

    return run_against_fresh_stack(requests_per_worker=requests_per_worker, workers=workers)


# Hostile comments for sentiment analysis (VADER is quadratic in sentiment-laden words).
SENTIMENT_CASES = [
    ("64K emoji", "\N{GRINNING FACE}" * 65_536),
    ("64K of 'terrible '", "terrible " * 7_282),
    ("64K mixed markup and emoji", "<b>angry</b> \N{POUTING FACE} " * 4_096),
]


def sentiment_timings(runs: int = 5) -> list[tuple[str, float]]:
    """Median ms of `sentiment.score` per hostile comment (target: well under a second)."""
    sys.path.insert(0, str(ROOT))
    from chalicelib.domain import sentiment

    sentiment.score("warm up: the analyzer reads its lexicon once")
    timings = []
    for name, text in SENTIMENT_CASES:
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            sentiment.score(text)
            samples.append((time.perf_counter() - started) * 1000)
        timings.append((name, statistics.median(samples)))
    return timings


def versions() -> str:
    names = ["chalice", "moto", "pynamodb", "aws-lambda-powertools", "boto3", "pydantic"]
    return ", ".join(f"{n} {metadata.version(n)}" for n in names)


def render(
    rows: list[Row],
    imports: tuple[float, float, float],
    first: tuple[float, float],
    package: str,
    load: dict[str, Any] | None,
    flows: dict[str, Any],
    sentiments: list[tuple[str, float]],
) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {versions()}. Reproduce: `make bench`.",
        "Latency is in-process against moto with the local stack's fast paths (devstack/moto_fast_paths.py; relative, "
        "not AWS latency). Capacity units are computed from item sizes.",
        "",
        "| operation | DynamoDB calls per request | items read per item the API returned | of which by Query | RCU | WCU "
        "| p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.operation} | {r.calls} | {r.read_per_returned} | {r.query_read_per_returned} | {r.rcu} | {r.wcu} "
            f"| {r.p50_ms} | {r.p95_ms} |"
        )
    bare, ours, packaged = imports
    bare_first, ours_first = first
    target = "met" if ours / bare <= 1.3 else "not met"
    lines += [
        "",
        f"Cold import: `import app` {ours:.0f} ms vs a bare Chalice app {bare:.0f} ms (ratio {ours / bare:.2f}; "
        "fresh interpreter, median of 7, interpreter start included); as packaged for Lambda (no `chalice.local`) "
        f"{packaged:.0f} ms (ratio {packaged / bare:.2f}). Target 1.3×: {target}. Routes load on their first request "
        '(docs/decisions.md, "Cold start: lazy routes"), so a cold start pays for them there: a fresh interpreter '
        f"importing `app` and serving one `GET /v1/tickets/{{id}}` (in-process client, moto server) takes {ours_first:.0f} ms "
        f"vs {bare_first:.0f} ms for a bare app serving one route (ratio {ours_first / bare_first:.2f}; "
        f"target 1.5×: {'met' if ours_first / bare_first <= 1.5 else 'not met'}).",
        "",
        f"Lambda package (`make package`, without the runtime's boto3/botocore): {package}; target 15 MB zipped.",
        "",
        "Sentiment of one hostile customer comment (median of 5, in process; target well under 1 s): "
        + ", ".join(f"{name} {ms:.0f} ms" for name, ms in sentiments)
        + ".",
        *workflows.render(flows),
    ]
    if load:
        lines += [
            "",
            f"Local stack throughput ({load['workers']} client threads in a separate process, {load['requests']} requests, "
            f"mix {load['mix']}): {load['rps']:.1f} req/s, p50 {load['p50_ms']:.1f} ms, p95 {load['p95_ms']:.1f} ms, "
            f"errors {load['errors']}.",
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--no-load", action="store_true", help="skip the local stack throughput run")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.md"))
    args = parser.parse_args()
    rows = in_process_rows(args.tickets, args.iterations)
    flows = workflows.measure()
    imports = import_ratio()
    first = first_request()
    load = None if args.no_load else stack_throughput(requests_per_worker=100, workers=4)
    mail = notifications.measure()
    routed = routing.measure()
    text = (
        render(rows, imports, first, package_size(), load, flows, sentiment_timings())
        + "\n".join(notifications.render(mail))
        + "\n"
        + "\n".join(routing.render(routed))
        + "\n"
    )
    Path(args.output).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
