"""The local HTTP server serves web/ at /app/ on the API's own origin, with the cloud's security
headers, redirects / there, lists the demo users at /local/demo-users and nothing outside web/."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from devstack.http_api import HttpApi, load_chalice_config, serve
from devstack.paths import PROJECT_DIR
from devstack.web_app import WebApp

DEMO = [{"label": "admin", "name": "Dana Admin", "role": "admin", "describe": "role=admin", "token": "t0k3n"}]


@pytest.fixture(scope="module")
def http_api() -> Iterator[HttpApi]:
    web = WebApp(PROJECT_DIR / "web", lambda: DEMO, ("http://127.0.0.1:4566/",))
    api = serve(load_chalice_config(PROJECT_DIR, "app", "app"), "127.0.0.1", 0, web=web)
    yield api
    api.stop()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _get(api: HttpApi, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    try:
        with opener.open(urllib.request.Request(api.url + path, method=method), timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_root_redirects_to_the_web_app(http_api):
    status, headers, _ = _get(http_api, "/")
    assert (status, headers["Location"]) == (302, "/app/")


def test_the_app_page_and_its_modules_come_with_the_security_headers(http_api):
    for path, content_type in [("/app/", "text/html"), ("/app/js/main.js", "text/javascript"), ("/app/styles.css", "text/css")]:
        status, headers, body = _get(http_api, path)
        assert status == 200 and headers["Content-Type"].startswith(content_type) and body
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert headers["Strict-Transport-Security"].startswith("max-age=")
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_the_page_may_post_files_to_storage_and_connect_nowhere_else(http_api):
    _, headers, _ = _get(http_api, "/app/")
    directives = dict(d.strip().split(" ", 1) for d in headers["Content-Security-Policy"].split(";"))
    assert directives["connect-src"] == "'self' http://127.0.0.1:4566"


def test_the_index_page_has_no_inline_script(http_api):
    _, _, body = _get(http_api, "/app/")
    assert b'<script type="module" src="js/main.js"></script>' in body
    assert body.count(b"<script") == 1


@pytest.mark.parametrize(
    "path",
    [
        "/app/node_modules/axe-core/axe.min.js",
        "/app/package.json",
        "/app/%2e%2e/app.py",
        "/app/..%2fapp.py",
        "/app/js/../../app.py",
        "/app/nope.js",
    ],
)
def test_nothing_outside_the_site_is_served(http_api, path):
    status, _, body = _get(http_api, path)
    assert status == 404 and b"import" not in body


def test_the_demo_users_are_listed_with_their_role_and_a_token(http_api):
    status, headers, body = _get(http_api, "/local/demo-users")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert json.loads(body)["items"] == DEMO


def test_api_routes_still_reach_the_app(http_api):
    status, headers, body = _get(http_api, "/health")
    assert status == 200 and json.loads(body)
    status, headers, _ = _get(http_api, "/v1/tickets")
    assert status == 401 and headers["Content-Type"] == "application/problem+json"


def test_writes_to_the_web_app_paths_are_not_served_by_it(http_api):
    status, headers, _ = _get(http_api, "/app/", method="POST")
    assert status == 404 and headers["Content-Type"] == "application/problem+json"
