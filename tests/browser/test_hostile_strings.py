"""Hostile strings posted through the API (subject, description, comment, a user's name, an
escalation's description and stage note) run no script in the page and show literally. The context
ignores the CSP, so the rendering itself is what keeps them inert, not the header."""

from __future__ import annotations

import uuid

from playwright.sync_api import Browser, expect

from tests.browser.conftest import Api, sign_in

HOSTILE = [
    "<script>window.__xss = 1</script>",
    '<img src=x onerror="window.__xss = 2; alert(2)">',
    '"><svg onload="window.__xss = 3">',
    "javascript:alert(4)",
    '<a href="javascript:window.__xss = 5">x</a>',
    "</textarea><script>window.__xss = 6</script>",
    "{{constructor.constructor('window.__xss = 7')()}}",
    '<iframe srcdoc="<script>parent.__xss = 8</script>"></iframe>',
    "<style>*{display:none}</style>",
]


def test_hostile_strings_run_no_script_and_show_literally(browser: Browser, stack: Api):
    tag = uuid.uuid4().hex[:6]
    subject = f"{tag} {HOSTILE[0]} {HOSTILE[1]} {HOSTILE[2]}"
    organizations = stack.call("admin", "GET", "/v1/organizations")["items"]
    acme = next(o for o in organizations if o["name"] == "Acme Corp")
    name = f'<img src=x onerror="window.__xss = 9">{tag}'
    user = stack.call(
        "admin",
        "POST",
        "/v1/users",
        {"name": name, "email": f"eve-{tag}@acme.example", "role": "customer", "organization_id": acme["id"]},
    )
    ticket = stack.ticket("agent-all", subject, " ".join(HOSTILE), requester_id=user["id"])
    for number, body in enumerate(HOSTILE):
        # Text around the markup: a body that is empty once sanitized is refused (422).
        stack.call("agent-all", "POST", f"/v1/tickets/{ticket['id']}/comments", {"body": f"comment {number}: {body} end"})
    escalation = stack.call(
        "agent-all", "POST", f"/v1/tickets/{ticket['id']}/escalations", {"description": f"desc {HOSTILE[1]} end"}
    )
    move = {"to": "review", "note": f"note {HOSTILE[5]} end"}
    stack.call("agent-all", "POST", f"/v1/escalations/{escalation['id']}/transitions", move)
    for _ in range(120):  # the workflow applies the move, the ticket stream copies it onto the ticket (bounded polls)
        if (stack.call("agent-all", "GET", f"/v1/tickets/{ticket['id']}")["escalation"] or {}).get("stage") == "review":
            break

    context = browser.new_context(bypass_csp=True, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        sign_in(page, stack, "Alex Rivera", "/views/all")
        row = page.locator("tr", has_text=tag)
        expect(row.get_by_role("link")).to_have_text(subject)
        expect(row).to_contain_text(name)
        row.get_by_role("link").click()
        expect(page.locator("h1 .subject")).to_have_text(subject)
        expect(page.locator(".entry", has_text="comment 0:")).to_be_visible()
        expect(page.locator(".entry", has_text="{{constructor.constructor('window.__xss = 7')()}}")).to_be_visible()
        expect(page.get_by_role("complementary", name="Properties")).to_contain_text(name)
        panel = page.get_by_role("region", name="Escalation")
        panel.get_by_role("button", name="Stage history").click()
        # Stored as the API's sanitized HTML: the markup is gone, the text around it stays.
        expect(panel.locator(".escalation-description")).to_contain_text("desc")
        expect(panel.locator(".stage-note").last).to_contain_text("note")
        expect(panel.locator(".stage-note").last).to_contain_text("end")
        assert page.evaluate("() => window.__xss") is None and not dialogs
        assert page.locator("main script, main iframe, main img, main svg, main style").count() == 0
        assert page.locator("main [onerror], main [onload], main a[href^=javascript]").count() == 0
    finally:
        context.close()
