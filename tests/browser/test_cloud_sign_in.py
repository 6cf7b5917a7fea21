"""The cloud sign-in (issue 12): Cognito's hosted UI, code flow + PKCE, tokens in memory only.

No stack and no Cognito: the page's files come from web/ through Playwright's routing on a made-up
https origin, and the hosted UI, its token endpoint and the API are answered here, so what the page
sends (the challenge, the state, the verifier, the refresh) is what the test reads.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Page, Route, expect

from devstack.paths import PROJECT_DIR

ORIGIN = "https://helpdesk.test"
AUTH = "https://auth.test"
IDP = "https://cognito-idp.test-1.amazonaws.com/"
CONFIG = {"auth": "cognito", "domain": AUTH, "region": "test-1", "clientId": "client-1", "redirectUri": f"{ORIGIN}/app/"}
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".json": "application/json"}


class CloudWorld:
    """The web files, the hosted UI, the token endpoint and the API, as the page sees them."""

    def __init__(self, page: Page, expires_in: int = 3600) -> None:
        self.authorize: list[dict[str, str]] = []
        self.token_forms: list[dict[str, str]] = []
        self.api_tokens: list[str] = []
        self.idp_calls: list[tuple[str, dict[str, Any]]] = []
        self.expires_in = expires_in
        page.route(f"{ORIGIN}/**", self._site)
        page.route(f"{AUTH}/**", self._auth)
        page.route(IDP, self._idp)

    def _idp(self, route: Route) -> None:
        target = route.request.headers["x-amz-target"].split(".")[-1]
        self.idp_calls.append((target, json.loads(route.request.post_data or "{}")))
        body = {"SecretCode": "JBSWY3DPEHPK3PXP"} if target == "AssociateSoftwareToken" else {"Status": "SUCCESS"}
        cors = {"Access-Control-Allow-Origin": ORIGIN, "Access-Control-Allow-Headers": "content-type,x-amz-target"}
        route.fulfill(status=200, content_type="application/x-amz-json-1.1", headers=cors, body=json.dumps(body))

    def _site(self, route: Route) -> None:
        path = urlsplit(route.request.url).path
        if path.startswith("/v1/"):
            self.api_tokens.append(route.request.headers.get("authorization", ""))
            body: Any = {"id": "sub-1", "name": "Ada Agent", "role": "agent"} if path == "/v1/me" else {"items": []}
            route.fulfill(status=200, content_type="application/json", body=json.dumps(body))
            return
        if path == "/app/config.json":
            route.fulfill(status=200, content_type="application/json", body=json.dumps(CONFIG))
            return
        relative = path.removeprefix("/app/") or "index.html"
        file = PROJECT_DIR / "web" / relative
        if not file.is_file():
            route.fulfill(status=404, body="not found")
            return
        route.fulfill(status=200, content_type=TYPES.get(file.suffix, "application/octet-stream"), body=file.read_bytes())

    def _auth(self, route: Route) -> None:
        url = urlsplit(route.request.url)
        if url.path == "/oauth2/authorize":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            self.authorize.append(query)
            back = f"{query['redirect_uri']}?code=code-{len(self.authorize)}&state={query['state']}"
            route.fulfill(status=302, headers={"Location": back})
        elif url.path == "/oauth2/token":
            form = {k: v[0] for k, v in parse_qs(route.request.post_data or "").items()}
            self.token_forms.append(form)
            n = len(self.token_forms)
            tokens = {"id_token": f"id-{n}", "access_token": f"access-{n}", "expires_in": self.expires_in, "token_type": "Bearer"}
            if form["grant_type"] == "authorization_code":
                tokens["refresh_token"] = "refresh-1"
            route.fulfill(
                status=200,
                content_type="application/json",
                headers={"Access-Control-Allow-Origin": ORIGIN},
                body=json.dumps(tokens),
            )
        else:
            route.fulfill(status=404, body="not found")


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def _sign_in(page: Page, world: CloudWorld) -> None:
    page.goto(f"{ORIGIN}/app/")
    page.get_by_role("button", name="Sign in with your help desk account").click()
    page.get_by_text("Ada Agent (agent)").wait_for()


def test_the_page_sends_an_s256_challenge_of_the_verifier_it_later_redeems_the_code_with(page: Page) -> None:
    world = CloudWorld(page)

    _sign_in(page, world)

    [authorize] = world.authorize
    assert authorize["response_type"] == "code" and authorize["code_challenge_method"] == "S256"
    assert authorize["client_id"] == "client-1" and authorize["redirect_uri"] == f"{ORIGIN}/app/"
    [redeem] = world.token_forms
    assert redeem["grant_type"] == "authorization_code" and redeem["code"] == "code-1"
    assert len(redeem["code_verifier"]) >= 43
    assert _s256(redeem["code_verifier"]) == authorize["code_challenge"]
    assert world.api_tokens[0] == "Bearer id-1"
    assert "code=" not in page.url  # the code left the address bar


def test_tokens_stay_in_memory_never_in_local_or_session_storage(page: Page) -> None:
    world = CloudWorld(page)

    _sign_in(page, world)

    stored = page.evaluate("() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
    assert "id-1" not in stored and "refresh-1" not in stored and "access-1" not in stored
    assert "pkce:pending" not in stored


def test_an_answer_whose_state_was_not_started_here_is_refused_without_redeeming_the_code(page: Page) -> None:
    world = CloudWorld(page)

    page.goto(f"{ORIGIN}/app/?code=stolen&state=forged")

    expect(page.get_by_role("alert")).to_contain_text("state mismatch")
    assert world.token_forms == []
    assert world.api_tokens == []


def test_tokens_are_refreshed_before_they_expire_and_the_api_then_gets_the_new_one(page: Page) -> None:
    world = CloudWorld(page, expires_in=2)  # refreshed at half the lifetime when that is under the margin

    def refreshed(response: Any) -> bool:
        return response.url == f"{AUTH}/oauth2/token" and "grant_type=refresh_token" in (response.request.post_data or "")

    with page.expect_response(refreshed):
        _sign_in(page, world)
    assert world.token_forms[1] == {"grant_type": "refresh_token", "refresh_token": "refresh-1", "client_id": "client-1"}
    with page.expect_request(lambda r: "/v1/" in r.url and r.headers.get("authorization") == "Bearer id-2"):
        page.evaluate("() => { location.hash = '#/views/unassigned'; }")

    delays = page.evaluate(
        "async () => { const c = await import('/app/js/cognito.js'); return [c.refreshDelay(3600), c.refreshDelay(60)]; }"
    )
    assert delays == [3_480_000, 30_000]  # two minutes early, or at half of a short lifetime


def test_a_signed_in_user_sets_up_totp_with_cognitos_user_api_and_their_access_token(page: Page) -> None:
    world = CloudWorld(page)
    _sign_in(page, world)

    page.get_by_role("link", name="Set up MFA").click()
    page.get_by_role("button", name="Get a secret").click()
    expect(page.get_by_text("JBSWY3DPEHPK3PXP")).to_be_visible()
    page.get_by_label("The 6-digit code your app shows").fill("123456")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("status").filter(has_text="MFA is on")).to_be_visible()

    assert world.idp_calls == [
        ("AssociateSoftwareToken", {"AccessToken": "access-1"}),
        ("VerifySoftwareToken", {"AccessToken": "access-1", "UserCode": "123456", "FriendlyDeviceName": "Helpdesk"}),
        (
            "SetUserMFAPreference",
            {"AccessToken": "access-1", "SoftwareTokenMfaSettings": {"Enabled": True, "PreferredMfa": True}},
        ),
    ]
