"""Lazy routes: `import app` registers every route and function but loads none of their code, and
chalicelib/api/routes.txt never drifts from the `@api.route` declarations."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from typing import Any

from chalice.test import Client

import chalicelib.api
from chalicelib.api import manifest, routing
from tests.conftest import ROOT, SECRET

ROUTE_MODULES = sorted({entry.module for entry in manifest.entries()})
HEAVY = ("pydantic", "pynamodb", "botocore", "boto3", "aws_lambda_powertools")


def _fresh_interpreter(code: str, **settings: str) -> Any:
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", **settings}  # no AWS or Helpdesk settings unless given
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout.splitlines()[-1])


def _manifest_line(method: str, path: str, module: str, function: str, public: bool) -> str:
    return f"{method} {path} {module}.{function}" + ("  public" if public else "")


def test_importing_the_app_loads_no_route_code_pydantic_or_aws_sdk() -> None:
    loaded = _fresh_interpreter(
        "import json, sys, app\n"
        "print(json.dumps({'modules': sorted(sys.modules), 'routes': sum(map(len, app.app.routes.values()))}))"
    )
    modules = set(loaded["modules"])
    assert {m for m in modules if m.split(".")[0] in HEAVY} == set()
    app_code = {m for m in modules if m.startswith(("chalicelib.services", "chalicelib.storage", "chalicelib.domain"))}
    assert app_code == set()
    assert {f"chalicelib.api.{m}" for m in ROUTE_MODULES} & modules == set()
    assert {"chalicelib.handlers.cognito", "chalicelib.handlers.events", "chalicelib.handlers.sla_timers"} & modules == set()
    assert "chalice.local" not in modules  # the local gateway (~25 ms) is for chalice local and tests only
    assert loaded["routes"] == len(manifest.entries())


def test_first_request_loads_only_its_route_module() -> None:
    loaded = _fresh_interpreter(
        "import json, sys, app\n"
        "from chalice.test import Client\n"
        "assert Client(app.app).http.get('/health').status_code == 200\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('chalicelib.api.'))))",
        HELPDESK_JWT_SECRET=SECRET,
    )
    assert {m.rsplit(".", 1)[1] for m in loaded} & set(ROUTE_MODULES) == {"meta"}


def test_routes_txt_lists_exactly_the_declared_routes() -> None:
    """Every module of chalicelib/api is imported, so a route in a module the manifest never names counts too."""
    for module in pkgutil.iter_modules(chalicelib.api.__path__):
        importlib.import_module(f"chalicelib.api.{module.name}")
    declared = {
        _manifest_line(spec.method, spec.path, handler.__module__.removeprefix("chalicelib.api."), handler.__name__, spec.public)
        for spec, handler in routing.REGISTERED.values()
    }
    listed = {_manifest_line(*entry) for entry in manifest.entries()}
    assert sorted(declared - listed) == [], "add these lines to chalicelib/api/routes.txt"
    assert sorted(listed - declared) == [], "remove or correct these lines of chalicelib/api/routes.txt"
    assert len(listed) == len(manifest.entries()), "a route is listed twice in chalicelib/api/routes.txt"


def test_chalice_serves_each_listed_route_behind_the_authorizer_unless_public() -> None:
    from app import app

    served = {(method, path): entry for path, methods in app.routes.items() for method, entry in methods.items()}
    assert set(served) == {(entry.method, entry.path) for entry in manifest.entries()}
    for entry in manifest.entries():
        route = served[(entry.method, entry.path)]
        assert route.view_name == entry.function
        assert (route.authorizer is None) == entry.public, entry
        assert route.content_types == manifest.ACCEPTED_MEDIA_TYPES


def test_every_lambda_entry_point_resolves_to_a_callable_lambda_can_call() -> None:
    """Lambda imports the module of each handler string and calls the attribute with (event, context)."""
    from app import app

    functions = {f.name: f.handler_string for f in [*app.pure_lambda_functions, *app.event_sources, *app.builtin_auth_handlers]}
    assert functions == {
        "pre_token_generation": "chalicelib.handlers.pre_token_generation",
        "publish_events": "chalicelib.handlers.publish_events",
        "ticket_stream": "chalicelib.handlers.ticket_stream",
        "deliver_webhooks": "chalicelib.handlers.deliver_webhooks",
        "send_notifications": "chalicelib.handlers.send_notifications",
        "record_mail_feedback": "chalicelib.handlers.record_mail_feedback",
        "receive_mail": "chalicelib.handlers.receive_mail",
        "jwt_auth": "chalicelib.api.auth.jwt_auth",
    }
    for handler_string in functions.values():
        module, attribute = handler_string.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), attribute)), handler_string


def test_a_route_module_that_fails_to_load_answers_problem_json(client: Client, monkeypatch: Any) -> None:
    def broken(entry: manifest.Entry) -> Any:
        raise ImportError("simulated")

    monkeypatch.setattr(manifest, "resolve", broken)
    response = client.http.get("/health")
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/problem+json"
    assert json.loads(response.body)["type"] == "urn:helpdesk:problem:internal"
