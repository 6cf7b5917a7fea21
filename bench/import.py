"""Import throughput in-process on moto, and DynamoDB write units per imported Zendesk ticket.

`python -m bench.import [--tickets 200]`: clones the fixture's three-comment, three-audit ticket
(tests/fixtures/imports/zendesk, ticket 101) into N tickets, runs `ImportService` on moto and
reports tickets per second and write units per ticket, in total and on the hottest partition
keys (table `PK` and GSI1 `GSI1PK`, families as in bench/scaling.py), against DynamoDB's
1,000 WCU/s per partition (docs/scaling.md). Units are computed from item sizes (moto's
ConsumedCapacity ignores them): 1 KB units, twice inside transactions, once in BatchWriteItem.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dynamo_meter import item_size, write_units  # noqa: E402
from bench.in_process import use_in_process_environment  # noqa: E402

TABLE = "helpdesk-bench-import"
FIXTURE = ROOT / "tests" / "fixtures" / "imports" / "zendesk"
PARTITION_LIMIT_WCU = 1_000


def export_of(tickets: int) -> dict[str, list[Any]]:
    export = {p.stem: json.loads(p.read_text())[p.stem] for p in FIXTURE.glob("*.json")}
    model = next(t for t in export["tickets"] if t["id"] == 101)
    clones = []
    for n in range(tickets):
        ticket = copy.deepcopy(model)
        ticket["id"] = 100_000 + n
        for comment in ticket["comments"]:
            comment["id"] = comment["id"] * 1_000_000 + n
        for audit in ticket["audits"]:
            audit["id"] = audit["id"] * 1_000_000 + n
        clones.append(ticket)
    export["tickets"] = clones
    return export


def _family(key: str) -> str:
    for prefix in ("TICKET#", "EXT#zendesk#ticket#", "EXT#zendesk#user#", "ASSIGNEE#", "USER#", "ORG#", "TEAM#", "TAG#"):
        if key.startswith(prefix):
            return prefix + "<id>"
    return key


class WriteMeter:
    """Write units per call kind and per partition key (table PK, GSI1PK)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.wcu = 0.0
        self.by_pk: Counter[str] = Counter()
        self.by_gsi: Counter[str] = Counter()
        self.by_key: Counter[str] = Counter()  # exact keys, for the hottest single key

    def put(self, item: dict[str, Any], factor: int) -> None:
        units = factor * write_units(item_size(item))
        self.wcu += units
        pk = item["PK"]["S"]
        self.by_pk[_family(pk)] += units
        self.by_key[f"table {pk}"] += units
        if "GSI1PK" in item:
            gsi = item["GSI1PK"]["S"]
            self.by_gsi[_family(gsi)] += write_units(item_size(item))  # an index write is not doubled
            self.by_key[f"GSI1 {gsi}"] += write_units(item_size(item))

    def record(self, operation: str, params: dict[str, Any]) -> None:
        self.calls[operation] += 1
        if operation == "TransactWriteItems":
            for entry in params.get("TransactItems", []):
                ((kind, op),) = entry.items()
                if "Item" in op:
                    self.put(op["Item"], 2)
                elif kind != "ConditionCheck":
                    self.wcu += 2
        elif operation == "BatchWriteItem":
            for requests in params.get("RequestItems", {}).values():
                for request in requests:
                    if "PutRequest" in request:
                        self.put(request["PutRequest"]["Item"], 1)
        elif operation == "PutItem":
            self.put(params["Item"], 1)
        elif operation in ("UpdateItem", "DeleteItem"):
            self.wcu += 1
            self.by_key[f"table {params['Key']['PK']['S']}"] += 1
            self.by_pk[_family(params["Key"]["PK"]["S"])] += 1


def measure(tickets: int) -> dict[str, Any]:
    use_in_process_environment(TABLE, HELPDESK_STAGE="test")
    import boto3
    import botocore.client
    from moto import mock_aws

    from chalicelib import composition
    from chalicelib.domain.imports import zendesk
    from devstack import dynamodb_isolation, moto_fast_paths
    from devstack.tables import table_definition

    # As the local stack runs moto: transactions cost the items they touch, not a table copy.
    moto_fast_paths.install()
    dynamodb_isolation.install()

    plan = zendesk.map_export(export_of(tickets))
    meter = WriteMeter()
    original = botocore.client.BaseClient._make_api_call

    def metered(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            meter.record(operation, params)
        return original(client, operation, params)

    with mock_aws():
        boto3.client("dynamodb").create_table(**table_definition(TABLE))
        composition.reset()
        service = composition.import_service()
        directory_only = zendesk.map_export({**export_of(0)})
        service.run(directory_only, "directory")  # people first, so the timing and units are per ticket
        botocore.client.BaseClient._make_api_call = metered
        try:
            started = time.perf_counter()
            report = service.run(plan, f"bench-{tickets}")
            elapsed = time.perf_counter() - started
        finally:
            botocore.client.BaseClient._make_api_call = original
        composition.reset()
    assert report.created["ticket"] == tickets, report
    hottest_key, hottest_units = max(
        ((k, v) for k, v in meter.by_key.items() if not k.startswith("table TICKET#")), key=lambda kv: kv[1]
    )
    return {
        "tickets": tickets,
        "seconds": elapsed,
        "tickets_per_second": tickets / elapsed,
        "wcu_per_ticket": meter.wcu / tickets,
        "calls_per_ticket": {k: v / tickets for k, v in sorted(meter.calls.items())},
        "table_wcu_per_ticket": {k: v / tickets for k, v in meter.by_pk.most_common(6)},
        "gsi1_wcu_per_ticket": {k: v / tickets for k, v in meter.by_gsi.most_common(6)},
        "hottest_shared_key": hottest_key,
        "hottest_shared_key_wcu_per_ticket": hottest_units / tickets,
        "tickets_per_second_before_it_throttles": PARTITION_LIMIT_WCU / (hottest_units / tickets),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=200)
    args = parser.parse_args()
    result = measure(args.tickets)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
