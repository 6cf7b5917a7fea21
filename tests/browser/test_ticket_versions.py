"""The ticket's version also counts writes no one typed on the page: an escalation made from its
panel and the stage its workflow enters. A property saved after them is saved, not refused as
stale (a real conflict still is: tests/browser/test_agent_workspace.py)."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import Api, sign_in


def test_a_property_saved_after_escalating_and_after_the_workflow_moves_the_stage_is_saved(page: Page, stack: Api):
    ticket = stack.ticket("acme-customer", f"Escalate then edit {uuid.uuid4().hex[:6]}")
    path = f"/v1/tickets/{ticket['id']}"
    sign_in(page, stack, "Alex Rivera", f"/tickets/{ticket['id']}")
    escalation = page.get_by_role("region", name="Escalation")
    escalation.get_by_label("What needs escalating?").fill("Every badge reader is offline")
    escalation.get_by_role("button", name="Escalate").click()
    expect(escalation.get_by_role("list", name="Escalation stages").locator('[aria-current="step"]')).to_contain_text("Submitted")

    page.get_by_label("Priority").select_option("high")
    expect(page.get_by_role("status")).to_have_text("Saved")
    assert stack.call("agent-all", "GET", path)["priority"] == "high"

    version = stack.call("agent-all", "GET", path)["version"]
    escalation.get_by_role("button", name="Move to Review").click()
    for _ in range(120):  # the workflow enters review and writes the ticket's summary (+1 version); bounded polls
        moved = stack.call("agent-all", "GET", path)
        if (moved["escalation"] or {}).get("stage") == "review":
            break
    assert moved["version"] > version
    page.get_by_label("Priority").select_option("urgent")
    expect(page.get_by_role("status")).to_have_text("Saved")
    expect(page.locator("#properties-error")).to_be_empty()  # no "changed this ticket meanwhile"
    assert stack.call("agent-all", "GET", path)["priority"] == "urgent"
