"""The roles of infra/template.json grant what the functions' code calls, nothing more (issue 15).

The environment chain (tests/local/test_lambda_environments.py) proves nothing is missing and
prints what its run did not use; the grants below are the ones no code path calls at all.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack import iam
from devstack.paths import TEMPLATE_PATH
from devstack.provision import load_template


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


def test_no_function_role_grants_an_action_no_code_path_calls(template: dict[str, Any]) -> None:
    roles = iam.function_roles(template)
    # PynamoDB never calls DescribeTable here (no Model.exists or count without a key); the API
    # only signals a waiting escalation (redrive, with DescribeExecution, is the operator's CLI);
    # PublishEvents puts events on the bus, not the API.
    never_called = {
        "APIHandler": {"dynamodb:DescribeTable", "states:SendTaskFailure", "states:DescribeExecution", "events:PutEvents"},
        "PreTokenGeneration": {"dynamodb:DescribeTable"},
    }

    for function, actions in never_called.items():
        assert set(roles[function].allowed) & actions == set(), function


def test_the_api_gets_no_variable_of_a_resource_it_does_not_call(template: dict[str, Any]) -> None:
    variables = template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]

    assert "HELPDESK_EVENT_BUS" not in variables


def _secrets_named(value: Any, secrets: set[str]) -> set[str]:
    return {secret for secret in secrets if f'"{secret}"' in json.dumps(value) or f"${{{secret}}}" in json.dumps(value)}


def test_no_function_environment_holds_a_secret_value_only_the_arn_of_one_its_role_may_read(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    secrets = {lid for lid, d in resources.items() if d.get("Type") == "AWS::SecretsManager::Secret"}
    roles = iam.function_roles(template)

    assert secrets == {"CursorSecret", "MailSecret"}
    readers: dict[str, set[str]] = {}
    for logical_id, definition in resources.items():
        variables = definition.get("Properties", {}).get("Environment", {}).get("Variables", {})
        for name, value in variables.items():
            # A dynamic reference copies the value into the function's configuration at deploy time.
            assert "{{resolve:" not in json.dumps(value), f"{logical_id}.{name}"
            named = _secrets_named(value, secrets)
            if named:
                assert value == {"Ref": next(iter(named))} and name.endswith("_SECRET_ARN"), f"{logical_id}.{name}"
                readers.setdefault(logical_id, set()).update(named)

    assert readers == {"APIHandler": {"CursorSecret"}, "SendNotifications": {"MailSecret"}, "ReceiveMail": {"MailSecret"}}
    for logical_id, role in roles.items():
        granted = [s for s in _statements(resources, role.logical_id) if "secretsmanager" in json.dumps(s["Action"])]
        expected = readers.get(logical_id, set())
        assert [(s["Action"], s["Resource"]) for s in granted] == [
            ("secretsmanager:GetSecretValue", {"Ref": secret}) for secret in sorted(expected)
        ], logical_id


def _statements(resources: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    policies = resources[role_id]["Properties"].get("Policies", [])
    return [s for policy in policies for s in policy["PolicyDocument"]["Statement"]]
