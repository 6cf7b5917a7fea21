"""The Cognito pre-token-generation trigger gives tokens the claims the API reads, from the directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.api.auth import claims_to_context
from chalicelib.handlers import cognito

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def directory(aws: None) -> Iterator[Any]:
    cognito._directory.cache_clear()
    yield cognito._directory()
    cognito._directory.cache_clear()


def _event(sub: str, version: str = "1") -> dict[str, Any]:
    return {
        "version": version,
        "triggerSource": "TokenGeneration_Authentication",
        "userPoolId": "us-east-1_test",
        "userName": "someone",
        "request": {"userAttributes": {"sub": sub, "email": f"{sub}@example.com"}, "groupConfiguration": {}},
        "response": {"claimsOverrideDetails": None},
    }


def _invoke(event: dict[str, Any]) -> dict[str, Any]:
    from app import app

    return app.handler_map["pre_token_generation"](event, None)


def test_agent_gets_role_teams_and_access_as_v1_strings_the_authorizer_reads(directory: Any) -> None:
    directory.create(
        "user", "c0ffee-agent", "Ada Agent", {"role": "agent", "team_ids": ["support", "billing"], "access": "all"}, NOW
    )

    response = _invoke(_event("c0ffee-agent"))["response"]

    claims = response["claimsOverrideDetails"]["claimsToAddOrOverride"]
    assert claims == {"role": "agent", "name": "Ada Agent", "teams": "billing,support", "access": "all"}
    context = claims_to_context({"sub": "c0ffee-agent", **claims})
    assert json.loads(context["teams"]) == ["billing", "support"]
    assert context["access"] == "all"


def test_org_admin_customer_gets_org_and_flag(directory: Any) -> None:
    directory.create("user", "cust-1", "Carl", {"role": "customer", "organization_id": "acme", "org_admin": True}, NOW)

    claims = _invoke(_event("cust-1"))["response"]["claimsOverrideDetails"]["claimsToAddOrOverride"]

    assert claims == {"role": "customer", "name": "Carl", "org": "acme", "org_admin": "true"}
    context = claims_to_context({"sub": "cust-1", **claims})
    assert (context["org"], context["org_admin"], context["teams"]) == ("acme", "true", "[]")


def test_admin_gets_only_the_role(directory: Any, pool: dict[str, str]) -> None:
    directory.create("user", "root-1", "Root", {"role": "admin", "email": "root@example.com"}, NOW)
    _pool_user(pool, "root", totp=True)

    claims = _invoke(_pool_event(pool, "root-1", "root"))["response"]["claimsOverrideDetails"]["claimsToAddOrOverride"]

    assert claims == {"role": "admin", "name": "Root"}


def test_v2_events_get_typed_claims_on_the_id_token(directory: Any) -> None:
    directory.create("user", "agent-2", "Bo", {"role": "agent", "team_ids": ["t1"]}, NOW)

    response = _invoke(_event("agent-2", version="2"))["response"]

    claims = response["claimsAndScopeOverrideDetails"]["idTokenGeneration"]["claimsToAddOrOverride"]
    assert claims == {"role": "agent", "name": "Bo", "teams": ["t1"], "access": "team"}


def test_a_user_without_directory_record_gets_no_token(directory: Any) -> None:
    with pytest.raises(cognito.UnknownUser, match="no directory record"):
        _invoke(_event("stranger"))


def test_the_trigger_is_a_chalice_function_with_a_stable_logical_id() -> None:
    from chalice.utils import to_cfn_resource_name

    from app import app

    names = [function.name for function in app.pure_lambda_functions]
    assert "pre_token_generation" in names
    assert to_cfn_resource_name("pre_token_generation") == "PreTokenGeneration"


def test_the_cli_writes_the_first_admin_the_trigger_then_reads(directory: Any, pool: dict[str, str]) -> None:
    from chalicelib import cli
    from tests.conftest import TABLE

    assert (
        cli.main(
            ["user", "--id", "sub-123", "--name", "First Admin", "--email", "a@example.com", "--role", "admin", "--table", TABLE]
        )
        == 0
    )

    _pool_user(pool, "a@example.com", totp=True)
    claims = _invoke(_pool_event(pool, "sub-123", "a@example.com"))["response"]["claimsOverrideDetails"]["claimsToAddOrOverride"]
    assert claims == {"role": "admin", "name": "First Admin"}


def test_a_disabled_user_gets_no_token(directory: Any) -> None:
    directory.create("user", "gone-1", "Gone", {"role": "agent", "disabled": True}, NOW)

    with pytest.raises(cognito.UnknownUser, match="disabled"):
        _invoke(_event("gone-1"))


@pytest.fixture
def pool(aws: None) -> Iterator[dict[str, str]]:
    import boto3

    cognito._user_pool.cache_clear()
    client = boto3.client("cognito-idp")
    pool_id = client.create_user_pool(PoolName="helpdesk-users", MfaConfiguration="OPTIONAL")["UserPool"]["Id"]
    client_id = client.create_user_pool_client(
        UserPoolId=pool_id, ClientName="test", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    )["UserPoolClient"]["ClientId"]
    yield {"pool_id": pool_id, "client_id": client_id}
    cognito._user_pool.cache_clear()


def _pool_user(pool: dict[str, str], username: str, *, totp: bool) -> None:
    import boto3

    client = boto3.client("cognito-idp")
    client.admin_create_user(UserPoolId=pool["pool_id"], Username=username)
    password = "Correct-horse-battery-9"
    client.admin_set_user_password(UserPoolId=pool["pool_id"], Username=username, Password=password, Permanent=True)
    if totp:
        signed_in = client.admin_initiate_auth(
            UserPoolId=pool["pool_id"],
            ClientId=pool["client_id"],
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
        access_token = signed_in["AuthenticationResult"]["AccessToken"]
        client.associate_software_token(AccessToken=access_token)
        client.verify_software_token(AccessToken=access_token, UserCode="123456")
        client.admin_set_user_mfa_preference(
            UserPoolId=pool["pool_id"], Username=username, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
        )


def _pool_event(pool: dict[str, str], sub: str, username: str, trigger: str = "TokenGeneration_Authentication") -> dict[str, Any]:
    return {**_event(sub), "userPoolId": pool["pool_id"], "userName": username, "triggerSource": trigger}


def test_an_admin_without_a_verified_totp_device_gets_no_token(directory: Any, pool: dict[str, str]) -> None:
    directory.create("user", "root-nomfa", "Root", {"role": "admin"}, NOW)
    _pool_user(pool, "root-nomfa", totp=False)

    with pytest.raises(cognito.MfaRequired, match="TOTP"):
        _invoke(_pool_event(pool, "root-nomfa", "root-nomfa"))
    with pytest.raises(cognito.MfaRequired):
        _invoke(_pool_event(pool, "root-nomfa", "root-nomfa", trigger="TokenGeneration_RefreshTokens"))


def test_an_admin_with_a_verified_totp_device_gets_the_admin_role(directory: Any, pool: dict[str, str]) -> None:
    directory.create("user", "root-mfa", "Root", {"role": "admin"}, NOW)
    _pool_user(pool, "root-mfa", totp=True)

    claims = _invoke(_pool_event(pool, "root-mfa", "root-mfa"))["response"]["claimsOverrideDetails"]["claimsToAddOrOverride"]

    assert claims == {"role": "admin", "name": "Root"}


def test_agents_and_customers_sign_in_without_mfa(directory: Any, pool: dict[str, str]) -> None:
    directory.create("user", "agent-nomfa", "Ada", {"role": "agent"}, NOW)
    directory.create("user", "cust-nomfa", "Cy", {"role": "customer"}, NOW)
    _pool_user(pool, "agent-nomfa", totp=False)
    _pool_user(pool, "cust-nomfa", totp=False)

    agent = _invoke(_pool_event(pool, "agent-nomfa", "agent-nomfa"))["response"]["claimsOverrideDetails"]
    customer = _invoke(_pool_event(pool, "cust-nomfa", "cust-nomfa"))["response"]["claimsOverrideDetails"]

    assert agent["claimsToAddOrOverride"]["role"] == "agent"
    assert customer["claimsToAddOrOverride"]["role"] == "customer"
