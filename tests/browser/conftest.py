"""Browser tests: Debian's Chromium driven by Playwright against a local stack started here.

One stack (with demo data) and one browser per session; each test gets a fresh browser context
(no cookies, no sessionStorage) and makes its own tickets through the API. Screenshots go to
tests/output/screenshots/ (git-ignored; CI keeps it as an artifact).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from devstack.paths import PROJECT_DIR
from devstack.process import running_stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = PROJECT_DIR / "web" / "node_modules" / "axe-core" / "axe.min.js"
OUTPUT_DIR = PROJECT_DIR / "tests" / "output" / "screenshots"
WIDTHS = (360, 1440)
# Two cores shared with the stack under test: a page may take seconds to answer, never minutes.
expect.set_options(timeout=30_000)


@dataclass
class Api:
    """The local stack over HTTP, as the demo users."""

    url: str
    tokens: dict[str, str]

    def call(self, user: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {self.tokens['TOKEN_' + user.upper().replace('-', '_')]}",
                "Content-Type": "application/json",
                **({"Idempotency-Key": uuid.uuid4().hex} if method == "POST" else {}),
                **(headers or {}),
            },
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=60) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{method} {path} answered {error.code}: {error.read()[:500]!r}") from None
        return json.loads(text) if text else None

    def ticket(self, user: str, subject: str, description: str = "Details.", **fields: Any) -> dict[str, Any]:
        return self.call(user, "POST", "/v1/tickets", {"subject": subject, "description": description, **fields})


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run and make test do)")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: npm ci --prefix web (make test does)")
    # Seeding the demo data through the API takes minutes when the machine is busy.
    with running_stack(tmp_path_factory.mktemp("browser-stack"), startup_timeout=600) as (url, tokens):
        yield Api(url, tokens)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # Playwright adds its own --headless; ours is harmless and keeps the list as documented.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def sign_in(page: Page, stack: Api, name: str, path: str = "") -> None:
    """Open the app (at `path`, a hash route) and pick the demo user `name` on the sign-in page."""
    page.goto(f"{stack.url}/app/{'#' + path if path else ''}")
    page.get_by_role("button", name=name).click()
    page.get_by_text(f"{name} (").wait_for()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def screenshots(page: Page, name: str) -> list[Path]:
    """The page at 360 and 1440 px wide, full height, into tests/output/screenshots/."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    paths = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        path = OUTPUT_DIR / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        paths.append(path)
    page.set_viewport_size({"width": 1440, "height": 900})
    return paths
