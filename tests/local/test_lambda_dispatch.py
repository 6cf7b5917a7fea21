"""Lambda invocations on moto run registered Python handlers in this process."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from chalice.app import Chalice

from devstack import dynamodb_isolation, lambda_dispatch
from devstack.aws import LocalAws
from devstack.event_sources import connect_event_sources
from devstack.paths import TEMPLATE_PATH
from devstack.provision import Provisioner, load_template, provision
from devstack.stream_filters import template_filters


@pytest.fixture
def function_arn(aws: LocalAws) -> str:
    """A moto Lambda function named `echo` (placeholder code, dummy role)."""
    provisioned = provision({"Resources": {}}, aws, lambda_functions={"Echo": "echo"})
    return provisioned.attributes["Echo"]["Arn"]


def test_invoke_returns_the_registered_handlers_result(aws: LocalAws, function_arn: str) -> None:
    seen: dict[str, Any] = {}

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen["function_name"] = context.function_name
        seen["remaining_ms"] = context.get_remaining_time_in_millis()
        return {"echo": event, "count": 1}

    lambda_dispatch.register("echo", handler)
    response = aws.client("lambda").invoke(FunctionName="echo", Payload=json.dumps({"ticket_id": "t1"}))

    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"echo": {"ticket_id": "t1"}, "count": 1}
    assert seen["function_name"] == "echo"
    assert seen["remaining_ms"] > 0


def test_handler_exception_becomes_an_unhandled_function_error(aws: LocalAws, function_arn: str) -> None:
    def handler(event: Any, context: Any) -> None:
        raise ValueError("bad ticket")

    lambda_dispatch.register("echo", handler)
    response = aws.client("lambda").invoke(FunctionName=function_arn, Payload=b"{}")

    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "bad ticket"


def test_event_invocations_run_after_the_call_returns(aws: LocalAws, function_arn: str) -> None:
    handled = threading.Event()
    release = threading.Event()

    def handler(event: Any, context: Any) -> None:
        release.wait(5)
        handled.set()

    lambda_dispatch.register("echo", handler)
    response = aws.client("lambda").invoke(FunctionName="echo", InvocationType="Event", Payload=b"{}")

    assert response["StatusCode"] == 202
    assert not handled.is_set()
    release.set()
    assert handled.wait(5)


def test_step_functions_lambda_task_reaches_the_handler(aws: LocalAws, function_arn: str) -> None:
    lambda_dispatch.register("echo", lambda event, context: {"doubled": event["n"] * 2})
    outcome = _run_state_machine(
        aws,
        {
            "StartAt": "Call",
            "States": {
                "Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": function_arn, "Payload.$": "$"},
                    "OutputPath": "$.Payload",
                    "End": True,
                }
            },
        },
        {"n": 21},
    )

    assert outcome["status"] == "SUCCEEDED"
    assert json.loads(outcome["output"]) == {"doubled": 42}


def test_step_functions_can_catch_a_failing_handler_by_error_type(aws: LocalAws, function_arn: str) -> None:
    def handler(event: Any, context: Any) -> None:
        raise LookupError("ticket gone")

    lambda_dispatch.register("echo", handler)
    outcome = _run_state_machine(
        aws,
        {
            "StartAt": "Call",
            "States": {
                "Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": function_arn, "Payload.$": "$"},
                    "Catch": [{"ErrorEquals": ["LookupError"], "Next": "Gone"}],
                    "End": True,
                },
                "Gone": {"Type": "Pass", "Result": {"caught": True}, "End": True},
            },
        },
        {},
    )

    assert outcome["status"] == "SUCCEEDED"
    assert json.loads(outcome["output"]) == {"caught": True}


def test_chalice_handlers_run_under_the_names_chalice_gives_their_functions(aws: LocalAws) -> None:
    app = Chalice(app_name="helpdesk")
    received: list[Any] = []

    @app.lambda_function(name="escalation_task")
    def escalation_task(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"stage": event["stage"], "function": context.function_name}

    @app.on_sqs_message(queue="helpdesk-local-Work", batch_size=1)
    def process_work(event: Any) -> None:
        received.extend(record.body for record in event)

    functions = lambda_dispatch.chalice_functions(app, "helpdesk", "local")
    assert {lid: name for lid, (name, _) in functions.items()} == {
        "APIHandler": "helpdesk-local",
        "EscalationTask": "helpdesk-local-escalation_task",
        "ProcessWork": "helpdesk-local-process_work",
    }

    provisioner = Provisioner({"Resources": {"Work": {"Type": "AWS::SQS::Queue"}}}, aws)
    provisioner.create_resources()
    provisioner.add_lambda_functions({lid: name for lid, (name, _) in functions.items()})
    provisioned = provisioner.finish()
    registered = lambda_dispatch.register_chalice_app(app, "helpdesk", "local")
    report = connect_event_sources(app, "helpdesk", "local", aws)

    response = aws.client("lambda").invoke(FunctionName=registered["EscalationTask"], Payload=json.dumps({"stage": "review"}))
    assert json.loads(response["Payload"].read()) == {"stage": "review", "function": "helpdesk-local-escalation_task"}
    assert report == [f"process_work: connected to {provisioned.attributes['Work']['Arn']}"]
    aws.client("sqs").send_message(QueueUrl=provisioned.physical["Work"], MessageBody="hello")
    assert received == ["hello"]


def _run_state_machine(aws: LocalAws, definition: dict[str, Any], execution_input: dict[str, Any]) -> dict[str, Any]:
    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="dispatch-test", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/dummy"
    )
    execution = sfn.start_execution(
        stateMachineArn=machine["stateMachineArn"], name=f"run-{time.monotonic_ns()}", input=json.dumps(execution_input)
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        outcome: dict[str, Any] = sfn.describe_execution(executionArn=execution["executionArn"])
        if outcome["status"] != "RUNNING":
            return outcome
        time.sleep(0.05)
    raise AssertionError("execution still running")


def test_stream_handlers_see_only_writes_made_after_they_are_connected(aws: LocalAws) -> None:
    table_name, stream_arn = _table_with_stream(aws)
    dynamodb = aws.client("dynamodb")
    # Written before the handler is connected, like items restored from a snapshot.
    dynamodb.put_item(TableName=table_name, Item={"PK": {"S": "restored"}})
    seen: list[str] = []

    def project_tickets(event: Any) -> None:
        seen.extend(record.new_image["PK"]["S"] for record in event)

    _connect_stream_handler(aws, stream_arn, project_tickets)
    dynamodb.put_item(TableName=table_name, Item={"PK": {"S": "new"}})
    lambda_dispatch.drain()

    assert seen == ["new"]


def test_stream_handler_reading_the_table_does_not_block_the_write(aws: LocalAws) -> None:
    # The isolation lock serializes moto's DynamoDB; the write that feeds the stream holds it.
    dynamodb_isolation.install()
    table_name, stream_arn = _table_with_stream(aws)
    dynamodb = aws.client("dynamodb")
    read_back: list[dict[str, Any]] = []

    def project_tickets(event: Any) -> None:
        for record in event:
            read_back.append(dynamodb.get_item(TableName=table_name, Key={"PK": record.keys["PK"]})["Item"])

    _connect_stream_handler(aws, stream_arn, project_tickets)
    writer = threading.Thread(target=dynamodb.put_item, kwargs={"TableName": table_name, "Item": {"PK": {"S": "t1"}}})
    writer.start()
    writer.join(timeout=10)
    lambda_dispatch.drain(timeout=10)

    assert not writer.is_alive()
    assert read_back == [{"PK": {"S": "t1"}}]


def test_a_presence_heartbeat_does_not_invoke_the_ticket_stream_under_the_templates_filter(aws: LocalAws) -> None:
    """The template's FilterCriteria of TicketStream, honoured locally: heartbeats wake nothing."""
    table_name, stream_arn = _table_with_stream(aws)
    patterns = template_filters(load_template(TEMPLATE_PATH))["TicketStream"]
    batches: list[list[str]] = []

    def project_tickets(event: Any) -> None:
        batches.append([record.new_image["PK"]["S"] for record in event])

    _connect_stream_handler(aws, stream_arn, project_tickets, filters={"ProjectTickets": patterns})
    dynamodb = aws.client("dynamodb")
    dynamodb.put_item(TableName=table_name, Item={"PK": {"S": "TICKET#1 ada"}, "kind": {"S": "presence"}})
    dynamodb.put_item(TableName=table_name, Item={"PK": {"S": "TICKET#1 ada"}, "kind": {"S": "presence"}, "n": {"N": "2"}})
    lambda_dispatch.drain()
    assert batches == []  # not invoked at all

    dynamodb.put_item(TableName=table_name, Item={"PK": {"S": "TICKET#1"}, "kind": {"S": "ticket"}})
    dynamodb.put_item(TableName=table_name, Item={"PK": {"S": "written-by-a-workflow"}})  # no kind: still delivered
    lambda_dispatch.drain()
    assert batches == [["TICKET#1"], ["written-by-a-workflow"]]


def _table_with_stream(aws: LocalAws) -> tuple[str, str]:
    table = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
        },
    }
    provisioned = provision({"Resources": {"Table": table}}, aws)
    return provisioned.physical["Table"], provisioned.attributes["Table"]["StreamArn"]


def _connect_stream_handler(
    aws: LocalAws, stream_arn: str, handler: Callable[[Any], None], filters: dict[str, Any] | None = None
) -> None:
    app = Chalice(app_name="helpdesk")
    app.on_dynamodb_record(stream_arn=stream_arn, name="project_tickets")(handler)
    function_name = lambda_dispatch.chalice_functions(app, "helpdesk", "local")["ProjectTickets"][0]
    provision({"Resources": {}}, aws, lambda_functions={"ProjectTickets": function_name})
    lambda_dispatch.register_chalice_app(app, "helpdesk", "local")
    connect_event_sources(app, "helpdesk", "local", aws, filters)
