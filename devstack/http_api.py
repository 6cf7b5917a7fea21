"""The Chalice app's HTTP API, served in this process by chalice's local server."""

from __future__ import annotations

import errno
import importlib
import json
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from chalice import local as chalice_local
from chalice.app import Chalice
from chalice.config import Config
from chalice.local import ChaliceRequestHandler, LocalDevServer

from devstack.moto_server import PortInUse
from devstack.web_app import WebApp

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


class _OneRequestAtATime(ChaliceRequestHandler):
    _app_lock = threading.Lock()
    web: WebApp | None = None

    def _generic_handle(self) -> None:
        with self._app_lock:
            super()._generic_handle()

    def do_GET(self) -> None:
        # The one path-prefix dispatch: /, /app/ and /local/ are the web app's (devstack/web_app.py).
        if self.web is not None and self.web.handles(self.path):
            self.web.respond(self)
            return
        # As every other method: ChaliceRequestHandler binds do_* to its own _generic_handle.
        ChaliceRequestHandler._generic_handle(self)

    do_HEAD = do_GET

    def __getattr__(self, name: str) -> object:
        # Methods chalice does not serve (TRACE, CONNECT, ...): http.server would answer a
        # 501 HTML page; API Gateway refuses them as a client error, so do we.
        if name.startswith("do_"):
            return self._method_not_allowed
        raise AttributeError(name)

    def _method_not_allowed(self) -> None:
        body = json.dumps(
            {
                "type": "urn:helpdesk:problem:method-not-allowed",
                "title": "Method not allowed",
                "status": 405,
                "detail": f"{self.command} is not supported",
                "errors": [],
            }
        ).encode()
        self.send_response(405)
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


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


def serve(config: Config, host: str, port: int, web: WebApp | None = None) -> HttpApi:
    """Bind host:port (0 picks a free port) and serve the app's routes on a thread (and `web`'s paths).

    Connections get a thread each (clients keep HTTP/1.1 connections open), but the app
    handles one request at a time, as one Lambda container does: Chalice keeps the request
    in a single attribute of the app (`app.current_request`), so two requests inside the
    app at once could read each other's caller.
    """
    _answer_missing_tokens_with_problem_json()
    _answer_unknown_routes_with_problem_json()
    try:
        handler_cls = type("RequestHandler", (_OneRequestAtATime,), {"web": web})
        server = LocalDevServer(config.chalice_app, config, host, port, handler_cls=handler_cls)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise PortInUse(f"API port {host}:{port} is in use; choose another with --port (or $PORT)") from exc
    # serve_forever on the socket server, not LocalDevServer's, which prints its own banner.
    thread = threading.Thread(target=server.server.serve_forever, name="devstack-http", daemon=True)
    thread.start()
    return HttpApi(server=server, thread=thread)


def _answer_missing_tokens_with_problem_json() -> None:
    """Locally, a request without an Authorization header gets the same problem+json 401 as a
    bad token (in AWS the template's gateway responses do this). Idempotent."""
    authorizer_cls = chalice_local.LocalGatewayAuthorizer
    original = authorizer_cls._prepare_authorizer_event
    if getattr(original, "_problem_json", False):
        return
    from chalicelib.api.auth import Unauthorized

    def prepare(self: object, *args: object, **kwargs: object) -> object:
        try:
            return original(self, *args, **kwargs)  # type: ignore[arg-type]
        except chalice_local.NotAuthorizedError:
            raise Unauthorized() from None

    prepare._problem_json = True  # type: ignore[attr-defined]
    authorizer_cls._prepare_authorizer_event = prepare  # type: ignore[method-assign]


NO_SUCH_ROUTE = {
    "type": "urn:helpdesk:problem:not-found",
    "title": "Not found",
    "status": 404,
    "detail": "no such route; GET /openapi.json lists every route",
    "errors": [],
}


class _RouteNotFound(chalice_local.LocalGatewayException):
    CODE = 404

    def __init__(self) -> None:
        super().__init__({"Content-Type": "application/problem+json"}, json.dumps(NO_SUCH_ROUTE).encode())


def _answer_unknown_routes_with_problem_json() -> None:
    """An unknown path, or a method the path does not serve, is a 404 problem+json that echoes
    nothing of the request. chalice local (like API Gateway without gateway responses) answers
    403 with a SigV4 message that quotes the caller's Authorization header: the bearer token.
    In AWS the template's MISSING_AUTHENTICATION_TOKEN gateway response answers the same 404."""
    gateway_cls = chalice_local.LocalGateway
    original = gateway_cls._generate_lambda_event
    if getattr(original, "_problem_json", False):
        return

    def generate(self: chalice_local.LocalGateway, method: str, *args: object, **kwargs: object) -> object:
        try:
            event = original(self, method, *args, **kwargs)  # type: ignore[arg-type]
        except ValueError:
            raise _RouteNotFound() from None
        methods = self._app_object.routes.get(event["requestContext"]["resourcePath"], {})
        if method != "OPTIONS" and method not in methods:
            raise _RouteNotFound()
        return event

    generate._problem_json = True  # type: ignore[attr-defined]
    gateway_cls._generate_lambda_event = generate  # type: ignore[method-assign]
