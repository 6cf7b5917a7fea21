"""The Chalice app's HTTP API, served in this process by chalice's local server."""

from __future__ import annotations

import errno
import importlib
import json
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import LocalDevServer, create_local_server

from devstack.moto_server import PortInUse

STAGE = "local"


def load_chalice_config(project_dir: Path, app_module: str, app_attribute: str) -> Config:
    """The `local` stage of .chalice/config.json; the app itself is imported on first access."""
    config_from_disk = json.loads((project_dir / ".chalice" / "config.json").read_text())

    def load_app() -> Chalice:
        return import_app(project_dir, app_module, app_attribute)

    return Config(
        chalice_stage=STAGE,
        config_from_disk=config_from_disk,
        # The same parameters `chalice local` passes (chalice.cli.factory.create_config_obj).
        user_provided_params={"project_dir": str(project_dir), "chalice_app": load_app},
        default_params={
            "project_dir": str(project_dir),
            "api_gateway_stage": "api",
            "api_gateway_endpoint_type": "EDGE",
            "autogen_policy": True,
        },
    )


def import_app(project_dir: Path, module_name: str, attribute: str) -> Chalice:
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    app = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(app, Chalice):
        raise TypeError(f"{module_name}.{attribute} is a {type(app).__name__}, not a Chalice app")
    return app


@dataclass
class HttpApi:
    """chalice's local server, bound and serving on a background thread."""

    server: LocalDevServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = self.server.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server.server_close()
        self.thread.join(timeout=10)


def serve(config: Config, host: str, port: int) -> HttpApi:
    """Bind host:port (0 picks a free port) and serve the app's routes on a thread."""
    try:
        server = create_local_server(config.chalice_app, config, host, port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise PortInUse(f"API port {host}:{port} is in use; choose another with --port (or $PORT)") from exc
    # serve_forever on the socket server, not LocalDevServer's, which prints its own banner.
    thread = threading.Thread(target=server.server.serve_forever, name="devstack-http", daemon=True)
    thread.start()
    return HttpApi(server=server, thread=thread)
