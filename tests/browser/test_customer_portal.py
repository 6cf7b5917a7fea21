"""The customer's journey in Chromium: "My tickets" → a ticket → a reply; no reply box on a
closed ticket or on a ticket someone else in the organization submitted."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import Api, sign_in

CUSTOMER = "Carl Meyer"
ORG_ADMIN = "Olivia Stone"


def test_customer_finds_their_ticket_in_my_tickets_and_replies(page: Page, stack: Api):
    subject = f"VPN drops hourly {uuid.uuid4().hex[:6]}"
    ticket = stack.ticket("acme-customer", subject, type="incident")
    sign_in(page, stack, CUSTOMER)
    expect(page.get_by_role("heading", name="My tickets")).to_be_visible()
    headers = page.locator("table.tickets th").all_text_contents()
    assert headers == ["ID", "Subject", "Created", "Last activity", "Type", "Status"]
    row = page.locator("tr", has_text=subject)
    expect(row).to_contain_text(f"#{ticket['number']}")
    expect(row).to_contain_text("incident")
    expect(row).to_contain_text("open")

    row.get_by_role("link", name=subject).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(subject)
    page.get_by_label("Your reply").fill("It dropped again at 10:00")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".entry", has_text="It dropped again at 10:00")).to_be_visible()
    expect(page.get_by_label("Your reply")).to_have_value("")

    timeline = stack.call("agent-all", "GET", f"/v1/tickets/{ticket['id']}/timeline")["items"]
    reply = next(entry for entry in timeline if "dropped again" in (entry.get("body") or ""))
    assert reply["visibility"] == "public" and reply["actor_id"] == ticket["requester_id"]


def test_no_reply_box_on_a_closed_ticket(page: Page, stack: Api):
    ticket = stack.ticket("acme-customer", f"Done already {uuid.uuid4().hex[:6]}")
    stack.call("acme-customer", "POST", f"/v1/tickets/{ticket['id']}/close")
    sign_in(page, stack, CUSTOMER, f"/portal/tickets/{ticket['id']}")
    expect(page.get_by_text("This ticket is closed.")).to_be_visible()
    expect(page.get_by_role("form", name="Reply")).to_have_count(0)


def test_an_org_admin_sees_a_colleagues_ticket_without_a_reply_box(page: Page, stack: Api):
    ticket = stack.ticket("acme-customer", f"Colleague's {uuid.uuid4().hex[:6]}")
    sign_in(page, stack, ORG_ADMIN, f"/portal/tickets/{ticket['id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Colleague's")
    expect(page.get_by_text("only they can reply")).to_be_visible()
    expect(page.get_by_role("form", name="Reply")).to_have_count(0)


def test_an_org_admin_switches_to_the_organizations_tickets(page: Page, stack: Api):
    subject = f"Colleague's printer {uuid.uuid4().hex[:6]}"
    stack.ticket("acme-customer", subject)
    sign_in(page, stack, ORG_ADMIN)
    expect(page.get_by_role("heading", name="My tickets")).to_be_visible()
    expect(page.locator("tr", has_text=subject)).to_have_count(0)
    page.get_by_label("Show").select_option("organization")
    expect(page.get_by_role("heading", name="My organization's tickets")).to_be_visible()
    expect(page.locator("table.tickets th").first).to_have_text("ID")
    expect(page.locator("tr", has_text=subject)).to_contain_text(CUSTOMER)
