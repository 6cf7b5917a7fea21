"""The admin pages in Chromium: an admin builds business hours (a split shift, a holiday and a
range) and a routing rule, and a new ticket lands in the rule's team; a stale save offers to
reload and re-apply; what is typed survives a reload; every admin page passes axe-core, with
screenshots at 360 and 1440 px; a pipeline made, reordered and deleted in its page, and the statuses
page naming each status's pipelines; the XSS corpus stored in every name and description the admin
pages show runs no script there and reads literally."""

from __future__ import annotations

import uuid

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Api, axe_violations, screenshots, sign_in
from tests.browser.test_hostile_strings import HOSTILE
from tests.workflows.stack import wait_for

ADMIN = "Dana Admin"
SECTIONS = {
    "teams": "Teams",
    "users": "Users",
    "organizations": "Organizations",
    "statuses": "Statuses",
    "pipelines": "Pipelines",
    "business-hours": "Business hours",
    "sla-policies": "SLA policies",
    "routing-rules": "Routing rules",
    "automations": "Automations",
    "templates": "Templates",
    "webhooks": "Webhooks",
}


def _by_name(stack: Api, path: str, name: str) -> dict:
    items = stack.call("admin", "GET", path if path == "/v1/routing-rules" else f"{path}?limit=100")["items"]
    return next(item for item in items if item["name"] == name)


def _new(page: Page, section: str, singular: str, fields: dict[str, str]) -> None:
    """Open `section`'s "New <singular>" form and type `fields` (label: text, or "=option" for a menu)."""
    page.get_by_role("navigation", name="Admin").get_by_role("link", name=section, exact=True).click()
    page.get_by_role("link", name=f"New {singular}").click()
    _fill(page, fields)


def _fill(page: Page, fields: dict[str, str]) -> None:
    for label, value in fields.items():
        control = page.get_by_label(label, exact=True)
        if value.startswith("="):
            control.select_option(label=value[1:])
        else:
            control.fill(value)


def _create(page: Page, section: str, singular: str, fields: dict[str, str]) -> None:
    """`_new`, then create it: the list shows it (by the first field's text)."""
    _new(page, section, singular, fields)
    page.get_by_role("button", name=f"Create {singular}").click()
    expect(page.get_by_role("link", name=next(iter(fields.values())), exact=True)).to_be_visible()


def test_business_hours_and_a_routing_rule_made_in_the_admin_pages_route_a_new_ticket_to_the_team(page: Page, stack: Api):
    tag = uuid.uuid4().hex[:6]
    sign_in(page, stack, ADMIN, "/admin/teams")
    _create(page, "Teams", "team", {"Name": f"Printers {tag}"})

    _new(page, "Business hours", "business hours", {"Name": f"Berlin office {tag}", "Time zone (IANA)": "Europe/Berlin"})
    page.get_by_role("button", name="Add a Monday shift").click()
    page.get_by_label("Monday shift 1 start").fill("09:00")
    page.get_by_label("Monday shift 1 end").fill("12:60")
    page.get_by_role("button", name="Add a Monday shift").click()
    page.get_by_label("Monday shift 2 start").fill("13:00")
    page.get_by_label("Monday shift 2 end").fill("17:00")
    page.get_by_role("button", name="Add holiday").click()
    page.get_by_label("Holiday 1 date").fill("2026-12-25")
    page.get_by_label("Holiday 1 name").fill("Christmas")
    page.get_by_role("button", name="Add holiday").click()
    page.get_by_label("Holiday 2 kind").select_option("range")
    page.get_by_label("Holiday 2 first day").fill("2026-12-28")
    page.get_by_label("Holiday 2 last day").fill("2026-12-31")
    page.get_by_role("button", name="Create business hours").click()
    # The API's 422 names weekly.mon[0][1]: the message stands on Monday's row, nothing is created.
    expect(page.locator("#hours-mon-error")).not_to_be_empty()
    expect(page.get_by_label("Monday shift 1 end")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Monday shift 1 end").fill("12:00")
    page.get_by_role("button", name="Create business hours").click()
    expect(page.get_by_role("link", name=f"Berlin office {tag}")).to_be_visible()

    hours = _by_name(stack, "/v1/business-hours", f"Berlin office {tag}")
    assert hours["timezone"] == "Europe/Berlin"
    assert hours["weekly"]["mon"] == [["09:00", "12:00"], ["13:00", "17:00"]]
    assert hours["weekly"]["tue"] == []
    assert hours["holidays"] == [{"date": "2026-12-25", "name": "Christmas"}, {"start": "2026-12-28", "end": "2026-12-31"}]

    rule_fields = {
        "Name": f"Printers to printers {tag}",
        "Team": f"=Printers {tag}",
        "Subject contains (any of, comma-separated)": f"toner{tag}",
    }
    _create(page, "Routing rules", "routing rule", rule_fields)

    team = _by_name(stack, "/v1/teams", f"Printers {tag}")
    rule = _by_name(stack, "/v1/routing-rules", f"Printers to printers {tag}")
    assert rule["team_id"] == team["id"] and rule["conditions"]["subject_contains"] == [f"toner{tag}"]
    ticket = stack.ticket("acme-customer", f"Out of toner{tag} on floor 2")
    routed = wait_for(
        lambda: stack.call("admin", "GET", f"/v1/tickets/{ticket['id']}").get("team_id") == team["id"],
        timeout=60,
        what="the new ticket routed to the team",
    )
    assert routed


def test_a_stale_admin_save_reloads_and_reapplies_and_a_draft_survives_a_reload(page: Page, stack: Api):
    tag = uuid.uuid4().hex[:6]
    hostile = f"<img src=x onerror=alert(1)> Billing {tag}"
    team = stack.call("admin", "POST", "/v1/teams", {"name": hostile, "description": "old"})
    sign_in(page, stack, ADMIN, f"/admin/teams/{team['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(hostile)  # an API string, shown as text
    page.get_by_label("Description").fill("Invoices and refunds")

    page.reload()
    page.get_by_role("button", name=ADMIN).click()
    expect(page.get_by_label("Description")).to_have_value("Invoices and refunds")
    expect(page.get_by_text("Your unsaved changes were restored")).to_be_visible()

    stack.call("admin", "PATCH", f"/v1/teams/{team['id']}", {"name": f"Billing {tag}"}, {"If-Match": f'"{team["version"]}"'})
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("changed this team meanwhile")
    assert stack.call("admin", "GET", f"/v1/teams/{team['id']}")["description"] == "old"
    page.get_by_role("button", name="Reload and re-apply my changes").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value(f"Billing {tag}")
    expect(page.get_by_label("Description")).to_have_value("Invoices and refunds")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("link", name=f"Billing {tag}")).to_be_visible()
    saved = stack.call("admin", "GET", f"/v1/teams/{team['id']}")
    assert (saved["name"], saved["description"]) == (f"Billing {tag}", "Invoices and refunds")


def _open(page: Page, path: str) -> None:
    """A hash route in the open page (a reload would sign out: the token lives in memory)."""
    page.evaluate("path => { window.location.hash = path; }", path)


def test_every_admin_page_passes_axe_and_a_webhook_secret_is_shown_once(page: Page, stack: Api):
    sign_in(page, stack, ADMIN)
    page.get_by_role("link", name="Admin", exact=True).click()
    for key, title in SECTIONS.items():
        _open(page, f"/admin/{key}")
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        expect(page.locator("table.admin-list tbody tr").first).to_be_visible()
        assert axe_violations(page) == [], key
        if key in ("teams", "users"):
            screenshots(page, f"admin-{key}")
    for key, heading, shot in (
        ("business-hours", "New business hours", "admin-business-hours-form"),
        ("sla-policies", "New SLA policy", None),
        ("routing-rules", "New routing rule", "admin-routing-rule-form"),
        ("users", "New user", None),
        ("automations", "New automation", None),
    ):
        _open(page, f"/admin/{key}/new")
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        if key == "business-hours":
            page.get_by_role("button", name="Add a Friday shift").click()
            page.get_by_role("button", name="Add holiday").click()
        assert axe_violations(page) == [], key
        if shot:
            screenshots(page, shot)

    _open(page, "/admin/webhooks/new")
    page.get_by_label("URL (https)").fill("https://93.184.215.14/helpdesk")
    page.get_by_label("Events (comma-separated; * for all)").fill("feedback.received")
    page.get_by_label("Active").uncheck()
    page.get_by_role("button", name="Create webhook").click()
    secret = page.locator("#webhook-secret")
    expect(secret).not_to_be_empty()
    assert axe_violations(page) == []
    screenshots(page, "admin-webhook-created")
    shown = secret.text_content()
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
    expect(page.locator("#webhook-secret")).to_have_count(0)
    assert shown not in (page.content() or "")


def test_a_pipeline_is_made_reordered_and_deleted_in_its_page_and_statuses_name_their_pipelines(page: Page, stack: Api):
    tag = uuid.uuid4().hex[:6]
    status = stack.call("admin", "POST", "/v1/statuses", {"name": f"vendor_{tag}", "category": "pending"})
    listed = stack.call(
        "admin", "POST", "/v1/pipelines", {"id": f"fleet-{tag}", "name": f"Fleet {tag}", "statuses": [status["id"], "open"]}
    )
    sign_in(page, stack, ADMIN, "/admin/pipelines")
    _new(page, "Pipelines", "pipeline", {"Id (lowercase letters, digits, _ and -)": f"hw-{tag}", "Name": f"Hardware {tag}"})
    statuses = page.get_by_role("group", name="Statuses (in order; at least one open)")
    statuses.get_by_label("open (open)", exact=True).check()
    statuses.get_by_label(f"vendor_{tag} (pending)", exact=True).check()
    page.get_by_role("button", name="Create pipeline").click()
    expect(page.get_by_role("link", name=f"Hardware {tag}", exact=True)).to_be_visible()
    assert stack.call("admin", "GET", f"/v1/pipelines/hw-{tag}")["statuses"] == ["open", status["id"]]

    # The statuses page names every pipeline a status is in (the default one has them all).
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Statuses", exact=True).click()
    row = page.locator("tr", has=page.get_by_role("link", name=f"vendor_{tag}", exact=True))
    expect(row.locator('td[data-label="Pipelines"]')).to_contain_text(f"Fleet {tag}, Hardware {tag}")
    builtin = page.locator("tr", has=page.get_by_role("link", name="resolved", exact=True))
    expect(builtin.locator('td[data-label="Pipelines"]')).to_contain_text("Default")

    # A pipeline's form lists its statuses first, in its order; a status checked is added after them.
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Pipelines", exact=True).click()
    page.get_by_role("link", name=f"Fleet {tag}", exact=True).click()
    boxes = page.get_by_role("group", name="Statuses (in order; at least one open)").get_by_role("checkbox")
    expect(boxes.nth(0)).to_be_checked()
    expect(boxes.nth(1)).to_be_checked()
    expect(boxes.nth(2)).not_to_be_checked()
    page.get_by_label("resolved (resolved)", exact=True).check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("link", name=f"Fleet {tag}", exact=True)).to_be_visible()
    saved = stack.call("admin", "GET", f"/v1/pipelines/{listed['id']}")
    assert saved["statuses"] == [status["id"], "open", "resolved"]

    page.get_by_role("link", name=f"Hardware {tag}", exact=True).click()
    page.get_by_role("button", name="Delete pipeline").click()
    page.get_by_role("button", name="Yes, delete").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pipelines")
    expect(page.get_by_role("link", name=f"Fleet {tag}", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=f"Hardware {tag}", exact=True)).to_have_count(0)
    assert f"hw-{tag}" not in [p["id"] for p in stack.call("admin", "GET", "/v1/pipelines?limit=100")["items"]]

    # The default pipeline is built in: its form has nothing to save or delete.
    _open(page, "/admin/pipelines/default")
    expect(page.get_by_text("This pipeline is built in")).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_be_disabled()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete pipeline")).to_have_count(0)
    assert axe_violations(page) == []


def _hostile_directory(stack: Api, tag: str) -> dict[str, tuple[str, str]]:
    """One item per admin collection, its names and descriptions from the XSS corpus: the page's
    section and the item's id -> the texts the API stored (what the pages must show literally)."""
    corpus = [f"{tag} {text} end" for text in HOSTILE]
    at = iter(range(100))

    def hostile() -> str:
        return corpus[next(at) % len(corpus)]

    none_match = {"tags": [f"never-{tag}"]}  # the SLA policy and the routing rule apply to no ticket
    team = stack.call("admin", "POST", "/v1/teams", {"name": hostile(), "description": hostile()})
    made = {
        "teams": team,
        "users": stack.call(
            "admin",
            "POST",
            "/v1/users",
            {"name": hostile(), "email": f"xss-{tag}@example.com", "role": "agent", "team_ids": [team["id"]]},
        ),
        "organizations": stack.call("admin", "POST", "/v1/organizations", {"name": hostile()}),
        "pipelines": stack.call("admin", "POST", "/v1/pipelines", {"id": f"xss-{tag}", "name": hostile(), "statuses": ["open"]}),
        "business-hours": stack.call(
            "admin", "POST", "/v1/business-hours", {"name": hostile(), "timezone": "UTC", "weekly": {"mon": [["09:00", "17:00"]]}}
        ),
        "sla-policies": stack.call(
            "admin",
            "POST",
            "/v1/sla-policies",
            {"name": hostile(), "conditions": none_match, "targets": {"normal": {"first_response_minutes": 60}}},
        ),
        "routing-rules": stack.call(
            "admin", "POST", "/v1/routing-rules", {"name": hostile(), "team_id": team["id"], "conditions": none_match}
        ),
        "automations": stack.call(
            "admin",
            "POST",
            "/v1/automations",
            {
                "name": hostile(),
                "active": False,
                "trigger": {"event": "ticket.created"},
                "actions": [{"type": "add_tags", "tags": ["x"]}],
            },
        ),
        "templates": stack.call("admin", "POST", "/v1/templates", {"name": hostile(), "body": f"{tag} {HOSTILE[1]} body"}),
        "webhooks": stack.call(
            "admin",
            "POST",
            "/v1/webhooks",
            {"url": f'https://93.184.215.14/{tag}?q="><svg/onload=window.__xss=10>', "events": ["*"], "active": False},
        ),
    }
    return {key: (item["id"], item.get("name") or item["url"]) for key, item in made.items()}


def test_the_xss_corpus_in_every_admin_name_and_description_runs_no_script_and_reads_literally(browser: Browser, stack: Api):
    tag = uuid.uuid4().hex[:6]
    items = _hostile_directory(stack, tag)
    team = stack.call("admin", "GET", f"/v1/teams/{items['teams'][0]}")
    template = stack.call("admin", "GET", f"/v1/templates/{items['templates'][0]}")
    # The CSP would stop an inline script anyway: without it, only the rendering keeps them inert.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        sign_in(page, stack, ADMIN)
        for key, (item_id, text) in items.items():
            _open(page, f"/admin/{key}")
            expect(page.get_by_role("heading", level=1)).to_have_text(SECTIONS[key])
            expect(page.locator("table.admin-list a", has_text=tag)).to_have_text(text)
            if key == "teams":
                expect(page.locator("tr", has_text=tag).locator('td[data-label="Description"]')).to_have_text(team["description"])
            if key == "templates":
                expect(page.locator("tr", has_text=tag).locator('td[data-label="Body"]')).to_have_text(template["body"])
            _open(page, f"/admin/{key}/{item_id}")
            expect(page.get_by_role("heading", level=1)).to_have_text(text)
            field = page.get_by_label("URL (https)" if key == "webhooks" else "Name", exact=True)
            expect(field).to_have_value(text)
            if key == "users":  # the team's name as a checkbox label in the user's form
                expect(page.get_by_role("group", name="Teams").get_by_label(team["name"], exact=True)).to_be_checked()
            assert page.evaluate("() => window.__xss") is None and not dialogs, key
            assert page.locator("main script, main iframe, main img, main svg, main style").count() == 0, key
            assert page.locator("main [onerror], main [onload], main a[href^=javascript]").count() == 0, key
    finally:
        context.close()
