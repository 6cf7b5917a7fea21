"""Do local pages stay flat in table size? (issue 13, devstack/moto_index_query.py)

In process (chalice test client + moto, the local stack's moto patches), 24 tickets are made
through the API (teams, a customer, statuses, one with a 30-comment conversation), then the
table is grown to N tickets by a seeding helper that copies those tickets' items under new
ticket ids straight into moto's table (the importer takes hours for 100,000 on moto; these
copies are the same items the API wrote, one new id each). Then pages are timed: the admin list
(GSI1 `ALL`), a team list, the customer's list, a ticket view, the agent and customer
timelines; with the sorted key lists (as the local stack runs) and, where it stays affordable,
with moto's own Query on the same table.

    .venv/bin/python -m bench.table_size --tickets 1000 10000 100000 [--moto-own-up-to 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.in_process import SECRET, use_in_process_environment  # noqa: E402

TEMPLATES = 24


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _replace(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {k: _replace(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, old, new) for v in value]
    if isinstance(value, str):
        return value.replace(old, new)
    return value


def run(sizes: list[int], moto_own_up_to: int, iterations: int) -> list[dict[str, Any]]:
    use_in_process_environment("helpdesk-table-size")
    import boto3
    from chalice.test import Client
    from moto import mock_aws
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from chalicelib import composition
    from chalicelib.tokens import mint_local_token
    from devstack import dynamodb_isolation, moto_fast_paths, moto_index_query
    from devstack.tables import table_definition

    dynamodb_isolation.install()
    moto_index_query.install()
    moto_fast_paths.install()
    rows: list[dict[str, Any]] = []
    with mock_aws():
        name = os.environ["HELPDESK_TABLE"]
        boto3.client("dynamodb").create_table(**table_definition(name))
        composition.reset()
        from app import app

        with Client(app, stage_name="local") as client:

            def caller(sub: str, role: str, **claims: Any) -> Callable[..., Any]:
                token = mint_local_token(sub=sub, role=role, secret=SECRET, **claims)

                def call(method: str, path: str, body: Any = None) -> Any:
                    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                    response = client.http.request(method, path, headers=headers, body=json.dumps(body) if body else b"")
                    assert response.status_code < 400, (method, path, response.status_code, response.body[:300])
                    return response.body

                return call

            admin = caller("bench-admin", "admin")
            for team in ("support", "engineering", "billing"):
                admin("POST", "/v1/teams", {"id": team, "name": team.title()})
            agent = caller("agent-all", "agent", teams=["support"], access="all")
            customer = caller("cust-1", "customer")
            for user in (agent, customer):
                user("GET", "/v1/statuses")
            teams = ["support", "engineering", "billing", None]
            ids = []
            for i in range(TEMPLATES):
                body: dict[str, Any] = {
                    "subject": f"Ticket {i}",
                    "description": "x" * 400,
                    "priority": ["low", "normal", "high"][i % 3],
                }
                if teams[i % 4]:
                    body["team_id"] = teams[i % 4]
                if i % 5 == 0:
                    body["requester_id"] = "cust-1"
                ids.append(json.loads(agent("POST", "/v1/tickets", body))["id"])
            conversation = ids[0]
            for n in range(30):
                if n % 3 == 2:
                    agent("POST", f"/v1/tickets/{conversation}/comments", {"body": f"note {n}", "visibility": "internal"})
                else:
                    (customer if n % 3 else agent)("POST", f"/v1/tickets/{conversation}/comments", {"body": f"reply {n}"})

            backend = dynamodb_backends["123456789012"]["us-east-1"]
            table = backend.get_table(name)
            templates = {
                ticket: [
                    item.to_json()["Attributes"]
                    for hash_set in table.items.values()
                    for item in hash_set.values()
                    if ticket in json.dumps(item.to_json())
                ]
                for ticket in ids
                if ticket != conversation
            }
            # The outbox's events are the publisher's, not a page's: not copied.
            templates = {t: [a for a in items if not a["PK"]["S"].startswith("EVENTS")] for t, items in templates.items()}
            pages: list[tuple[str, Callable[[], Any]]] = [
                ("list, admin (GSI1 ALL)", lambda: admin("GET", "/v1/tickets?limit=25")),
                ("list, team filter", lambda: agent("GET", "/v1/tickets?team_id=support&limit=25")),
                ("list, customer (USER partition)", lambda: customer("GET", "/v1/tickets?limit=25")),
                ("view ticket (agent)", lambda: agent("GET", f"/v1/tickets/{conversation}")),
                ("timeline (agent, table)", lambda: agent("GET", f"/v1/tickets/{conversation}/timeline")),
                ("timeline (customer, public index)", lambda: customer("GET", f"/v1/tickets/{conversation}/timeline")),
            ]
            made = TEMPLATES
            for size in sizes:
                started = time.perf_counter()
                n = 0
                while made < size:
                    ticket = list(templates)[n % len(templates)]
                    new = str(uuid.uuid4()) if len(ticket) == 36 else uuid.uuid4().hex[: len(ticket)]
                    for attributes in templates[ticket]:
                        copied = _replace(attributes, ticket, new)
                        hash_value, range_value = DynamoType(copied["PK"]), DynamoType(copied["SK"])
                        # Straight into moto's dict: no validation, no stream record, no re-indexing.
                        table.items[hash_value][range_value] = Item(hash_value, range_value, copied)
                    made += 1
                    n += 1
                seeded = time.perf_counter() - started
                moto_index_query._drop(table)  # the copies bypassed the write wrappers: rebuild
                started = time.perf_counter()
                admin("GET", "/v1/tickets?limit=25")
                first_query = time.perf_counter() - started
                row: dict[str, Any] = {
                    "tickets": size,
                    "items": sum(len(h) for h in table.items.values()),
                    "seed_s": round(seeded, 1),
                    "lists_built_s": round(first_query, 2),
                    "rss_mb": round(_rss_mb()),
                    "pages": {},
                }
                for label, page in pages:
                    fast = _timed(page, iterations)
                    own = None
                    if size <= moto_own_up_to:
                        with moto_index_query.bypassed():
                            own = _timed(page, max(3, iterations // 4))
                        with moto_index_query.bypassed():
                            moto_answer = page()
                        assert page() == moto_answer, label  # byte-identical page
                    row["pages"][label] = (fast, own)
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def _timed(page: Callable[[], Any], iterations: int) -> float:
    page()
    times = []
    for _ in range(iterations):
        started = time.perf_counter()
        page()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def report(rows: list[dict[str, Any]]) -> str:
    labels = list(rows[0]["pages"])
    header = "| page | " + " | ".join(f"{row['tickets']:,} tickets" for row in rows) + " |"
    lines = [header, "|---|" + "---|" * len(rows)]
    for label in labels:
        cells = []
        for row in rows:
            fast, own = row["pages"][label]
            cells.append(f"{fast} ms" + (f" (moto's own {own} ms)" if own is not None else ""))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    for row in rows:
        lines.append(
            f"- {row['tickets']:,} tickets ({row['items']:,} items): seeded in {row['seed_s']} s, "
            f"sorted key lists built by the first Query in {row['lists_built_s']} s, process RSS {row['rss_mb']} MB"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--moto-own-up-to", type=int, default=10000)
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args()
    print(report(run(sorted(args.tickets), args.moto_own_up_to, args.iterations)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
