"""The built-in Chalice authorizer: the same JWT check locally and in AWS."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalice import AuthResponse, Blueprint

from chalicelib.tokens import ACCESS_LEVELS, ROLES, InvalidToken, verify_cognito, verify_local

if TYPE_CHECKING:
    from chalicelib.domain.visibility import Caller

auth_blueprint = Blueprint(__name__)

_PROBLEM_401 = json.dumps(
    {
        "type": "urn:helpdesk:problem:unauthorized",
        "title": "Unauthorized",
        "status": 401,
        "detail": "missing or invalid bearer token",
        "errors": [],
    }
).encode()


@functools.cache
def _unauthorized() -> type[Exception]:
    """Built on first use: importing chalice.local at import would cost `import app` ~25 ms."""
    try:  # Local gateway (chalice local, chalice.test): raise its own 401 type with our body.
        from chalice.local import NotAuthorizedError

        class Unauthorized(NotAuthorizedError):
            def __init__(self) -> None:
                super().__init__({"Content-Type": "application/problem+json"}, _PROBLEM_401)

    except ImportError:  # In Lambda (chalice.local is not packaged) API Gateway turns this into a 401.

        class Unauthorized(Exception):  # type: ignore[no-redef]
            def __init__(self) -> None:
                super().__init__("Unauthorized")

    return Unauthorized


def __getattr__(name: str) -> Any:
    if name == "Unauthorized":  # `from chalicelib.api.auth import Unauthorized` (devstack)
        return _unauthorized()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def verify(token: str) -> Mapping[str, Any]:
    from chalicelib import composition  # ~10 ms (dataclasses, inspect): paid by the first request, not the import

    settings = composition.settings()
    if settings.auth_mode == "cognito":
        if not (settings.jwks_url and settings.jwt_issuer and settings.jwt_audience):
            raise InvalidToken("cognito verification is not configured")
        return verify_cognito(token, jwks_url=settings.jwks_url, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    if not settings.jwt_secret:
        raise InvalidToken("HELPDESK_JWT_SECRET is not set")
    return verify_local(token, settings.jwt_secret)


_USER_ID = re.compile(r"[A-Za-z0-9_.:@-]{1,128}")
# Claims land in the directory (first request), in log lines and in mail headers: bounded, and
# no control characters (a CR/LF in a name would be a header injection in a notification).
_TEXT = re.compile(r"[^\x00-\x1f\x7f]{0,200}")
_EMAIL = re.compile(r"[^\x00-\x20\x7f]{0,254}")
MAX_TEAMS = 50


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and _USER_ID.fullmatch(value) is not None


def claims_to_context(claims: Mapping[str, Any]) -> dict[str, str]:
    """Authorizer context values must be strings, numbers or booleans: lists go as JSON."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not _USER_ID.fullmatch(sub):
        raise InvalidToken("sub claim missing or not a valid user id")
    role = claims.get("role")
    if role not in ROLES:
        raise InvalidToken("role claim missing or unknown")
    access = claims.get("access") or "team"
    if access not in ACCESS_LEVELS:
        raise InvalidToken("access claim unknown")
    teams = claims.get("teams") or []
    if isinstance(teams, str):  # Cognito custom attributes are strings
        teams = [t for t in teams.split(",") if t]
    if not isinstance(teams, list) or len(teams) > MAX_TEAMS or not all(_is_id(t) for t in teams):
        raise InvalidToken(f"teams claim must be a list of at most {MAX_TEAMS} ids")
    name, email, org = (claims.get(key) or "" for key in ("name", "email", "org"))
    if not isinstance(name, str) or not _TEXT.fullmatch(name):
        raise InvalidToken("name claim must be text of at most 200 characters, without line breaks")
    if not isinstance(email, str) or not _EMAIL.fullmatch(email):
        raise InvalidToken("email claim must be at most 254 characters, without spaces or line breaks")
    if not isinstance(org, str) or (org and not _USER_ID.fullmatch(org)):
        raise InvalidToken("org claim must be an id")
    org_admin = claims.get("org_admin", False)
    return {
        "role": role,
        "name": name,
        "email": email,
        "org": org,
        "org_admin": "true" if org_admin in (True, "true", "1") else "false",
        "teams": json.dumps(sorted(teams)),
        "access": access,
    }


@auth_blueprint.authorizer()
def jwt_auth(auth_request: Any) -> AuthResponse:
    header = auth_request.token or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized()()
    try:
        claims = verify(token.strip())
        context = claims_to_context(claims)
    except InvalidToken:
        raise _unauthorized()() from None
    return AuthResponse(routes=["*"], principal_id=str(claims["sub"]), context=context)


def caller_from_context(context: Mapping[str, Any]) -> Caller:
    from chalicelib.domain.visibility import Caller  # the domain loads with the first route, not the app

    auth = context.get("authorizer") or {}
    return Caller(
        user_id=auth["principalId"],
        role=auth["role"],
        name=auth.get("name", ""),
        email=auth.get("email", ""),
        org_id=auth.get("org") or None,
        org_admin=str(auth.get("org_admin")).lower() == "true",
        teams=frozenset(json.loads(auth.get("teams") or "[]")),
        access=auth.get("access") or "team",
    )
