"""Notification fan-out: SES calls and DynamoDB writes per public reply with N recipients.

In process (chalice test client + moto): a ticket with a requester and N-1 CC'd customers, an
agent's public reply, then `send_notifications` on the reply's bus event, metered (DynamoDB by
bench/dynamo_meter.py, SES by counting SendRawEmail). Run alone:
`.venv/bin/python -m bench.notifications` (prints the table `make bench` adds to results.md).
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

RECIPIENTS = (1, 5, 16)  # requester + up to 15 CC (the API's CC limit)
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems")


def measure(recipients: tuple[int, ...] = RECIPIENTS) -> list[dict[str, Any]]:
    use_in_process_environment("helpdesk-bench-mail", HELPDESK_STAGE="local")
    import boto3
    from chalice.test import Client
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.ses.models import ses_backends

    from chalicelib import composition
    from chalicelib.tokens import mint_local_token
    from devstack import moto_fast_paths
    from devstack.tables import table_definition

    moto_fast_paths.install()
    rows = []
    with mock_aws():
        table_name = os.environ["HELPDESK_TABLE"]
        boto3.client("dynamodb").create_table(**table_definition(table_name))
        boto3.client("ses").verify_domain_identity(Domain="helpdesk.local")
        composition.reset()
        from app import app
        from chalicelib.handlers import notifications

        notifications.sender.cache_clear()
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

            agent = caller("agent-1", "agent", teams=["support"], access="all")
            customers = [caller(f"cust-{i}", "customer") for i in range(max(recipients))]
            for user in (agent, *customers):
                user("GET", "/v1/statuses")
            for n in recipients:
                body = {"subject": f"{n} recipients", "description": "d", "requester_id": "cust-0"}
                ticket = agent("POST", "/v1/tickets", body)
                cc = [f"cust-{i}" for i in range(1, n)]
                shard.items.clear()
                agent("POST", f"/v1/tickets/{ticket['id']}/comments", {"body": "Fixed, please confirm.", "cc": cc})
                records = [_sqs_record(copy.deepcopy(r.record)) for r in shard.items]
                records = [r for r in records if r is not None]
                ses = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
                sent_before = len(ses.sent_messages)  # one kept per accepted SendRawEmail
                meter = Meter()
                undo = meter.install()
                try:
                    result = app.handler_map["send_notifications"]({"Records": records}, None)
                finally:
                    undo()
                assert result == {"batchItemFailures": []}, result
                rows.append(
                    {
                        "recipients": n,
                        "ses": len(ses.sent_messages) - sent_before,
                        "writes": sum(meter.calls[op] for op in WRITES),
                        "write_calls": ", ".join(f"{op} {meter.calls[op]}" for op in WRITES if meter.calls[op]),
                        "reads": ", ".join(f"{op} {c}" for op, c in sorted(meter.calls.items()) if op not in WRITES),
                        "wcu": round(meter.wcu, 1),
                    }
                )
        composition.reset()
    return rows


def _sqs_record(stream_record: dict[str, Any]) -> dict[str, Any] | None:
    """The comment.created outbox item of a stream record as the notification queue delivers it."""
    image = stream_record.get("dynamodb", {}).get("NewImage") or {}
    if image.get("kind", {}).get("S") != "event" or image["type"]["S"] != "comment.created":
        return None
    detail = {**json.loads(image["detail"]["S"]), "event_id": image["id"]["S"]}
    body = {"source": "helpdesk", "detail-type": image["type"]["S"], "detail": detail, "time": image["at"]["S"]}
    return {"messageId": image["id"]["S"], "body": json.dumps(body), "eventSource": "aws:sqs"}


def render(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "",
        "Notification fan-out per public reply (send_notifications on its comment.created event; requester + CC'd):",
        "",
        "| recipients | SES SendRawEmail | DynamoDB write calls | of which | DynamoDB reads | WCU |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['recipients']} | {r['ses']} | {r['writes']} | {r['write_calls']} | {r['reads']} | {r['wcu']} |")
    return lines


if __name__ == "__main__":
    print("\n".join(render(measure())))
