"""Routing's cost per new ticket: DynamoDB calls the ticket stream makes for one ticket's INSERT,
per assignment strategy, against no rule at all (what the stream costs anyway: counters).

In process (chalice test client + moto): a team of 5 agents, one rule, a customer's ticket, then
`ticket_stream` on the create's records, metered (bench/dynamo_meter.py). Run alone:
`.venv/bin/python -m bench.routing` (prints the table `make bench` adds to results.md).
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dynamo_meter import Meter  # noqa: E402
from bench.in_process import SECRET, use_in_process_environment  # noqa: E402

STRATEGIES = (None, "none", "round_robin", "least_open")
TICKETS = 5


def measure() -> list[dict[str, Any]]:
    use_in_process_environment("helpdesk-bench-routing", HELPDESK_STAGE="local")
    import boto3
    from chalice.test import Client
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from chalicelib import composition
    from chalicelib.tokens import mint_local_token
    from devstack import moto_fast_paths
    from devstack.tables import table_definition

    moto_fast_paths.install()
    rows = []
    with mock_aws():
        table_name = os.environ["HELPDESK_TABLE"]
        boto3.client("dynamodb").create_table(**table_definition(table_name))
        composition.reset()
        from app import app

        shard = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(table_name).stream_shard
        with Client(app, stage_name="local") as client:

            def caller(sub: str, role: str, **claims: Any) -> Any:
                token = mint_local_token(sub=sub, role=role, secret=SECRET, email=f"{sub}@example.com", **claims)

                def call(method: str, path: str, body: Any = None) -> Any:
                    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                    response = client.http.request(method, path, headers=headers, body=json.dumps(body) if body else b"")
                    assert response.status_code < 400, (path, response.status_code, response.body[:300])
                    return json.loads(response.body) if response.body else None

                return call

            admin = caller("admin-1", "admin")
            admin("POST", "/v1/teams", {"id": "support", "name": "Support"})
            for i in range(5):
                user = {"id": f"agent-{i}", "name": f"Agent {i}", "email": f"a{i}@x.test", "role": "agent"}
                admin("POST", "/v1/users", {**user, "team_ids": ["support"]})
            customer = caller("cust-1", "customer")
            customer("GET", "/v1/statuses")
            rule_id = None
            for strategy in STRATEGIES:
                if rule_id is not None:
                    admin("DELETE", f"/v1/routing-rules/{rule_id}")
                    rule_id = None
                if strategy is not None:
                    rule = admin("POST", "/v1/routing-rules", {"name": "All", "team_id": "support", "assignment": strategy})
                    rule_id = rule["id"]
                meter = Meter()
                for i in range(TICKETS):
                    shard.items.clear()
                    customer("POST", "/v1/tickets", {"subject": f"{strategy} {i}", "description": "d"})
                    records = [_lambda_record(copy.deepcopy(r.record)) for r in shard.items]
                    undo = meter.install()
                    try:
                        result = app.handler_map["ticket_stream"]({"Records": records}, None)
                    finally:
                        undo()
                    assert result == {"batchItemFailures": []}, result
                calls = sum(meter.calls.values()) / TICKETS
                rows.append(
                    {
                        "strategy": strategy or "(no rule)",
                        "calls": round(calls, 1),
                        "by_op": ", ".join(f"{op} {c / TICKETS:g}" for op, c in sorted(meter.calls.items())),
                        "wcu": round(meter.wcu / TICKETS, 1),
                        "rcu": round(meter.rcu / TICKETS, 1),
                    }
                )
        composition.reset()
    return rows


def _lambda_record(record: dict[str, Any]) -> dict[str, Any]:
    record["dynamodb"]["ApproximateCreationDateTime"] = 0
    record["eventSourceARN"] = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/s"
    return record


def render(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "",
        f"Routing per new ticket (ticket_stream on one create's records; a team of 5 agents; mean of {TICKETS}):",
        "",
        "| rule's assignment | DynamoDB calls | by operation | RCU | WCU |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['strategy']} | {r['calls']} | {r['by_op']} | {r['rcu']} | {r['wcu']} |")
    return lines


if __name__ == "__main__":
    print("\n".join(render(measure())))
