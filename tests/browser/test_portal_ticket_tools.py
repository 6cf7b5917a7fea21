"""The customer's journey on their ticket page in Chromium: my tickets → the ticket → a reply with
a file (a file over the limits is refused before any upload) → follow the escalation's stages
with the estimate marked "not guaranteed" → confirm the fix → proxy access → close → feedback
and the thank-you."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import Api, sign_in

CUSTOMER = "Carl Meyer"


def _move(stack: Api, eid: str, to: str, **fields: object) -> None:
    """Agent transition, once the workflow stands at the stage before (bounded polls, no sleeps)."""
    for _ in range(120):
        try:
            stack.call("agent-all", "POST", f"/v1/escalations/{eid}/transitions", {"to": to, "note": "", **fields})
            return
        except AssertionError as refused:
            if "409" not in str(refused):
                raise
    raise AssertionError(f"{eid} never accepted the move to {to}")


def _until_stage(stack: Api, eid: str, stage: str) -> None:
    for _ in range(120):
        if stack.call("agent-all", "GET", f"/v1/escalations/{eid}")["stage"] == stage:
            return
    raise AssertionError(f"{eid} never reached {stage}")


def test_customer_verifies_the_escalation_closes_the_ticket_and_leaves_feedback(page: Page, stack: Api):
    subject = f"Invoices show the wrong VAT {uuid.uuid4().hex[:6]}"
    ticket = stack.ticket("acme-customer", subject)
    eid = stack.call("agent-all", "POST", f"/v1/tickets/{ticket['id']}/escalations", {"description": "VAT rounding"})["id"]
    for stage in ("review", "engineering", "verification"):
        _move(stack, eid, stage, estimated_resolution_date="2027-02-01")
        _until_stage(stack, eid, stage)
    for _ in range(120):  # the ticket stream copies the escalation's summary onto the ticket
        if (stack.call("acme-customer", "GET", f"/v1/tickets/{ticket['id']}")["escalation"] or {}).get("stage") == "verification":
            break

    sign_in(page, stack, CUSTOMER)
    row = page.locator("tr", has_text=subject)
    expect(row).to_contain_text("Escalated")
    row.get_by_role("link", name=subject).click()

    reserved: list[str] = []
    page.on("request", lambda r: r.method == "POST" and r.url.endswith("/attachments") and reserved.append(r.url))
    reply = page.get_by_role("form", name="Reply")
    big = {"name": "dump.csv", "mimeType": "text/csv", "buffer": b"x" * 600_000}
    reply.get_by_label("Attach files").set_input_files(big)
    expect(reply.get_by_role("alert")).to_have_text("dump.csv: larger than 500 KB.")
    page.get_by_label("Your reply").fill("The export of January, as asked")
    page.get_by_role("button", name="Send reply").click()
    expect(reply.get_by_role("alert")).to_have_text("dump.csv: larger than 500 KB.")
    assert reserved == []  # refused in the browser: no slot reserved, nothing uploaded

    export = {"name": "vat january.csv", "mimeType": "text/csv", "buffer": b"net;vat\n100;19\n"}
    reply.get_by_label("Attach files").set_input_files(export)
    expect(reply.get_by_role("alert")).to_have_count(0)
    page.get_by_role("button", name="Send reply").click()
    entry = page.locator(".entry", has_text="The export of January")
    expect(entry.get_by_role("list", name="Attachments")).to_contain_text("vat january.csv")
    files = stack.call("agent-all", "GET", f"/v1/tickets/{ticket['id']}/attachments")["items"]
    assert [(f["filename"], f["size"]) for f in files] == [("vat january.csv", 15)]
    progress = page.get_by_role("region", name=f"Escalation {eid}")
    current = progress.get_by_role("list", name="Escalation stages").locator('[aria-current="step"]')
    expect(current).to_contain_text("Verification")
    expect(progress.locator(".stage-done")).to_have_count(3)
    expect(progress).to_contain_text("Estimated resolution")
    expect(progress).to_contain_text("(not guaranteed)")

    progress.get_by_label("Comment (optional)").fill("Totals are right now")
    progress.get_by_role("button", name="Yes, it is fixed").click()
    expect(page.get_by_role("region", name=f"Escalation {eid}")).to_contain_text("Resolved")
    _until_stage(stack, eid, "resolved")

    page.get_by_label("Let support sign in as me").check()
    expect(page.get_by_role("status")).to_have_text("Support may sign in as you for this ticket")
    assert stack.call("acme-customer", "GET", f"/v1/tickets/{ticket['id']}")["proxy_access"] is True

    page.get_by_role("button", name="Close ticket").click()
    expect(page.get_by_text("This ticket is closed.")).to_be_visible()
    expect(page.get_by_role("form", name="Reply")).to_have_count(0)
    feedback = page.get_by_role("form", name="Leave feedback")
    feedback.get_by_label("5").check()
    feedback.get_by_label("Comment (optional)").fill("Quick and clear")
    feedback.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_text("Thank you for your feedback (5 of 5).")).to_be_visible()
    after = stack.call("agent-all", "GET", f"/v1/tickets/{ticket['id']}")
    assert after["status"] == "closed" and after["feedback"]["rating"] == 5


def test_customer_answers_still_broken_and_the_escalation_goes_back_to_engineering(page: Page, stack: Api):
    subject = f"Exports still cut at 1000 rows {uuid.uuid4().hex[:6]}"
    ticket = stack.ticket("acme-customer", subject)
    eid = stack.call("agent-all", "POST", f"/v1/tickets/{ticket['id']}/escalations", {"description": "Row limit"})["id"]
    for stage in ("review", "engineering", "verification"):
        _move(stack, eid, stage)
        _until_stage(stack, eid, stage)
    for _ in range(120):  # the ticket stream copies the escalation's summary onto the ticket
        if (stack.call("acme-customer", "GET", f"/v1/tickets/{ticket['id']}")["escalation"] or {}).get("stage") == "verification":
            break

    sign_in(page, stack, CUSTOMER, f"/portal/tickets/{ticket['id']}")
    progress = page.get_by_role("region", name=f"Escalation {eid}")
    current = progress.get_by_role("list", name="Escalation stages").locator('[aria-current="step"]')
    expect(current).to_contain_text("Verification")
    progress.get_by_label("Comment (optional)").fill("Page 2 of the export is still missing")
    progress.get_by_role("button", name="No, still broken").click()
    expect(page.get_by_role("status")).to_have_text("Sent back to engineering")
    expect(current).to_contain_text("Engineering")
    expect(progress.get_by_role("button", name="No, still broken")).to_have_count(0)
    _until_stage(stack, eid, "engineering")
    stages = stack.call("agent-all", "GET", f"/v1/escalations/{eid}")["stages"]
    assert [s["stage"] for s in stages][-2:] == ["verification", "engineering"], stages
