"""How the pages meet the API's refusals: a 429 is retried after Retry-After, a problem+json
field error shows next to the field and the draft stays. The refusals are injected in the
browser (Playwright's routing), the rest is the real stack."""

from __future__ import annotations

import json
import uuid

from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import Api, sign_in


def test_a_throttled_request_is_retried_after_retry_after(page: Page, stack: Api):
    ticket = stack.ticket("acme-customer", f"Throttled {uuid.uuid4().hex[:6]}")
    answered: list[int] = []

    def throttle_once(route: Route) -> None:
        if not answered:
            answered.append(429)
            problem = {"type": "urn:helpdesk:problem:throttled", "title": "Too many requests", "status": 429, "errors": []}
            headers = {"Retry-After": "1", "Content-Type": "application/problem+json"}
            route.fulfill(status=429, headers=headers, body=json.dumps(problem))
        else:
            answered.append(200)
            route.continue_()

    page.route(f"**/v1/tickets/{ticket['id']}/timeline", throttle_once)
    sign_in(page, stack, "Carl Meyer", f"/portal/tickets/{ticket['id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Throttled")
    expect(page.get_by_role("heading", name="Conversation")).to_be_visible()
    assert answered == [429, 200]


def test_a_refused_reply_shows_the_field_error_and_keeps_the_draft(page: Page, stack: Api):
    ticket = stack.ticket("acme-customer", f"Refused {uuid.uuid4().hex[:6]}")
    problem = {
        "type": "urn:helpdesk:problem:validation-failed",
        "title": "Validation failed",
        "status": 422,
        "detail": "body: is empty once unsafe markup is removed",
        "errors": [{"field": "body", "message": "is empty once unsafe markup is removed"}],
    }
    page.route(
        f"**/v1/tickets/{ticket['id']}/comments",
        lambda route: route.fulfill(status=422, content_type="application/problem+json", body=json.dumps(problem)),
    )
    sign_in(page, stack, "Carl Meyer", f"/portal/tickets/{ticket['id']}")
    page.get_by_label("Your reply").fill("<script>only markup</script>")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("form", name="Reply").get_by_role("alert")).to_have_text("is empty once unsafe markup is removed")
    expect(page.get_by_label("Your reply")).to_have_value("<script>only markup</script>")
    page.reload()
    page.get_by_role("button", name="Carl Meyer").click()
    expect(page.get_by_label("Your reply")).to_have_value("<script>only markup</script>")
