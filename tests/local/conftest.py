"""Fixtures for tests of the local stack: one real moto server, reset before each test."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest

from devstack import lambda_dispatch
from devstack.aws import LocalAws
from devstack.moto_server import MotoServer, enable_step_functions_execution, start_moto


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """A ThreadedMotoServer on a free port, as devstack runs it (Step Functions executing)."""
    with pytest.MonkeyPatch.context() as environment:
        # start_moto exports MOTO_PORT for Step Functions' callbacks; undo that afterwards.
        environment.setenv("MOTO_PORT", "0")
        server = start_moto(port=0)
        yield server
        # moto's config is process-wide: later in-process mock_aws tests must get its default.
        enable_step_functions_execution(server.endpoint_url, enabled=False)
        server.stop()


@pytest.fixture
def aws(moto_server: MotoServer) -> Iterator[LocalAws]:
    """Clients for an empty moto: moto's backends are process-wide, so each test resets them."""
    _reset(moto_server.endpoint_url)
    enable_step_functions_execution(moto_server.endpoint_url)
    yield LocalAws(moto_server.endpoint_url)
    lambda_dispatch.uninstall()


def _reset(endpoint_url: str) -> None:
    request = urllib.request.Request(f"{endpoint_url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass
