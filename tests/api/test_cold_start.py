"""What a cold container pays on its first request: no X-Ray SDK unless the function traces, and
one botocore session however many item types the request reads or writes."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.conftest import ROOT, SECRET, TABLE

# A fresh interpreter: moto in process, the table, then `import app` and a ticket created and read
# through chalice's client; botocore sessions are counted from `import app` on.
_COLD_REQUESTS = """
import json, sys
import boto3, botocore.session
from moto import mock_aws
from devstack.tables import table_definition
with mock_aws():
    boto3.client("dynamodb").create_table(**table_definition(sys.argv[1]))
    sessions = []
    original = botocore.session.Session.__init__
    def counted(self, *args, **kwargs):
        sessions.append(1)
        original(self, *args, **kwargs)
    botocore.session.Session.__init__ = counted
    import app
    from chalice.test import Client
    from chalicelib.tokens import mint_local_token
    headers = {"Authorization": "Bearer " + mint_local_token(sub="admin-1", role="admin", secret=sys.argv[2]),
               "Content-Type": "application/json"}
    with Client(app.app, stage_name="local") as client:
        created = client.http.post("/v1/tickets", headers=headers, body=json.dumps({"subject": "Cold", "description": "x"}))
        assert created.status_code == 201, created.body
        read = client.http.get("/v1/tickets/" + json.loads(created.body)["id"], headers=headers)
        assert read.status_code == 200, read.body
    print(json.dumps({"modules": sorted(sys.modules), "sessions": len(sessions)}))
"""


def _cold_requests(**settings: str) -> Any:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "HELPDESK_JWT_SECRET": SECRET,
        "HELPDESK_AUTH_MODE": "local",
        "HELPDESK_TABLE": TABLE,
        "HELPDESK_STAGE": "test",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        **settings,
    }
    result = subprocess.run(
        [sys.executable, "-c", _COLD_REQUESTS, TABLE, SECRET],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_a_container_that_does_not_trace_never_loads_the_xray_sdk_and_reads_all_items_through_one_session() -> None:
    cold = _cold_requests()
    assert {m for m in cold["modules"] if m.split(".")[0] == "aws_xray_sdk"} == set()
    # Creating a ticket touches the directory, counters, numbers, the ticket, history and the
    # outbox; reading it the directory and the ticket: every item type shares one session.
    assert cold["sessions"] == 1


def test_a_traced_lambda_container_serves_through_powertools_tracer() -> None:
    cold = _cold_requests(LAMBDA_TASK_ROOT=str(ROOT), AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR")
    assert "aws_xray_sdk.core" in cold["modules"]
    # In Lambda the SDK samples locally: no centralized-sampling X-Ray client, no second session.
    assert "aws_xray_sdk.core.sampling.connector" not in cold["modules"]
    assert cold["sessions"] == 1
