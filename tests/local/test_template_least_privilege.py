"""The roles of infra/template.json grant what the functions' code calls, nothing more (issue 15).

The environment chain (tests/local/test_lambda_environments.py) proves nothing is missing and
prints what its run did not use; the grants below are the ones no code path calls at all.
"""

from __future__ import annotations

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
