"""The moto server the whole local stack talks to, running in this process."""

from __future__ import annotations

import json
import logging
import os
import socket
import urllib.request
from dataclasses import dataclass

from moto.server import ThreadedMotoServer


class PortInUse(Exception):
    """A port the stack needs is taken."""


@dataclass
class MotoServer:
    """A started moto server; `stop()` ends it and drops all its state."""

    server: ThreadedMotoServer
    host: str
    port: int

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.stop()


def start_moto(host: str = "127.0.0.1", port: int = 0) -> MotoServer:
    """Start moto on host:port (0 picks a free port) with Step Functions really executing."""
    # One line per AWS call drowns the app's own log; errors still get through.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    _ensure_free(host, port)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    moto = MotoServer(server=server, host=bound_host, port=bound_port)
    # Step Functions service integrations call back into moto at http://localhost:$MOTO_PORT.
    os.environ["MOTO_PORT"] = str(bound_port)
    enable_step_functions_execution(moto.endpoint_url)
    return moto


def _ensure_free(host: str, port: int) -> None:
    """Fail fast: ThreadedMotoServer.start() waits forever when its thread cannot bind."""
    if port == 0:
        return
    with socket.socket() as probe:
        # Same option werkzeug sets, so only a port really in use fails here.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUse(f"moto port {host}:{port} is in use; choose another with --moto-port") from exc


def enable_step_functions_execution(endpoint_url: str, enabled: bool = True) -> None:
    """Make moto run ASL for real instead of marking executions as succeeded at once.

    The setting is process-wide in moto (in-process `mock_aws` copies it too).
    """
    request = urllib.request.Request(
        f"{endpoint_url}/moto-api/config",
        data=json.dumps({"stepfunctions": {"execute_state_machine": enabled}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    without_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    # moto answers 201 with its batch/lambda config only; the stepfunctions key is not echoed.
    with without_proxy.open(request, timeout=10) as response:
        if response.status != 201:
            raise RuntimeError(f"moto refused its config: HTTP {response.status}")
