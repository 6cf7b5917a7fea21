"""Operability rules of infra/template.json: alarms cover everything that can fail, IAM stays narrow,
the gateway answers problem+json and throttles.

Functions are those chalice generates (from the app, as `chalice package` names them) plus any the
template declares; they are checked against the template the packaged one is merged from.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from devstack import lambda_dispatch
from devstack.paths import TEMPLATE_PATH
from devstack.provision import load_template

PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return dict(template["Resources"])


def _of_type(resources: dict[str, Any], resource_type: str) -> set[str]:
    return {logical_id for logical_id, definition in resources.items() if definition.get("Type") == resource_type}


def _functions(resources: dict[str, Any]) -> set[str]:
    from app import app

    chalice = set(lambda_dispatch.chalice_functions(app, "helpdesk", "dev"))
    chalice |= set(lambda_dispatch.chalice_authorizers(app, "helpdesk", "dev"))
    return chalice | _of_type(resources, "AWS::Lambda::Function") | _of_type(resources, "AWS::Serverless::Function")


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _referenced_queue(value: Any) -> str | None:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return str(target[0] if isinstance(target, list) else target.split(".")[0])
    return None


def _dead_letter_queues(resources: dict[str, Any]) -> set[str]:
    """Queues something dead-letters into: SQS redrive, rule targets, event source mapping failures."""
    queues = _of_type(resources, "AWS::SQS::Queue")
    found = {logical_id for logical_id in queues if logical_id.endswith(("DLQ", "DeadLetters", "DeadLetterQueue"))}
    for node in _walk(resources):
        for key in ("deadLetterTargetArn", "DeadLetterConfig", "OnFailure", "Destination"):
            value = node.get(key)
            if isinstance(value, dict) and ("Arn" in value or "Destination" in value):
                value = value.get("Arn", value.get("Destination"))
            queue = _referenced_queue(value)
            if queue in queues:
                found.add(queue)
    return found


def _alarms(resources: dict[str, Any]) -> list[dict[str, Any]]:
    return [resources[logical_id]["Properties"] for logical_id in _of_type(resources, "AWS::CloudWatch::Alarm")]


def _alarmed(resources: dict[str, Any], namespace: str, metric: str, dimension: str) -> set[str]:
    """Logical ids named (Ref / GetAtt) in `dimension` of the alarms on `namespace`/`metric`."""
    named = set()
    for alarm in _alarms(resources):
        stats = [alarm] + [m["MetricStat"]["Metric"] for m in alarm.get("Metrics", []) if "MetricStat" in m]
        for stat in stats:
            if stat.get("Namespace") != namespace or stat.get("MetricName") != metric:
                continue
            for entry in stat.get("Dimensions", []):
                value = entry["Value"]
                if entry["Name"] == dimension and isinstance(value, dict):
                    named.add(value.get("Ref") or _referenced_queue(value))
    return named


def test_every_function_has_error_and_throttle_alarms(resources: dict[str, Any]) -> None:
    functions = _functions(resources)

    assert functions - _alarmed(resources, "AWS/Lambda", "Errors", "FunctionName") == set()
    assert functions - _alarmed(resources, "AWS/Lambda", "Throttles", "FunctionName") == set()


def test_every_dead_letter_queue_alarms_when_it_holds_a_message(resources: dict[str, Any]) -> None:
    dlqs = _dead_letter_queues(resources)

    assert {"IntegrationsDLQ", "EventDeliveryDLQ", "InboundMailDLQ"} <= dlqs
    assert dlqs - _alarmed(resources, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName") == set()
    for alarm in _alarms(resources):
        if alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible":
            assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def test_every_state_machine_alarms_on_failed_and_timed_out_executions(resources: dict[str, Any]) -> None:
    machines = _of_type(resources, "AWS::StepFunctions::StateMachine")

    assert machines
    assert machines - _alarmed(resources, "AWS/States", "ExecutionsFailed", "StateMachineArn") == set()
    assert machines - _alarmed(resources, "AWS/States", "ExecutionsTimedOut", "StateMachineArn") == set()


def test_api_and_sla_alarms_exist_and_every_alarm_notifies_the_topic(resources: dict[str, Any]) -> None:
    metrics = {(a.get("Namespace"), a.get("MetricName"), a.get("ExtendedStatistic")) for a in _alarms(resources)}
    math = [json.dumps(a["Metrics"]) for a in _alarms(resources) if "Metrics" in a]

    assert ("AWS/ApiGateway", "Latency", "p99") in metrics
    assert any('"5XXError"' in m for m in math)
    assert any('"SlaBreached"' in m and '"SlaMet"' in m and '"Namespace": "Helpdesk"' in m for m in math)
    for alarm in _alarms(resources):
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert _of_type(resources, "AWS::CloudWatch::Dashboard")


def test_api_role_never_grants_dynamodb_on_every_resource(resources: dict[str, Any]) -> None:
    role = resources[resources["APIHandler"]["Properties"]["Role"]["Fn::GetAtt"][0]]
    statements = [s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    dynamodb = [s for s in statements if any(str(a).startswith("dynamodb:") for a in _as_list(s["Action"]))]

    assert dynamodb
    for statement in statements:
        assert "*" not in _as_list(statement["Resource"]), statement
        assert not any(a.endswith(":*") or a == "*" for a in _as_list(statement["Action"])), statement
    for statement in dynamodb:
        for resource in _as_list(statement["Resource"]):
            assert "HelpdeskTable" in json.dumps(resource)


def test_every_chalice_function_gets_a_role_from_the_template(resources: dict[str, Any]) -> None:
    config = json.loads((TEMPLATE_PATH.parent.parent / ".chalice" / "config.json").read_text())
    own_roles = config["lambda_functions"]

    for name in own_roles:
        from chalice.utils import to_cfn_resource_name

        logical_id = "APIHandler" if name == "api_handler" else to_cfn_resource_name(name)
        role = resources[logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
        assert resources[role]["Type"] == "AWS::IAM::Role"


def test_gateway_responses_are_problem_json(resources: dict[str, Any]) -> None:
    responses = resources["RestAPI"]["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]

    assert {"UNAUTHORIZED", "ACCESS_DENIED", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    for kind, response in responses.items():
        assert response["responseParameters"]["gatewayresponse.header.Content-Type"] == "'application/problem+json'"
        problem = json.loads(response["responseTemplates"]["application/json"])
        assert set(problem) == PROBLEM_KEYS, kind
        assert str(problem["status"]) == response["statusCode"], kind
    assert responses["THROTTLED"]["statusCode"] == "429"
    assert responses["UNAUTHORIZED"]["statusCode"] == "401"


def test_gateway_responses_echo_nothing_of_the_request(resources: dict[str, Any]) -> None:
    # $context.error.messageString of an unknown route called with a bearer token is a SigV4
    # complaint that quotes the Authorization header: the token would be in the body.
    responses = resources["RestAPI"]["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    for kind, response in responses.items():
        assert "$" not in json.dumps(response), kind


def test_unknown_routes_in_aws_answer_what_the_local_stack_answers(resources: dict[str, Any]) -> None:
    from devstack.http_api import NO_SUCH_ROUTE

    responses = resources["RestAPI"]["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    # API Gateway answers an unknown path or method as a missing token, or (with a non-SigV4
    # Authorization header) as a bad signature; this API has no SigV4 routes, so both are a 404.
    for kind in ("MISSING_AUTHENTICATION_TOKEN", "INVALID_SIGNATURE"):
        assert responses[kind]["statusCode"] == "404", kind
        assert json.loads(responses[kind]["responseTemplates"]["application/json"]) == NO_SUCH_ROUTE, kind


def test_throttling_per_stage_and_per_client_answers_429(resources: dict[str, Any], template: dict[str, Any]) -> None:
    (settings,) = resources["RestAPI"]["Properties"]["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == {"Ref": "ApiThrottleRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ApiThrottleBurstLimit"}
    assert (settings["ResourcePath"], settings["HttpMethod"]) == ("/*", "*")

    acl = resources["ApiWebAcl"]["Properties"]
    per_address = next(rule for rule in acl["Rules"] if rule["Name"] == "PerAddress")
    assert per_address["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    response = per_address["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == 429
    assert set(json.loads(acl["CustomResponseBodies"][response["CustomResponseBodyKey"]]["Content"])) == PROBLEM_KEYS
    association = resources["ApiWebAclAssociation"]
    assert "${RestAPI}/stages/api" in association["Properties"]["ResourceArn"]["Fn::Sub"]


def test_api_environment_comes_from_the_user_pool(resources: dict[str, Any]) -> None:
    variables = resources["APIHandler"]["Properties"]["Environment"]["Variables"]

    assert "${UserPool}" in variables["HELPDESK_JWKS_URL"]["Fn::Sub"]
    assert variables["HELPDESK_JWT_ISSUER"]["Fn::Sub"].endswith("/${UserPool}")
    assert variables["HELPDESK_JWT_AUDIENCE"] == {"Ref": "UserPoolClient"}
    assert variables["POWERTOOLS_SERVICE_NAME"] == "helpdesk"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "Helpdesk"
    pool = resources["UserPool"]["Properties"]
    assert pool["LambdaConfig"]["PreTokenGeneration"] == {"Fn::GetAtt": ["PreTokenGeneration", "Arn"]}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
