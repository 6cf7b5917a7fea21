"""Load simulation for docs/scaling.md: which partition keys concentrate writes.

Runs a realistic mix through the real API code on in-process moto and counts, for every
item written, the write units landing on its table partition (PK) and on each GSI
partition it belongs to (GSI1PK: list partitions, public timelines). Scaling the
per-ticket numbers to a daily volume against DynamoDB's 1,000 WCU/s per partition gives
the tickets/day each hot key holds.

    .venv/bin/python -m bench.scaling [--tickets 400]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dynamo_meter import item_size, write_units  # noqa: E402

SECRET = "scaling-secret-0123456789abcdef0123456789"
PARTITION_WCU_PER_SECOND = 1000
PEAK_TO_AVERAGE = 5  # a help desk's busiest hour against its daily average


def _family(key: str) -> str:
    """`TICKET#3f2a…` → `TICKET#<id>`; keeps fixed keys (ALL, COUNTER) as they are."""
    prefix, sep, rest = key.partition("#")
    if not sep:
        return key
    if prefix in ("STATUS",):
        return key
    return f"{prefix}#<id>" if rest else key


def simulate(tickets: int) -> dict[str, Any]:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "s",
            "AWS_SECRET_ACCESS_KEY": "s",
            "AWS_DEFAULT_REGION": "us-east-1",
            "HELPDESK_JWT_SECRET": SECRET,
            "HELPDESK_TABLE": "helpdesk-scaling",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    import boto3
    import botocore.client
    from chalice.test import Client
    from moto import mock_aws

    from chalicelib import composition
    from chalicelib.tokens import mint_local_token
    from devstack import dynamodb_isolation
    from devstack.tables import table_definition

    table_wcu: Counter[str] = Counter()  # by exact PK
    gsi_wcu: Counter[str] = Counter()  # by exact GSI1PK
    original = botocore.client.BaseClient._make_api_call

    def charge(item: dict[str, Any], transactional: bool) -> None:
        units = write_units(item_size(item)) * (2 if transactional else 1)
        table_wcu[item["PK"]["S"]] += units
        if "GSI1PK" in item:  # GSI writes are not transactional: 1x
            gsi_wcu[item["GSI1PK"]["S"]] += write_units(item_size(item))

    def metered(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            if operation == "TransactWriteItems":
                for entry in params["TransactItems"]:
                    ((kind, op),) = entry.items()
                    if kind == "Put":
                        charge(op["Item"], True)
                    elif kind in ("Delete", "Update"):
                        table_wcu[op["Key"]["PK"]["S"]] += 2
            elif operation in ("PutItem",):
                charge(params["Item"], False)
            elif operation in ("UpdateItem", "DeleteItem"):
                table_wcu[params["Key"]["PK"]["S"]] += 1
        return original(client, operation, params)

    dynamodb_isolation.install()
    with mock_aws():
        boto3.client("dynamodb").create_table(**table_definition(os.environ["HELPDESK_TABLE"]))
        composition.reset()
        from app import app

        botocore.client.BaseClient._make_api_call = metered
        try:
            with Client(app, stage_name="local") as client:

                def as_user(sub: str, role: str, **claims: Any) -> Any:
                    token = mint_local_token(sub=sub, role=role, secret=SECRET, **claims)

                    def call(method: str, path: str, body: Any = None, key: str | None = None) -> Any:
                        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                        if key:
                            headers["Idempotency-Key"] = key
                        response = client.http.request(method, path, headers=headers, body=json.dumps(body) if body else b"")
                        assert response.status_code < 400, response.body[:200]
                        return json.loads(response.body) if response.body else None

                    return call

                admin = as_user("admin", "admin")
                for team in range(10):
                    admin("POST", "/v1/teams", {"id": f"team-{team}", "name": f"Team {team}"})
                agents = [as_user(f"agent-{i}", "agent", teams=[f"team-{i % 10}"], access="all") for i in range(20)]
                customers = [as_user(f"cust-{i}", "customer", org=f"org-{i % 50}") for i in range(200)]
                for user in [*agents, *customers]:
                    user("GET", "/v1/statuses")
                table_wcu.clear()
                gsi_wcu.clear()
                # Per ticket: created by its customer (with an Idempotency-Key, as a portal does),
                # triaged (team, priority, assignee), a reply and a customer answer, an internal
                # note, tagged, solved, closed.
                for n in range(tickets):
                    customer, agent = customers[n % len(customers)], agents[n % len(agents)]
                    ticket = customer("POST", "/v1/tickets", {"subject": f"t{n}", "description": "d" * 600}, key=f"k{n}")
                    path = f"/v1/tickets/{ticket['id']}"
                    agent("PATCH", path, {"team_id": f"team-{n % 10}", "priority": "high", "assignee_id": f"agent-{n % 20}"})
                    agent("POST", f"{path}/comments", {"body": "Can you send the logs?", "status": "pending"})
                    customer("POST", f"{path}/comments", {"body": "Attached, thanks."})
                    agent("POST", f"{path}/comments", {"body": "Cert expired", "visibility": "internal"})
                    agent("PATCH", path, {"tags": ["triaged"]})
                    agent("PATCH", path, {"status": "resolved"})
                    agent("PATCH", path, {"status": "closed"})
        finally:
            botocore.client.BaseClient._make_api_call = original
        composition.reset()
    return {"tickets": tickets, "table": table_wcu, "gsi": gsi_wcu}


def report(result: dict[str, Any]) -> str:
    tickets = result["tickets"]
    rows = []
    for where, counter in (("table", result["table"]), ("GSI1", result["gsi"])):
        families: Counter[str] = Counter()
        hottest: dict[str, int] = {}
        for key, units in counter.items():
            family = _family(key)
            families[family] += units
            hottest[family] = max(hottest.get(family, 0), units)
        for family, _total in families.most_common(12):
            per_ticket = hottest[family] / tickets  # the single hottest key of the family
            ceiling = PARTITION_WCU_PER_SECOND * 86_400 / PEAK_TO_AVERAGE / per_ticket if per_ticket else float("inf")
            rows.append((where, family, per_ticket, ceiling))
    rows.sort(key=lambda r: r[3])
    lines = [
        f"Simulated {tickets} tickets (create with Idempotency-Key, triage, public reply with pending, customer reply, "
        "internal note, tag, resolved, closed).",
        f"Ceiling = 1,000 WCU/s per partition × 86,400 s ÷ peak/average {PEAK_TO_AVERAGE} ÷ WCU per ticket on the hottest key.",
        "",
        "| where | key (hottest of its family) | WCU per ticket on that key | tickets/day before it throttles |",
        "|---|---|---|---|",
    ]
    for where, family, per_ticket, ceiling in rows:
        lines.append(f"| {where} | `{family}` | {per_ticket:.2f} | {ceiling:,.0f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=400)
    args = parser.parse_args()
    print(report(simulate(args.tickets)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
