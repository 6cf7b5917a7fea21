"""A moto *server* (atomic conditional writes across threads) with the table provisioned."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import boto3
import pytest
import requests

from tests.conftest import table_definition


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    from chalicelib import composition
    from devstack import dynamodb_isolation

    dynamodb_isolation.install()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    previous = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        # moto's backends are per process, not per server: start from an empty account.
        requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
        boto3.client("dynamodb", endpoint_url=endpoint).create_table(**table_definition())
        composition.reset()
        yield endpoint
    finally:
        composition.reset()
        if previous is None:
            os.environ.pop("AWS_ENDPOINT_URL", None)
        else:
            os.environ["AWS_ENDPOINT_URL"] = previous
        server.stop()
