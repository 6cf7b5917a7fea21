"""A moto *server* with the template's resources, the app pointed at it, and API users.

One server per test module: conditional writes are atomic across threads and processes only
on a server (and with `devstack.dynamodb_isolation`, transactions are isolated). Step Functions
really execute, so escalations wait for their signals as in AWS.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from chalice.test import Client

from chalicelib.tokens import mint_local_token
from tests.api.conftest import ApiUser
from tests.conftest import ROOT, SECRET
from tests.storage.conftest import free_port

PREFIX = "helpdesk-faults-"


@dataclass
class FaultStack:
    endpoint: str
    env: dict[str, str]

    @property
    def table(self) -> str:
        return self.env["HELPDESK_TABLE"]


@pytest.fixture(scope="module")
def stack() -> Iterator[FaultStack]:
    from moto.server import ThreadedMotoServer

    from chalicelib import composition
    from devstack import dynamodb_isolation
    from devstack.aws import LocalAws
    from devstack.moto_server import enable_step_functions_execution
    from devstack.paths import TEMPLATE_PATH
    from devstack.provision import load_template, provision

    dynamodb_isolation.install()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", endpoint)
        patch.setenv("MOTO_PORT", str(port))  # Step Functions integrations call back here
        try:
            # moto's backends are per process, not per server: start from an empty account.
            requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
            enable_step_functions_execution(endpoint)
            provisioned = provision(
                load_template(TEMPLATE_PATH), LocalAws(endpoint), name_prefix=PREFIX, template_dir=TEMPLATE_PATH.parent
            )
            for name, value in provisioned.env.items():
                patch.setenv(name, value)
            composition.reset()
            yield FaultStack(endpoint, dict(provisioned.env))
        finally:
            composition.reset()
            _stop_executions(endpoint)
            server.stop()


def _stop_executions(endpoint: str) -> None:
    """No execution thread may call the server after it stopped."""
    import boto3

    sfn = boto3.client("stepfunctions", endpoint_url=endpoint)
    for machine in sfn.list_state_machines()["stateMachines"]:
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING")["executions"]:
            # An execution still building its environment refuses: it ends with the server.
            with contextlib.suppress(Exception):
                sfn.stop_execution(executionArn=execution["executionArn"])


@pytest.fixture(scope="module")
def client(stack: FaultStack) -> Iterator[Client]:
    from app import app

    with Client(app, stage_name="local", project_dir=str(ROOT)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def login(client: Client) -> Callable[..., ApiUser]:
    def make(user_id: str, role: str, **claims: Any) -> ApiUser:
        token = mint_local_token(sub=user_id, role=role, secret=SECRET, name=claims.pop("name", user_id.title()), **claims)
        return ApiUser(client, token, user_id)

    return make


@pytest.fixture(scope="module")
def users(login: Callable[..., ApiUser]) -> dict[str, ApiUser]:
    """An admin, an agent who sees everything, and a customer of acme, known to the directory."""
    admin = login("admin-1", "admin")
    assert admin.post("/v1/organizations", {"id": "acme", "name": "Acme"}).status_code == 201
    assert admin.post("/v1/teams", {"id": "support", "name": "Support"}).status_code == 201
    found = {
        "admin": admin,
        "agent": login("agent-1", "agent", teams=["support"], access="all"),
        "alice": login("alice", "customer", org="acme"),
    }
    for user in found.values():  # the first request records each user
        assert user.get("/v1/statuses").status_code == 200
    return found


def burst(requests_: list[dict[str, Any]], *, timeout: float = 90) -> list[dict[str, Any]]:
    """Send every request at once, each from its own process (tests/faults/burst.py)."""
    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "results.json"
        spec = {"requests": requests_, "timeout": timeout, "output": str(output)}
        finished = subprocess.run(
            [sys.executable, "-m", "tests.faults.burst"],
            input=json.dumps(spec),
            cwd=ROOT,
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=timeout + 60,
        )
        assert finished.returncode == 0, finished.stderr[-4000:]
        results = json.loads(output.read_text(encoding="utf-8"))
    for result in results:
        result["json"] = _json_or_none(result["body"])
    return results


def _json_or_none(body: str) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None
