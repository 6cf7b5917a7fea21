"""Each main page: zero serious or critical axe-core violations, and screenshots at 360 and
1440 px (tests/output/screenshots/, shown in the README)."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from bench import web_size
from tests.browser.conftest import Api, axe_violations, screenshots, sign_in


@pytest.fixture(scope="module")
def ticket(stack: Api) -> dict:
    ticket = stack.ticket(
        "acme-customer", f"Cannot export the March report {uuid.uuid4().hex[:4]}", "The export button spins forever."
    )
    stack.call("agent-all", "POST", f"/v1/tickets/{ticket['id']}/comments", {"body": "Is it every report, or only March?"})
    stack.call(
        "agent-all", "POST", f"/v1/tickets/{ticket['id']}/comments", {"body": "Known bug, see ENG-42", "visibility": "internal"}
    )
    # Escalated and moved on with an estimate, so both ticket pages show their escalation panels.
    escalation = stack.call("agent-all", "POST", f"/v1/tickets/{ticket['id']}/escalations", {"description": "Export times out"})
    stack.call(
        "agent-all",
        "POST",
        f"/v1/escalations/{escalation['id']}/transitions",
        {"to": "review", "note": "Reproduced", "estimated_resolution_date": "2027-01-15"},
    )
    for _ in range(120):  # the ticket stream copies the escalation onto the ticket (bounded polls, no sleeps)
        if stack.call("agent-all", "GET", f"/v1/tickets/{ticket['id']}")["escalation"]:
            break
    return ticket


def _check(page: Page, name: str) -> None:
    screenshots(page, name)
    assert axe_violations(page) == []


def test_sign_in_page(page: Page, stack: Api):
    page.goto(f"{stack.url}/app/")
    expect(page.get_by_role("button", name="Alex Rivera")).to_be_visible()
    _check(page, "sign-in")


def test_agent_workspace_page(page: Page, stack: Api, ticket: dict):
    sign_in(page, stack, "Alex Rivera", "/views/all-open")
    expect(page.locator("tr", has_text=ticket["subject"])).to_be_visible()
    expect(page.get_by_role("link", name="All tickets")).to_be_visible()
    page.keyboard.press("j")
    _check(page, "workspace")


def test_agent_ticket_page(page: Page, stack: Api, ticket: dict):
    sign_in(page, stack, "Alex Rivera", f"/tickets/{ticket['id']}")
    expect(page.locator(".entry.internal", has_text="ENG-42")).to_be_visible()
    expect(page.get_by_role("list", name="Escalation stages")).to_be_visible()
    expect(page.get_by_role("region", name="SLA")).to_be_visible()
    _check(page, "ticket")


def test_portal_my_tickets_page(page: Page, stack: Api, ticket: dict):
    sign_in(page, stack, "Carl Meyer")
    expect(page.locator("tr", has_text=ticket["subject"])).to_be_visible()
    _check(page, "portal")


def test_portal_ticket_page(page: Page, stack: Api, ticket: dict):
    sign_in(page, stack, "Carl Meyer", f"/portal/tickets/{ticket['id']}")
    expect(page.locator(".entry", has_text="only March")).to_be_visible()
    expect(page.get_by_role("list", name="Escalation stages")).to_be_visible()
    _check(page, "portal-ticket")


def test_the_first_workspace_load_is_the_javascript_bench_counts_and_under_budget(page: Page, stack: Api):
    scripts: list[str] = []
    page.on("response", lambda response: response.request.resource_type == "script" and scripts.append(response.url))
    sign_in(page, stack, "Alex Rivera")
    expect(page.get_by_role("link", name="All tickets")).to_be_visible()
    counted = web_size.first_load_modules()
    assert {url.split("/app/", 1)[1] for url in scripts} == {str(path.relative_to(web_size.WEB)) for path in counted}
    assert web_size.compressed_bytes(counted) < web_size.BUDGET_BYTES
