"""The agent ticket page's remaining tools in Chromium, on one page load: the reply box starts as
the admin's default reply type (an internal note, yellow), "@" offers the agents and the chosen one
is notified; the timeline filtered by person and by team; a comment on an entry (sanitized HTML);
a property's own history; a logged call's duration and outcome edited."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import Api, axe_violations, screenshots, sign_in
from tests.browser.test_agent_workspace import NOTE_YELLOW


def _user(stack: Api, name: str) -> dict:
    return next(u for u in stack.call("admin", "GET", "/v1/users?limit=100")["items"] if u["name"] == name)


def test_agent_notifies_filters_comments_on_an_entry_reads_a_property_history_and_edits_a_call(page: Page, stack: Api):
    ticket = stack.ticket("acme-customer", f"Reset mail never arrives {uuid.uuid4().hex[:6]}")
    path = f"/v1/tickets/{ticket['id']}"
    support = next(t for t in stack.call("admin", "GET", "/v1/teams?limit=100")["items"] if t["name"] == "Support")
    stack.call("agent-all", "PATCH", path, {"team_id": support["id"]})  # Taylor (Support team) sees it too
    stack.call("agent-team", "POST", f"{path}/comments", {"body": "Mail logs attached", "visibility": "internal"})
    stack.call("agent-all", "POST", f"{path}/comments", {"body": "Public answer about the reset"})
    call = {"type": "call", "subject": "Called Carl back", "duration_seconds": 300, "outcome": "connected"}
    stack.call("agent-all", "POST", f"{path}/activities", call)
    taylor = _user(stack, "Taylor Brooks")
    stack.call("admin", "PUT", "/v1/settings", {"default_reply_visibility": "internal"})
    try:
        sign_in(page, stack, "Alex Rivera", f"/tickets/{ticket['id']}")
        reply = page.get_by_role("form", name="Reply")
        expect(reply.get_by_label("Internal note")).to_be_checked()
        expect(reply).to_have_css("background-color", NOTE_YELLOW)
    finally:
        stack.call("admin", "PUT", "/v1/settings", {"default_reply_visibility": "public"})

    # @notify: "@" offers the agents; Enter chooses the highlighted one.
    text = reply.get_by_label("Reply or note")
    text.focus()
    page.keyboard.type("Please check the bounce @Tay")
    expect(page.get_by_role("listbox", name="Agents to notify").get_by_role("option", name="Taylor Brooks")).to_be_visible()
    page.keyboard.press("Enter")
    expect(text).to_have_value("Please check the bounce @Taylor Brooks ")
    expect(reply).to_contain_text("Notify: Taylor Brooks")
    reply.get_by_role("button", name="Add note").click()
    timeline = page.get_by_role("region", name="Timeline")
    entries = timeline.locator("li.entry")
    expect(entries.filter(has_text="Please check the bounce")).to_be_visible()
    notes = stack.call("agent-all", "GET", f"{path}/timeline?type=note")["items"]
    assert [n["notify"] for n in notes if "bounce" in n["body"]] == [[taylor["id"]]]

    # The timeline by person, then by team (the pickers are filled on first focus).
    timeline.get_by_label("By", exact=True).focus()
    expect(timeline.get_by_label("By", exact=True).locator("option", has_text="Taylor Brooks")).to_have_count(1)
    timeline.get_by_label("By", exact=True).select_option(label="Taylor Brooks")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("Mail logs attached")
    expect(entries.first.locator(".entry-head")).to_contain_text("Taylor Brooks")  # named from the directory now loaded
    timeline.get_by_label("By", exact=True).select_option(value="")
    timeline.get_by_label("Team", exact=True).focus()
    expect(timeline.get_by_label("Team", exact=True).locator("option", has_text="Engineering")).to_have_count(1)
    timeline.get_by_label("Team", exact=True).select_option(label="Engineering")  # Alex's team, not Taylor's
    expect(entries.filter(has_text="Public answer about the reset")).to_be_visible()
    expect(entries.filter(has_text="Mail logs attached")).to_have_count(0)
    timeline.get_by_label("Team", exact=True).select_option(value="")
    expect(entries.filter(has_text="Mail logs attached")).to_be_visible()

    # A comment on an entry: its thread shows the API's sanitized HTML, no script runs.
    answer = entries.filter(has_text="Public answer about the reset")
    answer.locator("summary", has_text="Add a comment").click()
    answer.get_by_label("Your comment").fill("<b>Confirmed</b> with the customer<img src=x onerror=window.pwned=1>")
    answer.get_by_role("button", name="Comment", exact=True).click()
    thread = answer.get_by_role("list", name="Comments on this entry")
    expect(thread).to_contain_text("Confirmed with the customer")
    expect(thread.locator("b, strong", has_text="Confirmed")).to_have_count(1)
    expect(answer.locator("summary")).to_have_text("Comments (1)")
    assert page.evaluate("window.pwned") is None
    commented = [e for e in stack.call("agent-all", "GET", f"{path}/timeline")["items"] if "Public answer" in (e["body"] or "")]
    assert ["Confirmed" in c["body"] for c in commented[0]["comments"]] == [True]

    # A property's own history.
    properties = page.get_by_role("complementary", name="Properties")
    properties.get_by_label("Priority", exact=True).select_option("urgent")
    expect(page.get_by_role("status")).to_have_text("Saved")
    properties.get_by_role("button", name="Priority history").click()
    changes = properties.get_by_role("list", name="Priority changes")
    expect(changes.locator("li").first).to_contain_text(f"{ticket['priority']} → urgent · You")
    recorded = stack.call("agent-all", "GET", f"{path}/history?property=priority")["items"]
    expect(changes.locator("li")).to_have_count(len(recorded))
    assert {c["property"] for c in recorded} == {"priority"}, recorded

    # A logged call's own fields edited (the API keeps the revision).
    logged = entries.filter(has_text="Called Carl back")
    expect(logged).to_contain_text("5 min · Connected")
    logged.get_by_role("button", name="Edit").click()
    edit = logged.get_by_role("form", name="Edit this call")
    edit.get_by_label("Duration (minutes)").fill("12")
    edit.get_by_label("Outcome").select_option("busy")
    edit.get_by_role("button", name="Save changes").click()
    expect(logged).to_contain_text("12 min · Busy")
    calls = stack.call("agent-all", "GET", f"{path}/timeline?type=call")["items"]
    assert [(c["fields"]["duration_seconds"], c["fields"]["outcome"]) for c in calls] == [(720, "busy")]

    assert axe_violations(page) == []
    screenshots(page, "ticket-tools")  # the history box and an entry's thread open
