"""The agent ticket page's panels in Chromium: the SLA clock counting down (and paused), presence
avatars (five, then "+n") with the heartbeat, follow, and the badges the API gives."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import Api, sign_in

AGENT = "Alex Rivera"


def _until(check: Callable[[], Any], what: str, attempts: int = 120) -> Any:
    """Polls the API (the stream sets a new ticket's clocks asynchronously) until `check` is truthy."""
    for _ in range(attempts):
        value = check()
        if value:
            return value
        # Each poll is an HTTP round trip to the stack: no sleeps, a bounded number of tries.
    raise AssertionError(f"never happened: {what}")


def _sla(stack: Api, ticket_id: str) -> dict[str, Any] | None:
    return stack.call("agent-all", "GET", f"/v1/tickets/{ticket_id}")["sla"]


def test_the_sla_clock_counts_down_every_second_and_says_when_it_is_paused(page: Page, stack: Api):
    urgent = stack.ticket("agent-all", f"Site down {uuid.uuid4().hex[:6]}", priority="urgent", type="incident")
    _until(lambda: _sla(stack, urgent["id"]), "the urgent ticket's clock starts")
    sign_in(page, stack, AGENT, f"/tickets/{urgent['id']}")
    sla = page.get_by_role("region", name="SLA")
    expect(sla).to_contain_text("First response due in")
    countdown = sla.locator(".countdown")
    first = countdown.text_content()
    expect(countdown).not_to_have_text(first or "", timeout=5_000)  # it ticks without a reload

    waiting = stack.ticket("agent-all", f"Waiting on vendor {uuid.uuid4().hex[:6]}")
    _until(lambda: _sla(stack, waiting["id"]), "the standard clock starts")
    version = stack.call("agent-all", "GET", f"/v1/tickets/{waiting['id']}")["version"]
    stack.call("agent-all", "PATCH", f"/v1/tickets/{waiting['id']}", {"status": "pending"}, {"If-Match": f'"{version}"'})
    _until(lambda: (_sla(stack, waiting["id"]) or {}).get("status") == "paused", "pending pauses the clock")
    page.goto(f"{stack.url}/app/#/tickets/{waiting['id']}")
    expect(page.get_by_role("region", name="SLA")).to_contain_text("Paused")
    expect(page.get_by_role("region", name="SLA").locator(".countdown")).to_have_count(0)


def test_presence_shows_five_avatars_then_the_rest_as_a_count_and_follow_is_saved(page: Page, stack: Api):
    ticket = stack.ticket("acme-customer", f"Crowded {uuid.uuid4().hex[:6]}")
    stack.call("admin", "PUT", f"/v1/tickets/{ticket['id']}/presence")
    sign_in(page, stack, AGENT, f"/tickets/{ticket['id']}")
    also = page.get_by_role("list", name="Also viewing")
    expect(also.locator(".avatar")).to_have_count(1)
    viewer = stack.call("agent-all", "GET", f"/v1/tickets/{ticket['id']}")["viewers"][0]["name"]
    expect(also.get_by_label(f"{viewer} is viewing")).to_be_visible()

    def crowd(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        body["viewers"] = [{"user_id": f"u{n}", "name": f"Agent {n}", "since": body["created_at"]} for n in range(6)]
        body["viewers_more"] = 2
        body["sentiment"], body["activity_status"] = "negative", "waiting_on_agent"
        route.fulfill(response=response, body=json.dumps(body))

    page.route(f"**/v1/tickets/{ticket['id']}", crowd)
    page.get_by_role("link", name="← Workspace").click()
    page.go_back()
    expect(also.locator(".avatar:not(.more)")).to_have_count(5)
    expect(also.locator(".avatar.more")).to_have_text("+3")
    expect(page.locator(".ticket-bar")).to_contain_text("Sentiment: negative")
    expect(page.locator(".ticket-bar")).to_contain_text("Waiting on agent")
    page.unroute(f"**/v1/tickets/{ticket['id']}")

    me = stack.call("agent-all", "GET", "/v1/me")["id"]
    page.get_by_role("button", name="Follow").click()
    expect(page.get_by_role("button", name="Following")).to_have_attribute("aria-pressed", "true")
    assert me in stack.call("agent-all", "GET", f"/v1/tickets/{ticket['id']}")["followers"]
