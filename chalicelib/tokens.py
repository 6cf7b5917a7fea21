"""Bearer tokens: minting local HS256 tokens and verifying HS256 (local) or Cognito RS256 tokens."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # PyJWT (and cryptography) load on first use, not when the app imports
    import jwt

LOCAL_ISSUER = "helpdesk-local"
LOCAL_AUDIENCE = "helpdesk"
ROLES = ("admin", "agent", "customer")
ACCESS_LEVELS = ("all", "team", "assigned")


class InvalidToken(Exception):
    """The token is missing, malformed, expired, or not signed by whom we trust."""


def mint_local_token(
    *,
    sub: str,
    role: str,
    secret: str,
    name: str = "",
    email: str = "",
    org: str | None = None,
    org_admin: bool = False,
    teams: Iterable[str] = (),
    access: str | None = None,
    ttl_seconds: int = 86_400,
    now: float | None = None,
) -> str:
    """An HS256 token for the local stage, with the claims API.md lists."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    if access is not None and access not in ACCESS_LEVELS:
        raise ValueError(f"access must be one of {ACCESS_LEVELS}")
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "sub": sub,
        "role": role,
        "name": name or sub,
        "email": email or f"{sub}@example.com",
    }
    import jwt

    if org:
        claims["org"] = org
    if org_admin:
        claims["org_admin"] = True
    if role == "agent":
        claims["teams"] = list(teams)
        claims["access"] = access or "team"
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_local(token: str, secret: str) -> Mapping[str, Any]:
    """Claims of a valid local HS256 token; InvalidToken otherwise (alg none, wrong key, expired...)."""
    import jwt

    try:
        return jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=LOCAL_AUDIENCE,
            issuer=LOCAL_ISSUER,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc


@functools.lru_cache(maxsize=4)
def _jwks_client(jwks_url: str) -> jwt.PyJWKClient:
    # Cached per URL so a warm Lambda fetches the key set once, not per request.
    import jwt

    return jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=3600)


def verify_cognito(token: str, *, jwks_url: str, issuer: str, audience: str) -> Mapping[str, Any]:
    """Claims of a valid RS256 token of the deployment's Cognito user pool."""
    import jwt

    try:
        key = _jwks_client(jwks_url).get_signing_key_from_jwt(token)
        return jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidToken(str(exc)) from exc
