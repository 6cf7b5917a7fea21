"""The Chalice app's HTTP API, served in this process by chalice's local server."""

from __future__ import annotations

import errno
import importlib
import json
import logging
import math
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalice import local as chalice_local
from chalice.app import Chalice
from chalice.config import Config
from chalice.local import ChaliceRequestHandler, LocalDevServer, ThreadedHTTPServer

from devstack.moto_server import PortInUse
from devstack.web_app import WebApp

STAGE = "local"
request_log = logging.getLogger("devstack.requests")
MAX_CONNECTIONS = 64
"""Connections served at once; more wait in the listen backlog (TCP), as with any bounded server."""
BACKLOG = 128
"""socketserver's default backlog of 5 reset clients beyond the fifth waiting one."""
IDLE_SECONDS = 10.0
"""An idle keep-alive connection is closed after this long, so it cannot hold a slot forever."""
SHUTDOWN_GRACE_SECONDS = 5.0


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


@dataclass(frozen=True)
class Throttled:
    """What API Gateway answers a throttled request: the template's THROTTLED gateway response."""

    status: int
    headers: dict[str, str]
    body: bytes


class TokenBucket:
    """API Gateway's stage throttling: `burst` requests at once, refilled at `rate` per second."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens, self._at = float(burst), clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True

    def seconds_until_next(self) -> int:
        """Whole seconds until a request would pass again (at least 1), for Retry-After."""
        with self._lock:
            return max(1, math.ceil((1 - self._tokens) / self.rate))


@dataclass
class Throttle:
    """The local stand-in for the stage's throttling limits (off unless asked for)."""

    bucket: TokenBucket
    response: Throttled

    @classmethod
    def from_template(cls, template: dict[str, Any], rate: float | None = None, burst: int | None = None) -> Throttle:
        """The template's limits (its parameters' defaults) unless given, and its THROTTLED answer."""
        parameters = template.get("Parameters", {})
        rate = rate if rate is not None else float(parameters["ApiThrottleRateLimit"]["Default"])
        burst = burst if burst is not None else int(parameters["ApiThrottleBurstLimit"]["Default"])
        gateway = _find(template, "THROTTLED")
        headers = {
            name.removeprefix("gatewayresponse.header."): value.strip("'")
            for name, value in gateway.get("responseParameters", {}).items()
        }
        body = gateway.get("responseTemplates", {}).get("application/json", "").encode()
        return cls(TokenBucket(rate, burst), Throttled(int(gateway["statusCode"]), headers, body))

    def refusal(self) -> Throttled | None:
        if self.bucket.take():
            return None
        # API Gateway's Retry-After is the template's constant; the bucket's figure is at least as honest.
        headers = {**self.response.headers, "Retry-After": str(self.bucket.seconds_until_next())}
        return Throttled(self.response.status, headers, self.response.body)


def _find(document: Any, key: str) -> dict[str, Any]:
    """The first mapping under `key` anywhere in `document` (the gateway responses sit in the API's body)."""
    if isinstance(document, dict):
        if isinstance(document.get(key), dict):
            found: dict[str, Any] = document[key]
            return found
        children: list[Any] = list(document.values())
    elif isinstance(document, list):
        children = document
    else:
        children = []
    for child in children:
        try:
            return _find(child, key)
        except KeyError:
            continue
    raise KeyError(key)


class _Server(ThreadedHTTPServer):
    """chalice's threaded server, bounded, with a backlog and a graceful stop.

    At most MAX_CONNECTIONS connections are served at once (a thread each; the accept loop
    waits for a free slot). `stop_accepting` then `wait_for_in_flight` finish the requests
    already inside the app; a request that arrives later on a kept-alive connection gets a 503
    and the connection is closed, so no client keeps the stack serving after Ctrl-C.
    """

    request_queue_size = BACKLOG
    throttle: Throttle | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self.stopping = threading.Event()
        self._in_flight = 0
        self._idle = threading.Condition()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        while not self.slots.acquire(timeout=0.5):
            if self.stopping.is_set():
                self.shutdown_request(request)
                return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)  # type: ignore[misc]
        finally:
            self.slots.release()

    def entering(self) -> bool:
        """Count a request in; False once stopping (it must not start)."""
        with self._idle:
            if self.stopping.is_set():
                return False
            self._in_flight += 1
            return True

    def left(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    def wait_for_in_flight(self, timeout: float) -> int:
        """Wait until no request is inside the app; answers how many still are at the deadline."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight and (left := deadline - time.monotonic()) > 0:
                self._idle.wait(left)
            return self._in_flight


class _OneRequestAtATime(ChaliceRequestHandler):
    _app_lock = threading.Lock()
    web: WebApp | None = None
    server: _Server
    timeout = IDLE_SECONDS

    def _generic_handle(self) -> None:
        if not self.server.entering():
            self.close_connection = True
            self._send_problem(503, "Unavailable", "the local stack is stopping", {"Connection": "close"})
            return
        try:
            throttle = self.server.throttle
            refused = throttle.refusal() if throttle is not None else None
            if refused is not None:
                self._drain_body()
                self._send_raw(refused.status, refused.headers, refused.body)
                return
            with self._app_lock:
                super()._generic_handle()
        finally:
            self.server.left()
            if self.server.stopping.is_set():
                self.close_connection = True

    # chalice binds its own _generic_handle to these names: an override alone is never called.
    # GET and HEAD first offer the path to the web app (do_GET below).
    do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def _drain_body(self) -> None:
        length = int(self.headers.get("content-length", "0") or 0)
        if length > 0:
            self.rfile.read(length)

    def _send_raw(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_problem(self, status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(
            {
                "type": f"urn:helpdesk:problem:{title.lower().replace(' ', '-')}",
                "title": title,
                "status": status,
                "detail": detail,
                "errors": [],
            }
        ).encode()
        self._send_raw(status, {"Content-Type": "application/problem+json", **(headers or {})}, body)

    def log_message(self, format: str, *args: Any) -> None:
        # One line per request belongs in a log file, not the console (devstack.stack sets it up).
        request_log.info("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        # The one path-prefix dispatch: /, /app/ and /local/ are the web app's (devstack/web_app.py).
        if self.web is not None and self.web.handles(self.path):
            self.web.respond(self)
            return
        # Everything else is the app's, one request at a time like every other method.
        self._generic_handle()

    do_HEAD = do_GET

    def __getattr__(self, name: str) -> object:
        # Methods chalice does not serve (TRACE, CONNECT, ...): http.server would answer a
        # 501 HTML page; API Gateway refuses them as a client error, so do we.
        if name.startswith("do_"):
            return self._method_not_allowed
        raise AttributeError(name)

    def _method_not_allowed(self) -> None:
        self._send_problem(405, "Method not allowed", f"{self.command} is not supported")


@dataclass
class HttpApi:
    """chalice's local server, bound and serving on a background thread."""

    server: LocalDevServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = self.server.server.server_address[:2]
        return f"http://{host}:{port}"

    def throttle_with(self, throttle: Throttle | None) -> None:
        """Answer requests beyond `throttle`'s limits with its 429 (None: no limits)."""
        server = self.server.server
        assert isinstance(server, _Server)
        server.throttle = throttle

    def stop(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> int:
        """Stop accepting, let the requests inside the app finish (at most `grace` seconds);
        answers how many were still running when it gave up."""
        server = self.server.server
        assert isinstance(server, _Server)
        server.stopping.set()
        self.server.shutdown()
        server.server_close()
        still_running = server.wait_for_in_flight(grace)
        self.thread.join(timeout=grace)
        return still_running


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
        server = LocalDevServer(config.chalice_app, config, host, port, handler_cls=handler_cls, server_cls=_Server)
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
