"""Cognito pre-token-generation trigger: the claims API.md needs, read from the user's directory record.

The user pool calls this before it issues tokens. The directory record `DIR#user` / `<sub>` (the
Cognito `sub`, which no trigger may change) decides `role`, `org`, `org_admin`, `teams` and
`access`; `name` comes from the record too. A user without a directory record (never added, or
deleted) or with a disabled one gets no token:
the trigger fails and Cognito refuses the sign-in, so nobody is ever a silent default role.

Admins must sign in with TOTP MFA. Cognito cannot require MFA per group, so the pool makes TOTP
optional for everyone and this trigger refuses tokens to an admin whose Cognito user has no
verified, preferred TOTP device (`AdminGetUser` → `PreferredMfaSetting`). With MFA optional, a
user with a preferred TOTP device is always challenged at sign-in, so "preferred" means "signed in
with TOTP". The trigger also runs on refresh, so an admin who removes the device loses the session
at the next refresh (within the ID token's 60 minutes).

Cognito's V1 events (the default for `LambdaConfig.PreTokenGeneration`) accept string claims only:
`teams` goes as a comma-separated string and `org_admin` as "true"/"false", which
`chalicelib.api.auth.claims_to_context` reads. V2 events (`PreTokenGenerationConfig` with
`LambdaVersion: V2_0`) get the same claims with their JSON types, on the ID token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib import composition

if TYPE_CHECKING:
    from chalicelib.composition import UserPool
    from chalicelib.services.directory import DirectoryRepository, Entry


class UnknownUser(Exception):
    """The Cognito user has no directory record: sign-in is refused until an admin adds one."""


class MfaRequired(UnknownUser):
    """An admin without a verified TOTP device: sign-in is refused until they set one up."""


def claims_for(entry: Entry) -> dict[str, Any]:
    """The token claims of a directory user record, with their JSON types."""
    data = entry.data
    role = data.get("role")
    if role not in ("admin", "agent", "customer"):
        raise UnknownUser(f"directory user {entry.id} has no valid role")
    if data.get("disabled"):
        raise UnknownUser(f"directory user {entry.id} is disabled")
    claims: dict[str, Any] = {"role": role, "name": entry.name}
    if data.get("organization_id"):
        claims["org"] = data["organization_id"]
        claims["org_admin"] = bool(data.get("org_admin", False))
    if role == "agent":
        claims["teams"] = sorted(data.get("team_ids") or [])
        claims["access"] = data.get("access") or "team"
    return claims


def as_strings(claims: Mapping[str, Any]) -> dict[str, str]:
    """V1 claims are strings: lists comma-joined, booleans lowercase."""
    out = {}
    for name, value in claims.items():
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, list):
            out[name] = ",".join(value)
        else:
            out[name] = str(value)
    return out


def add_claims(event: dict[str, Any], directory: DirectoryRepository, pool: UserPool | None = None) -> dict[str, Any]:
    """The trigger's answer: `event` with the claims to add to the ID token."""
    sub = (event.get("request", {}).get("userAttributes") or {}).get("sub")
    if not sub:
        raise UnknownUser("the event carries no sub")
    entry = directory.get("user", sub)
    if entry is None:
        raise UnknownUser(f"no directory record for Cognito user {sub}; an admin must create it (see README)")
    claims = claims_for(entry)
    if claims["role"] == "admin":
        _require_totp(event, pool if pool is not None else _user_pool())
    response = event.setdefault("response", {})
    if str(event.get("version")) == "2":
        response["claimsAndScopeOverrideDetails"] = {"idTokenGeneration": {"claimsToAddOrOverride": claims}}
    else:
        response["claimsOverrideDetails"] = {"claimsToAddOrOverride": as_strings(claims)}
    return event


def _require_totp(event: dict[str, Any], pool: UserPool) -> None:
    pool_id, username = event.get("userPoolId"), event.get("userName")
    if not pool_id or not username:
        raise MfaRequired("the event names no user pool or user name, so the admin's MFA cannot be checked")
    if not pool.has_verified_totp(str(pool_id), str(username)):
        raise MfaRequired(f"admin {username} has no verified TOTP device; admins must set up MFA before signing in")


# The user pool's view of a user (their MFA), built by the composition root.
_user_pool = composition.sign_in_user_pool

# The table only, not the API's cursor secret or auth settings (built by the composition root).
_directory = composition.sign_in_directory


def pre_token_generation(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        return add_claims(event, _directory())
    except UnknownUser as exc:
        composition.logger().warning("sign-in refused", extra={"reason": str(exc), "trigger": event.get("triggerSource")})
        raise
