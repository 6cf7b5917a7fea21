"""What a client cannot get around and a user cannot do unverified (issue 15): rate limits keyed
on what a client cannot vary for free, Cognito's sign-in and profile rules, the upload origin."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.paths import TEMPLATE_PATH
from devstack.provision import load_template


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return dict(load_template(TEMPLATE_PATH)["Resources"])


def _rate_statements(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        found = [value["RateBasedStatement"]] if "RateBasedStatement" in value else []
        return found + [s for item in value.values() for s in _rate_statements(item)]
    if isinstance(value, list):
        return [s for item in value for s in _rate_statements(item)]
    return []


def test_no_rate_limit_keys_on_a_header_a_client_can_change_per_request(resources: dict[str, Any]) -> None:
    # A random Authorization header per request made a fresh counter per request.
    statements = _rate_statements(resources["ApiWebAcl"]["Properties"]["Rules"])

    assert statements
    for statement in statements:
        assert statement["AggregateKeyType"] == "IP", statement
        assert "CustomKeys" not in statement and "ScopeDownStatement" not in statement, statement


def test_cognito_offers_totp_refuses_plain_passwords_and_unverified_email_changes(resources: dict[str, Any]) -> None:
    pool = resources["UserPool"]
    client = resources["UserPoolClient"]["Properties"]

    assert (pool["Properties"]["MfaConfiguration"], pool["Properties"]["EnabledMfas"]) == ("OPTIONAL", ["SOFTWARE_TOKEN_MFA"])
    assert pool["Properties"]["UserAttributeUpdateSettings"] == {"AttributesRequireVerificationBeforeUpdate": ["email"]}
    assert (pool["DeletionPolicy"], pool["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert "ALLOW_USER_PASSWORD_AUTH" not in client["ExplicitAuthFlows"]
    assert "ALLOW_USER_SRP_AUTH" in client["ExplicitAuthFlows"]


def test_only_the_web_origin_may_upload_to_or_read_from_the_attachments_bucket(resources: dict[str, Any]) -> None:
    rules = resources["AttachmentsBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]

    assert [rule["AllowedOrigins"] for rule in rules] == [[{"Ref": "WebOrigin"}]]
    assert "*" not in json.dumps(rules[0]["AllowedOrigins"])
