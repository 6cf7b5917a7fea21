"""The agent's journey in Chromium: a view, j/enter to a ticket, r and an internal note, a public
reply that changes the status, an escalation moved on with an estimate, the SLA clock; a stale
save offers a reload; a draft survives a reload."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import Api, sign_in

AGENT = "Alex Rivera"
NOTE_YELLOW = "rgb(255, 244, 194)"


def _open_with_keyboard(page: Page, subject: str) -> None:
    """j down the list until the row with `subject` is selected, then Enter."""
    rows = page.locator("tr[data-ticket-id]")
    rows.first.wait_for()
    for _ in range(rows.count()):
        page.keyboard.press("j")
        if subject in (page.locator('tr[aria-selected="true"]').text_content() or ""):
            break
    expect(page.locator('tr[aria-selected="true"]')).to_contain_text(subject)
    page.keyboard.press("Enter")


def test_agent_opens_a_ticket_from_a_view_adds_a_note_and_replies_with_a_status(page: Page, stack: Api):
    subject = f"Printer on fire {uuid.uuid4().hex[:6]}"
    ticket = stack.ticket("acme-customer", subject)
    sign_in(page, stack, AGENT)
    page.get_by_role("link", name="All open tickets").click()
    expect(page.get_by_role("heading", name="Tickets")).to_be_visible()
    expect(page.get_by_role("link", name="All tickets")).to_be_visible()  # the sidebar's views are in

    api_requests: list[str] = []
    page.on("request", lambda request: "/v1/" in request.url and api_requests.append(f"{request.method} {request.url}"))
    _open_with_keyboard(page, subject)
    expect(page.get_by_role("heading", level=1)).to_contain_text(subject)
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    opened_with = list(api_requests)
    assert len(opened_with) <= 3, opened_with
    assert any(r.endswith(f"/v1/tickets/{ticket['id']}") for r in opened_with)

    reply = page.get_by_role("form", name="Reply")
    page.keyboard.press("r")
    expect(page.get_by_label("Reply or note")).to_be_focused()
    page.keyboard.type("Looks like the fuser; checking with facilities")
    page.get_by_label("Internal note").check()
    expect(reply).to_have_css("background-color", NOTE_YELLOW)
    page.get_by_role("button", name="Add note").click()
    note = page.locator(".entry.internal", has_text="checking with facilities")
    expect(note).to_be_visible()
    expect(note).to_have_css("background-color", NOTE_YELLOW)

    page.get_by_label("Public reply").check()
    page.get_by_label("Reply or note").fill("A technician is on the way")
    page.get_by_label("Status on send").select_option("pending")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".entry:not(.internal)", has_text="A technician is on the way")).to_be_visible()
    expect(page.get_by_label("Status", exact=True)).to_have_value("pending")

    assert stack.call("agent-all", "GET", f"/v1/tickets/{ticket['id']}")["status"] == "pending"

    escalation = page.get_by_role("region", name="Escalation")
    escalation.get_by_label("What needs escalating?").fill("Fuser fault on every printer of the floor")
    escalation.get_by_role("button", name="Escalate").click()
    stages = escalation.get_by_role("list", name="Escalation stages")
    expect(stages.locator('[aria-current="step"]')).to_contain_text("Submitted")
    escalation.get_by_label("Note").fill("Facilities confirmed")
    escalation.get_by_label("Estimated resolution date").fill("2027-01-15")
    escalation.get_by_role("button", name="Move to Review").click()
    expect(escalation).to_contain_text("(not guaranteed)")
    expect(escalation.get_by_role("button", name="Move to Engineering")).to_be_visible()
    eid = escalation.locator("strong").first.text_content()
    for _ in range(120):  # the workflow applies the move (and its estimate) at its wait; bounded polls
        moved = stack.call("agent-all", "GET", f"/v1/escalations/{eid}")
        if moved["stage"] == "review":
            break
    assert (moved["stage"], moved["estimated_resolution_date"]) == ("review", "2027-01-15")

    # A reply that sets the ticket open again: its clock runs, and the page counts it down without a reload.
    page.get_by_label("Reply or note").fill("Part replaced, please try again")
    page.get_by_label("Status on send").select_option("open")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_label("Status", exact=True)).to_have_value("open")
    for _ in range(120):  # the ticket stream restarts the clock asynchronously; bounded polls, no sleeps
        if (stack.call("agent-all", "GET", f"/v1/tickets/{ticket['id']}")["sla"] or {}).get("status") == "running":
            break
    page.get_by_role("link", name="← Workspace").click()
    page.go_back()
    countdown = page.get_by_role("region", name="SLA").locator(".countdown")
    expect(countdown).to_be_visible()
    expect(countdown).not_to_have_text(countdown.text_content() or "", timeout=5_000)

    seen_by_customer = stack.call("acme-customer", "GET", f"/v1/tickets/{ticket['id']}/timeline")["items"]
    bodies = " ".join(entry.get("body") or "" for entry in seen_by_customer)
    assert "A technician is on the way" in bodies and "fuser" not in bodies


def test_a_stale_property_save_changes_nothing_and_offers_a_reload(page: Page, stack: Api):
    ticket = stack.ticket("acme-customer", f"Stale edit {uuid.uuid4().hex[:6]}")
    sign_in(page, stack, AGENT, f"/tickets/{ticket['id']}")
    expect(page.get_by_label("Priority")).to_have_value("normal")
    stack.call("agent-all", "PATCH", f"/v1/tickets/{ticket['id']}", {"priority": "high"}, {"If-Match": '"1"'})

    page.get_by_label("Priority").select_option("low")
    expect(page.get_by_role("complementary", name="Properties").get_by_role("alert")).to_contain_text(
        "changed this ticket meanwhile"
    )
    assert stack.call("agent-all", "GET", f"/v1/tickets/{ticket['id']}")["priority"] == "high"
    page.get_by_role("button", name="Reload ticket").click()
    expect(page.get_by_label("Priority")).to_have_value("high")

    page.get_by_label("Priority").select_option("urgent")
    expect(page.get_by_role("status")).to_have_text("Saved")
    assert stack.call("agent-all", "GET", f"/v1/tickets/{ticket['id']}")["priority"] == "urgent"


def test_a_reply_draft_survives_a_reload_and_the_token_is_kept_in_memory_only(page: Page, stack: Api):
    ticket = stack.ticket("acme-customer", f"Draft {uuid.uuid4().hex[:6]}")
    sign_in(page, stack, AGENT, f"/tickets/{ticket['id']}")
    page.get_by_label("Internal note").check()
    page.get_by_label("Reply or note").fill("Half-written thought")

    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_role("button", name=AGENT).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft")
    expect(page.get_by_label("Reply or note")).to_have_value("Half-written thought")
    expect(page.get_by_label("Internal note")).to_be_checked()
    storage = page.evaluate("() => JSON.stringify([Object.entries(sessionStorage), localStorage.length])")
    assert stack.tokens["TOKEN_AGENT_ALL"] not in storage and storage.endswith(",0]")
