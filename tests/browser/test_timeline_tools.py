"""The agent's timeline tools in Chromium: type tabs and text search ask the API's filters, pin
and delete/restore are saved, collapse hides the bodies; a call is logged and time is tracked;
the link and merge dialogs; a quick-reply template filled in and a CC picked in the reply box."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import Api, sign_in


def test_agent_filters_searches_pins_deletes_restores_logs_a_call_and_tracks_time(page: Page, stack: Api):
    ticket = stack.ticket("acme-customer", f"Timeline tools {uuid.uuid4().hex[:6]}")
    path = f"/v1/tickets/{ticket['id']}"
    stack.call("agent-all", "POST", f"{path}/comments", {"body": "Public answer about the quota"})
    stack.call("agent-all", "POST", f"{path}/comments", {"body": "Internal: see ENG-77", "visibility": "internal"})
    sign_in(page, stack, "Alex Rivera", f"/tickets/{ticket['id']}")
    timeline = page.get_by_role("region", name="Timeline")
    entries = timeline.locator("li.entry")
    expect(entries.filter(has_text="Public answer")).to_be_visible()

    timeline.get_by_role("button", name="Notes", exact=True).click()
    expect(entries.filter(has_text="ENG-77")).to_be_visible()
    expect(entries.filter(has_text="Public answer")).to_have_count(0)
    timeline.get_by_role("button", name="All", exact=True).click()
    timeline.get_by_label("Search", exact=True).fill("quota")
    timeline.get_by_role("button", name="Search", exact=True).click()
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("Public answer about the quota")

    entries.first.get_by_role("button", name="Pin", exact=True).click()
    expect(entries.first.get_by_role("button", name="Unpin")).to_be_visible()
    items = stack.call("agent-all", "GET", f"{path}/timeline")["items"]
    assert [("quota" in (e.get("body") or "")) for e in items if e.get("pinned")] == [True]

    entries.first.get_by_role("button", name="Delete").click()
    expect(entries.filter(has_text="quota")).to_have_count(0)
    assert not [e for e in stack.call("agent-all", "GET", f"{path}/timeline")["items"] if "quota" in (e.get("body") or "")]
    timeline.get_by_label("Search", exact=True).fill("")
    timeline.get_by_role("button", name="Search", exact=True).click()
    timeline.get_by_label("Deleted entries").check()
    entries.filter(has_text="quota").get_by_role("button", name="Restore").click()
    timeline.get_by_label("Deleted entries").uncheck()
    expect(entries.filter(has_text="quota")).to_be_visible()

    timeline.get_by_role("button", name="Collapse all").click()
    expect(entries.filter(has_text="ENG-77").locator(".entry-body")).to_be_hidden()
    timeline.get_by_role("button", name="Expand all").click()
    expect(entries.filter(has_text="ENG-77").locator(".entry-body")).to_be_visible()

    log = page.get_by_role("form", name="Log an activity")
    log.get_by_label("Log a").select_option("call")
    log.get_by_label("Subject").fill("Called Carl back")
    log.get_by_label("Details").fill("He will retry tonight")
    log.get_by_label("Duration (minutes)").fill("5")
    log.get_by_label("Outcome").select_option("connected")
    log.get_by_role("button", name="Log activity").click()
    expect(entries.filter(has_text="Called Carl back")).to_contain_text("Call")
    calls = stack.call("agent-all", "GET", f"{path}/timeline?type=call")["items"]
    assert [(c["subject"], c["visibility"]) for c in calls] == [("Called Carl back", "internal")]
    track = page.get_by_role("form", name="Track time")
    track.get_by_label("Minutes spent").fill("25")
    track.get_by_label("On what").fill("Reproducing")
    track.get_by_role("button", name="Add time").click()
    expect(page.get_by_role("complementary", name="Properties")).to_contain_text("25 min")
    assert stack.call("agent-all", "GET", path)["time_spent_minutes"] == 25


def test_agent_links_a_related_ticket_and_merges_a_duplicate_through_the_dialogs(page: Page, stack: Api):
    tag = uuid.uuid4().hex[:6]
    target = stack.ticket("acme-customer", f"Printer jam {tag}")
    related = stack.ticket("acme-customer", f"Toner low {tag}")
    duplicate = stack.ticket("acme-customer", f"Printer jam again {tag}")
    sign_in(page, stack, "Alex Rivera", f"/tickets/{target['id']}")
    panel = page.get_by_role("region", name="Related tickets")

    panel.get_by_role("button", name="Link ticket…").click()
    dialog = page.get_by_role("dialog", name="Link a related ticket")
    dialog.get_by_label("Ticket ID").fill("no-such-ticket")
    dialog.get_by_role("button", name="Link", exact=True).click()
    expect(dialog.get_by_role("alert")).to_contain_text("no such ticket")
    dialog.get_by_label("Ticket ID").fill(related["id"])
    dialog.get_by_role("button", name="Link", exact=True).click()
    expect(panel.get_by_role("link", name=related["id"])).to_be_visible()
    assert related["id"] in stack.call("agent-all", "GET", f"/v1/tickets/{target['id']}")["links"]

    panel = page.get_by_role("region", name="Related tickets")
    panel.get_by_role("button", name="Merge ticket…").click()
    dialog = page.get_by_role("dialog", name="Merge a ticket into this one")
    dialog.get_by_label("Ticket ID").fill(duplicate["id"])
    dialog.get_by_role("button", name="Merge", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Merged")
    assert stack.call("agent-all", "GET", f"/v1/tickets/{duplicate['id']}")["merged_into"] == target["id"]


def test_a_quick_reply_template_is_filled_in_for_the_ticket_and_the_reply_ccs_a_colleague(page: Page, stack: Api):
    tag = uuid.uuid4().hex[:6]
    ticket = stack.ticket("acme-customer", f"Password reset {tag}")
    template = {"name": f"Reset steps {tag}", "body": "Reset link for #{{ ticket.number }} sent."}
    stack.call("admin", "POST", "/v1/templates", template)
    olivia = next(u for u in stack.call("admin", "GET", "/v1/users?limit=100")["items"] if u["name"] == "Olivia Stone")
    sign_in(page, stack, "Alex Rivera", f"/tickets/{ticket['id']}")
    reply = page.get_by_role("form", name="Reply")
    reply.get_by_label("Template").focus()
    expect(reply.get_by_label("Template").locator("option", has_text=f"Reset steps {tag}")).to_have_count(1)
    reply.get_by_label("Template").select_option(label=f"Reset steps {tag}")
    expect(reply.get_by_label("Reply or note")).to_have_value(f"Reset link for #{ticket['number']} sent.")

    reply.get_by_label("CC").focus()
    expect(reply.get_by_label("CC").locator("option", has_text="Olivia Stone")).to_have_count(1)
    reply.get_by_label("CC").select_option(value=olivia["id"])
    reply.get_by_role("button", name="Send reply").click()
    expect(page.locator(".entry", has_text="Reset link for")).to_be_visible()
    assert olivia["id"] in stack.call("agent-all", "GET", f"/v1/tickets/{ticket['id']}")["cc"]
