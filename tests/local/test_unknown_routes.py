"""The local API answers unknown routes as API Gateway does with the template's gateway
responses: 404 problem+json that echoes nothing of the request (no bearer token)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from devstack.http_api import HttpApi, load_chalice_config, serve
from devstack.paths import PROJECT_DIR

TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LWNsYWltcw.do-not-echo-me"


@pytest.fixture(scope="module")
def http_api() -> Iterator[HttpApi]:
    api = serve(load_chalice_config(PROJECT_DIR, "app", "app"), "127.0.0.1", 0)
    yield api
    api.stop()


def _call(api: HttpApi, method: str, path: str, token: str | None) -> tuple[int, str, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(api.url + path, headers=headers, method=method)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


@pytest.mark.parametrize("token", [TOKEN, None])
@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/nope"), ("POST", "/v2/tickets"), ("DELETE", "/v1/tickets")])
def test_unknown_routes_are_404_problems_that_never_echo_the_token(http_api, method, path, token):
    status, content_type, body = _call(http_api, method, path, token)
    assert (status, content_type) == (404, "application/problem+json")
    problem = json.loads(body)
    assert problem["status"] == 404 and problem["type"] == "urn:helpdesk:problem:not-found"
    assert b"do-not-echo-me" not in body and b"Bearer" not in body
