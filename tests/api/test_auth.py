"""Authentication: the JWT authorizer in front of every route (local HS256 and Cognito RS256) and the token CLI."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import jwt
import pytest
from chalice.test import Client
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app import app
from chalicelib import cli, composition, tokens
from chalicelib.api.manifest import all_routes
from chalicelib.api.routing import RouteSpec
from tests.api.conftest import ApiUser
from tests.conftest import SECRET, table_definition

ROUTES = all_routes()
PUBLIC = {("GET", "/health"), ("GET", "/openapi.json"), ("GET", "/docs")}
AUTHENTICATED = [spec for spec in ROUTES if not spec.public]
PROBE = "/v1/tickets"  # a route every role may call: a 401 there can only come from authentication


# -- helpers -------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def local_claims(**overrides: Any) -> dict[str, Any]:
    """Claims of a valid local token; an override of None removes the claim."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": tokens.LOCAL_ISSUER,
        "aud": tokens.LOCAL_AUDIENCE,
        "iat": now,
        "exp": now + 3600,
        "sub": "someone",
        "role": "agent",
        "name": "Some One",
        "email": "someone@example.com",
        "teams": ["support"],
        "access": "team",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def hs256(claims: dict[str, Any], secret: str = SECRET, **kw: Any) -> str:
    return jwt.encode(claims, secret, algorithm=kw.pop("algorithm", "HS256"), **kw)


def unsigned(claims: dict[str, Any], alg: str = "none", **header: Any) -> str:
    """A token with `alg: none` and an empty signature, built by hand (PyJWT refuses to)."""
    return f"{b64json({'alg': alg, 'typ': 'JWT', **header})}.{b64json(claims)}."


def hmac_signed(claims: dict[str, Any], key: bytes, **header: Any) -> str:
    """An HS256 token signed with arbitrary key bytes (PyJWT refuses PEM keys as HMAC secrets)."""
    signing_input = f"{b64json({'alg': 'HS256', 'typ': 'JWT', **header})}.{b64json(claims)}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "dummy-id", path)


def call(client: Client, method: str, path: str, authorization: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    body = b"" if method in ("GET", "DELETE") else b"{}"
    return client.http.request(method, path, headers=headers, body=body)


def assert_problem_401(response: Any) -> None:
    assert response.status_code == 401, response.body
    assert response.headers.get("Content-Type", "").startswith("application/problem+json"), response.headers
    problem = json.loads(response.body)
    assert problem["status"] == 401
    assert problem["type"]
    assert problem["title"]


def route_id(spec: RouteSpec) -> str:
    return f"{spec.method} {spec.path}"


@contextlib.contextmanager
def mocked_gateway(stage: str = "local") -> Iterator[Client]:
    """Like the `client` fixture, but shareable by a class of tests whose requests must all be refused.

    Refused requests never reach DynamoDB; the (mocked) table is there so that a route which wrongly
    lets a request through answers a plain non-401 instead of reaching for real AWS.
    """
    from moto import mock_aws

    with mock_aws():
        boto3.client("dynamodb").create_table(**table_definition())
        composition.reset()
        try:
            with Client(app, stage_name=stage) as test_client:
                yield test_client
        finally:
            composition.reset()


# -- which routes are public ---------------------------------------------------------


def test_only_health_openapi_and_docs_are_public_in_the_route_table() -> None:
    assert {(spec.method, spec.path) for spec in ROUTES if spec.public} == PUBLIC


def test_every_registered_chalice_route_is_in_the_route_table_and_guarded_by_jwt_auth() -> None:
    table = {(spec.method, spec.path): spec for spec in ROUTES}
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            assert (method, path) in table, f"{method} {path} bypasses the route table"
            if (method, path) in PUBLIC:
                assert entry.authorizer is None
            else:
                assert entry.authorizer is not None, f"{method} {path} has no authorizer"
                assert entry.authorizer.name == "jwt_auth", f"{method} {path} uses {entry.authorizer.name}"


@pytest.mark.parametrize("path", sorted(path for _, path in PUBLIC))
def test_public_route_answers_200_without_a_token(client: Client, path: str) -> None:
    response = client.http.get(path)
    assert response.status_code == 200, response.body


def test_openapi_document_is_served_without_a_token(client: Client) -> None:
    document = json.loads(client.http.get("/openapi.json").body)
    assert document["openapi"].startswith("3.")
    assert "/v1/tickets" in document["paths"]


# -- data for the refusal tests ---------------------------------------------------


def valid_token() -> str:
    return tokens.mint_local_token(sub="valid-user", role="agent", secret=SECRET, teams=["support"])


HOUR = 3600
RANDOM_BYTES = bytes(range(33, 127)).decode() + bytes(range(160, 256)).decode("latin-1")
OTHER_SECRET = "another-secret-entirely-0123456789-abcdef"

MALFORMED_HEADERS: dict[str, Callable[[], str]] = {
    "empty": lambda: "",
    "bearer-without-token": lambda: "Bearer",
    "bearer-with-blank-token": lambda: "Bearer    ",
    "basic-abc": lambda: "Basic abc",
    "basic-credentials": lambda: "Basic " + base64.b64encode(b"admin:admin").decode(),
    "bearer-not-a-jwt": lambda: "Bearer not.a.jwt",
    "bearer-two-segments": lambda: "Bearer abc.def",
    "bearer-random-bytes": lambda: "Bearer " + RANDOM_BYTES,
    "random-bytes": lambda: RANDOM_BYTES,
    "valid-token-without-scheme": valid_token,
    "valid-token-with-other-scheme": lambda: f"Token {valid_token()}",
    "valid-token-twice": lambda: f"Bearer {valid_token()} {valid_token()}",
    "valid-token-with-garbage-signature": lambda: "Bearer " + valid_token()[:-6] + "AAAAAA",
}


def _tampered_payload() -> str:
    header, _, signature = valid_token().split(".")
    return f"{header}.{b64json(local_claims(role='admin'))}.{signature}"


INVALID_LOCAL_TOKENS: dict[str, Callable[[], str]] = {
    "expired": lambda: hs256(local_claims(iat=int(time.time()) - 2 * HOUR, exp=int(time.time()) - HOUR)),
    "expired-minted-by-the-app": lambda: tokens.mint_local_token(
        sub="late", role="agent", secret=SECRET, ttl_seconds=60, now=time.time() - HOUR
    ),
    "other-secret": lambda: hs256(local_claims(), secret=OTHER_SECRET),
    "wrong-audience": lambda: hs256(local_claims(aud="some-other-api")),
    "wrong-issuer": lambda: hs256(local_claims(iss="https://evil.example.com")),
    "alg-none": lambda: unsigned(local_claims()),
    "alg-None": lambda: unsigned(local_claims(), alg="None"),
    "alg-none-with-original-signature": lambda: unsigned(local_claims()) + valid_token().rsplit(".", 1)[1],
    "alg-hs512-with-right-secret": lambda: hs256(local_claims(), algorithm="HS512"),
    "payload-tampered": _tampered_payload,
    "missing-sub": lambda: hs256(local_claims(sub=None)),
    "empty-sub": lambda: hs256(local_claims(sub="")),
    "sub-not-a-string": lambda: hs256(local_claims(sub=123)),
    "blank-sub": lambda: hs256(local_claims(sub="   ")),
    "sub-not-an-id": lambda: hs256(local_claims(sub="../users/admin-1")),
    "sub-longer-than-an-id": lambda: hs256(local_claims(sub="u" * 129)),
    "missing-exp": lambda: hs256(local_claims(exp=None)),
    "missing-aud": lambda: hs256(local_claims(aud=None)),
    "missing-iss": lambda: hs256(local_claims(iss=None)),
    "not-yet-valid": lambda: hs256(local_claims(nbf=int(time.time()) + HOUR)),
    "unknown-role": lambda: hs256(local_claims(role="superuser")),
    "missing-role": lambda: hs256(local_claims(role=None)),
    "unknown-access": lambda: hs256(local_claims(access="everything")),
    "teams-not-a-list": lambda: hs256(local_claims(teams={"support": True})),
}


class TestRefusedRequests:
    """Requests that must stop at the authorizer; they share one gateway, as none may touch state."""

    @pytest.fixture(scope="class")
    def gateway(self) -> Iterator[Client]:
        with mocked_gateway() as test_client:
            yield test_client

    # Every authenticated route, so that a new route cannot ship unauthenticated.

    @pytest.mark.parametrize("spec", AUTHENTICATED, ids=route_id)
    def test_authenticated_route_answers_401_without_a_token(self, gateway: Client, spec: RouteSpec) -> None:
        response = call(gateway, spec.method, concrete(spec.path))
        assert response.status_code == 401, response.body

    @pytest.mark.parametrize("spec", AUTHENTICATED, ids=route_id)
    def test_authenticated_route_answers_401_problem_to_a_token_signed_with_another_secret(
        self, gateway: Client, spec: RouteSpec
    ) -> None:
        token = hs256(local_claims(role="admin"), secret=OTHER_SECRET)
        assert_problem_401(call(gateway, spec.method, concrete(spec.path), f"Bearer {token}"))

    # Malformed Authorization headers.

    @pytest.mark.parametrize("make_header", MALFORMED_HEADERS.values(), ids=MALFORMED_HEADERS.keys())
    def test_malformed_authorization_header_is_rejected_with_401_problem(
        self, gateway: Client, make_header: Callable[[], str]
    ) -> None:
        assert_problem_401(call(gateway, "GET", PROBE, make_header()))

    def test_malformed_authorization_header_is_rejected_on_writes_too(self, gateway: Client) -> None:
        assert_problem_401(call(gateway, "POST", PROBE, "Bearer not.a.jwt"))

    # Tokens that parse but must not be trusted.

    @pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS512 with the 41-byte test secret
    @pytest.mark.parametrize("make_token", INVALID_LOCAL_TOKENS.values(), ids=INVALID_LOCAL_TOKENS.keys())
    def test_untrustworthy_local_token_is_rejected_with_401_problem(self, gateway: Client, make_token: Callable[[], str]) -> None:
        assert_problem_401(call(gateway, "GET", PROBE, f"Bearer {make_token()}"))

    def test_expired_token_is_rejected_with_401(self, gateway: Client) -> None:
        token = tokens.mint_local_token(sub="late", role="admin", secret=SECRET, ttl_seconds=60, now=time.time() - 120)
        assert_problem_401(call(gateway, "GET", "/v1/users", f"Bearer {token}"))


# -- valid tokens ------------------------------------------------------------------


def as_user(gateway: Client, sub: str, role: str, **claims: Any) -> ApiUser:
    return ApiUser(gateway, tokens.mint_local_token(sub=sub, role=role, secret=SECRET, **claims), sub)


class TestAcceptedTokens:
    """Valid tokens; each test uses its own users, so they share one gateway."""

    @pytest.fixture(scope="class")
    def gateway(self) -> Iterator[Client]:
        with mocked_gateway() as test_client:
            yield test_client

    def test_valid_local_token_is_accepted(self, gateway: Client) -> None:
        response = call(gateway, "GET", PROBE, f"Bearer {valid_token()}")
        assert response.status_code == 200, response.body

    def test_bearer_scheme_is_case_insensitive(self, gateway: Client) -> None:
        response = call(gateway, "GET", PROBE, f"bearer {valid_token()}")
        assert response.status_code == 200, response.body

    def test_authorization_header_name_is_case_insensitive(self, gateway: Client) -> None:
        response = gateway.http.get(PROBE, headers={"AUTHORIZATION": f"Bearer {valid_token()}"})
        assert response.status_code == 200, response.body

    def test_sub_made_of_id_characters_is_accepted(self, gateway: Client) -> None:
        for sub in ("ops.user:42@example.com", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "u" * 128):
            response = as_user(gateway, sub, "customer").get(PROBE)
            assert response.status_code == 200, (sub, response.body)

    def test_first_request_records_the_user_from_the_claims(self, gateway: Client) -> None:
        admin = as_user(gateway, "admin-records", "admin")
        assert admin.post("/v1/organizations", {"id": "acme", "name": "Acme"}).status_code == 201
        assert admin.get("/v1/users/carol").status_code == 404
        carol = as_user(gateway, "carol", "customer", name="Carol Customer", email="carol@acme.example", org="acme")

        assert carol.get("/v1/statuses").status_code == 200

        user = admin.get("/v1/users/carol")
        assert user.status_code == 200, user.body
        assert user.data["id"] == "carol"
        assert user.data["name"] == "Carol Customer"
        assert user.data["email"] == "carol@acme.example"
        assert user.data["role"] == "customer"
        assert user.data["organization_id"] == "acme"

    def test_first_request_of_an_agent_records_teams_and_access(self, gateway: Client) -> None:
        agent = as_user(gateway, "dave", "agent", email="dave@helpdesk.example", teams=["support", "billing"], access="assigned")
        assert agent.get(PROBE).status_code == 200

        user = as_user(gateway, "admin-agents", "admin").get("/v1/users/dave")
        assert user.status_code == 200, user.body
        assert user.data["role"] == "agent"
        assert user.data["email"] == "dave@helpdesk.example"
        assert sorted(user.data["team_ids"]) == ["billing", "support"]
        assert user.data["access"] == "assigned"

    def test_role_claim_of_the_token_governs_the_request(self, gateway: Client) -> None:
        assert as_user(gateway, "erin", "customer").get("/v1/users").status_code == 403
        assert as_user(gateway, "erin-admin", "admin").get("/v1/users").status_code == 200

    def test_cli_token_with_the_environment_secret_is_accepted_by_the_api(
        self, gateway: Client, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert cli.main(["token", "--sub", "cli-user", "--role", "customer", "--org", "acme"]) == 0
        token = capsys.readouterr().out.strip()
        response = call(gateway, "GET", PROBE, f"Bearer {token}")
        assert response.status_code == 200, response.body

    def test_rejected_token_records_no_user_and_changes_nothing(self, gateway: Client) -> None:
        forged = hs256(local_claims(sub="mallory", role="admin"), secret=OTHER_SECRET)
        mallory = ApiUser(gateway, forged, "mallory")
        assert mallory.post("/v1/teams", {"id": "forged-team", "name": "Forged"}).status_code == 401

        admin = as_user(gateway, "admin-audit", "admin")
        assert admin.get("/v1/users/mallory").status_code == 404
        assert admin.get("/v1/teams/forged-team").status_code == 404

    @pytest.mark.parametrize(
        "claims",
        [
            {"name": "Eve\r\nBcc: everyone@example.com"},
            {"name": "x" * 201},
            {"email": "eve@example.com\nX-Injected: 1"},
            {"email": "e" * 250 + "@x.example"},
            {"org": "acme\r\n"},
            {"teams": ["support\n"]},
            {"teams": [f"t{i}" for i in range(51)]},
        ],
        ids=["name-crlf", "name-too-long", "email-lf", "email-too-long", "org-crlf", "team-lf", "too-many-teams"],
    )
    def test_claims_with_line_breaks_or_beyond_their_bounds_are_401_and_record_nobody(
        self, gateway: Client, claims: dict[str, Any]
    ) -> None:
        eve = as_user(gateway, "eve", "agent" if "teams" in claims else "customer", **claims)
        assert_problem_401(call(gateway, "GET", PROBE, f"Bearer {eve.token}"))
        assert as_user(gateway, "admin-bounds", "admin").get("/v1/users/eve").status_code == 404


# -- Cognito mode (RS256 via JWKS) ---------------------------------------------------

KID = "test-key-1"
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool"
AUDIENCE = "test-app-client-id"


@dataclass
class Keys:
    private: rsa.RSAPrivateKey
    other: rsa.RSAPrivateKey

    @property
    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def rsa_keys() -> Keys:
    return Keys(
        private=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        other=rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


@dataclass
class JwksServer:
    url: str
    hits: list[str]


@pytest.fixture(scope="module")
def jwks_server(rsa_keys: Keys) -> Iterator[JwksServer]:
    """Serves the pool's JWKS over HTTP, as Cognito does (PyJWKClient refuses file:// URLs)."""
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(rsa_keys.private.public_key(), as_dict=True)
    body = json.dumps({"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]}).encode()
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield JwksServer(f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json", hits)
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def cognito_gateway(jwks_url: str) -> Iterator[Client]:
    """A gateway in Cognito mode: the pool's issuer, audience and JWKS URL in the environment.

    The `local` stage of .chalice/config.json pins HELPDESK_AUTH_MODE=local for every request,
    so Cognito mode is exercised through the `dev` stage, whose config says cognito, as deployed.
    """
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HELPDESK_AUTH_MODE", "cognito")
        env.setenv("HELPDESK_JWKS_URL", jwks_url)
        env.setenv("HELPDESK_JWT_ISSUER", ISSUER)
        env.setenv("HELPDESK_JWT_AUDIENCE", AUDIENCE)
        tokens._jwks_client.cache_clear()
        try:
            with mocked_gateway(stage="dev") as test_client:
                yield test_client
        finally:
            tokens._jwks_client.cache_clear()


@pytest.fixture
def cognito(jwks_server: JwksServer) -> Iterator[Client]:
    jwks_server.hits.clear()
    with cognito_gateway(jwks_server.url) as test_client:
        yield test_client


def cognito_claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "token_use": "id",
        "iat": now,
        "exp": now + 3600,
        "sub": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        "role": "agent",
        "name": "Cognito Agent",
        "email": "agent@helpdesk.example",
        "teams": "support,billing",
        "access": "all",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def rs256(claims: dict[str, Any], key: rsa.RSAPrivateKey, kid: str | None = KID) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid} if kid else None)


def _alg_confusion(keys: Keys) -> str:
    return hmac_signed(cognito_claims(), keys.public_pem, kid=KID)


INVALID_COGNITO_TOKENS: dict[str, Callable[[Keys], str]] = {
    "wrong-audience": lambda k: rs256(cognito_claims(aud="another-app-client"), k.private),
    "wrong-issuer": lambda k: rs256(cognito_claims(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"), k.private),
    "expired": lambda k: rs256(cognito_claims(iat=int(time.time()) - 2 * HOUR, exp=int(time.time()) - HOUR), k.private),
    "other-key-same-kid": lambda k: rs256(cognito_claims(), k.other),
    "unknown-kid": lambda k: rs256(cognito_claims(), k.private, kid="unknown-key"),
    "no-kid": lambda k: rs256(cognito_claims(), k.private, kid=None),
    "hs256-signed-with-the-public-key": _alg_confusion,
    "alg-none-with-kid": lambda k: unsigned(cognito_claims(), kid=KID),
    "local-hs256-token": lambda k: valid_token(),
    "missing-sub": lambda k: rs256(cognito_claims(sub=None), k.private),
    "unknown-role": lambda k: rs256(cognito_claims(role="root"), k.private),
}


class TestCognitoMode:
    """RS256 tokens of the user pool, verified against its JWKS; one gateway for the class."""

    @pytest.fixture(scope="class")
    def gateway(self, jwks_server: JwksServer) -> Iterator[Client]:
        with cognito_gateway(jwks_server.url) as test_client:
            yield test_client

    def test_cognito_mode_accepts_a_valid_rs256_token_of_the_pool(self, gateway: Client, rsa_keys: Keys) -> None:
        response = call(gateway, "GET", PROBE, f"Bearer {rs256(cognito_claims(), rsa_keys.private)}")
        assert response.status_code == 200, response.body

    def test_cognito_mode_records_the_user_from_the_claims(self, gateway: Client, rsa_keys: Keys) -> None:
        sub = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
        agent = ApiUser(gateway, rs256(cognito_claims(sub=sub), rsa_keys.private), sub)
        assert agent.get(PROBE).status_code == 200

        admin_token = rs256(cognito_claims(sub="pool-admin", role="admin", teams=None, access=None), rsa_keys.private)
        user = ApiUser(gateway, admin_token, "pool-admin").get(f"/v1/users/{sub}")
        assert user.status_code == 200, user.body
        assert user.data["name"] == "Cognito Agent"
        assert user.data["email"] == "agent@helpdesk.example"
        assert user.data["role"] == "agent"
        assert sorted(user.data["team_ids"]) == ["billing", "support"]  # a Cognito custom attribute is a string
        assert user.data["access"] == "all"

    def test_cognito_key_set_is_fetched_once_for_many_requests(
        self, gateway: Client, rsa_keys: Keys, jwks_server: JwksServer
    ) -> None:
        tokens._jwks_client.cache_clear()
        jwks_server.hits.clear()
        for sub in ("cached-1", "cached-2", "cached-3"):
            token = rs256(cognito_claims(sub=sub), rsa_keys.private)
            assert call(gateway, "GET", PROBE, f"Bearer {token}").status_code == 200
        assert len(jwks_server.hits) == 1

    @pytest.mark.parametrize("make_token", INVALID_COGNITO_TOKENS.values(), ids=INVALID_COGNITO_TOKENS.keys())
    def test_cognito_mode_rejects_untrustworthy_token_with_401_problem(
        self, gateway: Client, rsa_keys: Keys, make_token: Callable[[Keys], str]
    ) -> None:
        assert_problem_401(call(gateway, "GET", PROBE, f"Bearer {make_token(rsa_keys)}"))


def test_cognito_mode_without_jwks_configuration_rejects_tokens_with_401(
    cognito: Client, rsa_keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HELPDESK_JWKS_URL")
    composition.reset()  # settings are cached; the next request reads the environment again
    assert_problem_401(call(cognito, "GET", PROBE, f"Bearer {rs256(cognito_claims(), rsa_keys.private)}"))


def test_local_mode_rejects_a_cognito_rs256_token(client: Client, rsa_keys: Keys) -> None:
    token = rs256(cognito_claims(iss=tokens.LOCAL_ISSUER, aud=tokens.LOCAL_AUDIENCE), rsa_keys.private)
    assert_problem_401(call(client, "GET", PROBE, f"Bearer {token}"))


# -- the token CLI -------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the one-letter secret "S"
def test_cli_token_prints_a_token_that_verify_local_accepts_with_the_claims(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["token", "--sub", "u1", "--role", "agent", "--teams", "t1,t2", "--access", "all", "--secret", "S"])

    assert code == 0
    token = capsys.readouterr().out.strip()
    claims = tokens.verify_local(token, "S")
    assert claims["sub"] == "u1"
    assert claims["role"] == "agent"
    assert claims["teams"] == ["t1", "t2"]
    assert claims["access"] == "all"
    assert claims["exp"] > time.time()
    with pytest.raises(tokens.InvalidToken):
        tokens.verify_local(token, "not-S")


def test_cli_token_without_a_secret_exits_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HELPDESK_JWT_SECRET", raising=False)

    assert cli.main(["token", "--sub", "u1", "--role", "agent"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "HELPDESK_JWT_SECRET" in captured.err
