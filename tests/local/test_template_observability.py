"""What an operator can see of the deployed stack (issue 15): every log group it creates keeps logs
for the retention parameter, the API writes a JSON access log, both state machines log errors
without customer text and are traced.

Checked on infra/template.json, which `chalice package` merges into the functions and the API it
generates (functions are named as `chalice package` names them: tests/local/test_template_operations.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.paths import TEMPLATE_PATH
from devstack.provision import load_template
from tests.local.test_template_operations import _functions, _of_type


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return dict(template["Resources"])


def _log_groups(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lid: resources[lid]["Properties"] for lid in _of_type(resources, "AWS::Logs::LogGroup")}


def _log_group_of(value: Any) -> str:
    """The logical id of the log group an ARN expression names (GetAtt Arn, or a Sub of its Ref)."""
    if "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    return str(value["Fn::Sub"].rsplit("${", 1)[1].rstrip("}"))


def test_every_function_logs_to_a_log_group_of_the_stack(resources: dict[str, Any]) -> None:
    # Lambda creates /aws/lambda/<name> itself, without retention, unless the stack owns it first.
    named = {props["LogGroupName"].get("Fn::Sub") for props in _log_groups(resources).values()}

    missing = {fn for fn in _functions(resources) if f"/aws/lambda/${{{fn}}}" not in named}
    assert missing == set()


def test_every_log_group_keeps_logs_for_the_retention_parameter(template: dict[str, Any], resources: dict[str, Any]) -> None:
    groups = _log_groups(resources)

    assert groups
    for logical_id, properties in groups.items():
        assert properties["RetentionInDays"] == {"Ref": "LogRetentionDays"}, logical_id
    parameter = template["Parameters"]["LogRetentionDays"]
    assert parameter["Default"] == 30 and parameter["Default"] in parameter["AllowedValues"]


def test_api_writes_a_json_access_log_with_request_caller_status_route_and_latency(resources: dict[str, Any]) -> None:
    setting = resources["RestAPI"]["Properties"]["AccessLogSetting"]
    line = json.loads(setting["Format"])

    assert line["requestId"] == "$context.requestId"
    assert line["caller"] == "$context.authorizer.principalId"
    assert line["status"] == "$context.status"
    assert line["route"] == "$context.resourcePath"
    assert line["latencyMs"] == "$context.responseLatency"
    # The error message of an unknown route quotes the Authorization header: only its type is logged.
    assert "$context.error.message" not in setting["Format"]
    assert _log_group_of(setting["DestinationArn"]) in _log_groups(resources)
    # API Gateway writes access logs only with a CloudWatch role set on the account.
    assert "ApiGatewayAccount" in resources["RestAPI"]["DependsOn"]
    assert _of_type(resources, "AWS::ApiGateway::Account") == {"ApiGatewayAccount"}


def test_state_machines_log_errors_without_execution_data_and_are_traced(resources: dict[str, Any]) -> None:
    machines = _of_type(resources, "AWS::StepFunctions::StateMachine")

    assert machines == {"EscalationStateMachine", "SlaTimerStateMachine", "TimeRuleStateMachine"}
    for machine in machines:
        properties = resources[machine]["Properties"]
        logging = properties["LoggingConfiguration"]
        # Execution data holds ticket subjects and comment text: never in the logs.
        assert (logging["Level"], logging["IncludeExecutionData"]) == ("ERROR", False), machine
        (destination,) = logging["Destinations"]
        assert _log_group_of(destination["CloudWatchLogsLogGroup"]["LogGroupArn"]) in _log_groups(resources), machine
        assert properties["TracingConfiguration"] == {"Enabled": True}, machine
        role = resources[properties["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
        actions = {a for p in role["Policies"] for s in p["PolicyDocument"]["Statement"] for a in s["Action"]}
        assert {"logs:CreateLogDelivery", "xray:PutTraceSegments"} <= actions, machine


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    kept = "".join(c for c in heading.strip().lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def test_every_alarm_links_a_runbook_entry_that_exists(resources: dict[str, Any]) -> None:
    operations = (TEMPLATE_PATH.parent.parent / "docs" / "operations.md").read_text(encoding="utf-8")
    anchors = {_slug(line.lstrip("#")) for line in operations.splitlines() if line.startswith("#")}
    alarms = _of_type(resources, "AWS::CloudWatch::Alarm")

    assert alarms
    for alarm in sorted(alarms):
        description = resources[alarm]["Properties"]["AlarmDescription"]
        assert "docs/operations.md#" in description, alarm
        anchor = description.split("docs/operations.md#", 1)[1].split(")", 1)[0].split(";", 1)[0].strip()
        assert anchor in anchors, f"{alarm}: no heading for #{anchor} in docs/operations.md"


def test_failed_events_and_stuck_streams_alarm_and_the_dashboard_shows_them(resources: dict[str, Any]) -> None:
    properties = {lid: resources[lid]["Properties"] for lid in _of_type(resources, "AWS::CloudWatch::Alarm")}
    events_failed = [p for p in properties.values() if "EventsFailed" in json.dumps(p.get("Metrics", []))]
    iterator_age = {p["Dimensions"][0]["Value"]["Ref"]: p for p in properties.values() if p.get("MetricName") == "IteratorAge"}

    # EventsFailed is dimensioned per event type: the alarm sums every type.
    assert [json.dumps(p["Metrics"]).count("FROM SCHEMA(Helpdesk, type)") for p in events_failed] == [1]
    assert set(iterator_age) == {"PublishEvents", "TicketStream"}
    for alarm in iterator_age.values():
        assert (alarm["Statistic"], alarm["Threshold"]) == ("Maximum", 300_000)  # ms: minutes, not the stream's 24 h
    body = resources["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body)["widgets"]
    metrics = [m[0] for w in widgets for m in w["properties"].get("metrics", []) if m]
    expressions = [m.get("expression", "") for m in metrics if isinstance(m, dict)]
    # One line per stage: a SEARCH over the stage dimension, so a new stage needs no edit here.
    assert any("{Helpdesk,stage}" in e and '"EscalationStageEntered"' in e for e in expressions)
    dashboard_alarms = next(w for w in widgets if w["type"] == "alarm")["properties"]["alarms"]
    assert {f"${{{lid}.Arn}}" for lid in properties} == set(dashboard_alarms)


def test_every_function_has_its_errors_throttles_and_duration_on_the_dashboard(resources: dict[str, Any]) -> None:
    body = resources["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    lines = [m for w in json.loads(body)["widgets"] for m in w["properties"].get("metrics", []) if m and isinstance(m[0], str)]
    shown = {(m[1], m[3]) for m in lines if m[0] == "AWS/Lambda" and m[2] == "FunctionName"}

    for function in sorted(_functions(resources)):  # e.g. ReceiveMail: a mail backlog shows as its errors
        for metric in ("Errors", "Throttles", "Duration"):
            assert (metric, f"${{{function}}}") in shown, f"{function} {metric}"
