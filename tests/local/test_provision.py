"""The template translator: CloudFormation resources become the same resources on moto."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from devstack.aws import LocalAws
from devstack.cfn import Resolver, TemplateError, dependency_order
from devstack.paths import TEMPLATE_PATH
from devstack.provision import Provisioned, Provisioner, load_template, provision

CHALICE_FUNCTIONS = {"EscalationTask": "helpdesk-local-escalation_task"}

TEMPLATE: dict[str, Any] = {
    "Parameters": {"Stage": {"Type": "String", "Default": "dev"}},
    "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
    "Resources": {
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [
                    {"AttributeName": "PK", "AttributeType": "S"},
                    {"AttributeName": "SK", "AttributeType": "S"},
                    {"AttributeName": "GSI1PK", "AttributeType": "S"},
                ],
                "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
                "GlobalSecondaryIndexes": [
                    {
                        "IndexName": "GSI1",
                        "KeySchema": [{"AttributeName": "GSI1PK", "KeyType": "HASH"}],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                ],
                "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
                "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True},
                "DeletionProtectionEnabled": {"Fn::If": ["IsProd", True, False]},
            },
        },
        "Attachments": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "CorsConfiguration": {"CorsRules": [{"AllowedMethods": ["PUT"], "AllowedOrigins": ["*"], "MaxAge": 300}]}
            },
        },
        "DeadLetters": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Work": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "VisibilityTimeout": 60,
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetters", "Arn"]}, "maxReceiveCount": 3},
            },
        },
        "WorkPolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": "Work"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": {"Fn::GetAtt": ["Work", "Arn"]},
                        }
                    ],
                },
            },
        },
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": {"Fn::Sub": "${AWS::StackName}-bus"}}},
        "TicketEvents": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventBusName": {"Ref": "Bus"},
                "EventPattern": {"source": ["helpdesk"]},
                "Targets": [
                    {"Id": "queue", "Arn": {"Fn::GetAtt": ["Work", "Arn"]}},
                    {"Id": "function", "Arn": {"Fn::GetAtt": ["EscalationTask", "Arn"]}},
                ],
            },
        },
        "WorkflowRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "table",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {"Effect": "Allow", "Action": "dynamodb:*", "Resource": {"Fn::GetAtt": ["Table", "Arn"]}}
                            ],
                        },
                    }
                ],
            },
        },
        "Escalation": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "RoleArn": {"Fn::GetAtt": ["WorkflowRole", "Arn"]},
                "Definition": {
                    "StartAt": "Record",
                    "States": {
                        "Record": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::dynamodb:putItem",
                            "Parameters": {"TableName": "${TableName}", "Item": {"PK": {"S": "esc"}, "SK": {"S.$": "$.id"}}},
                            "Next": "Task",
                        },
                        "Task": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"FunctionName": "${TaskArn}", "Payload.$": "$"},
                            "End": True,
                        },
                    },
                },
                "DefinitionSubstitutions": {"TableName": {"Ref": "Table"}, "TaskArn": {"Fn::GetAtt": ["EscalationTask", "Arn"]}},
                "LoggingConfiguration": {"Level": "OFF"},
            },
        },
        "Topic": {"Type": "AWS::AppSync::GraphQLApi", "Properties": {}},
        "ProdOnlyQueue": {"Type": "AWS::SQS::Queue", "Condition": "IsProd", "Properties": {}},
        "APIHandler": {
            "Properties": {
                "Environment": {
                    "Variables": {
                        "HELPDESK_TABLE": {"Ref": "Table"},
                        "HELPDESK_BUS": {"Ref": "Bus"},
                        "HELPDESK_QUEUE_URL": {"Ref": "Work"},
                        "HELPDESK_ESCALATION_ARN": {"Ref": "Escalation"},
                        "HELPDESK_BUCKET": {"Fn::Join": ["", [{"Ref": "Attachments"}]]},
                        "HELPDESK_STREAM_ARN": {"Fn::GetAtt": ["Table", "StreamArn"]},
                        "HELPDESK_IS_PROD": {"Fn::If": ["IsProd", "yes", "no"]},
                    }
                }
            }
        },
    },
}


@pytest.fixture
def provisioned(aws: LocalAws) -> Provisioned:
    return provision(TEMPLATE, aws, lambda_functions=CHALICE_FUNCTIONS)


def test_table_has_keys_indexes_stream_and_ttl(aws: LocalAws, provisioned: Provisioned) -> None:
    dynamodb = aws.client("dynamodb")
    table = dynamodb.describe_table(TableName="helpdesk-local-Table")["Table"]

    assert provisioned.physical["Table"] == "helpdesk-local-Table"
    assert [key["AttributeName"] for key in table["KeySchema"]] == ["PK", "SK"]
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == ["GSI1"]
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert provisioned.attributes["Table"]["StreamArn"] == table["LatestStreamArn"]
    ttl = dynamodb.describe_time_to_live(TableName="helpdesk-local-Table")
    assert ttl["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}


def test_properties_without_local_effect_are_noted_not_dropped_silently(provisioned: Provisioned) -> None:
    noted = "\n".join(provisioned.notes)
    for name in ("PointInTimeRecoverySpecification", "SSESpecification", "DeletionProtectionEnabled", "LoggingConfiguration"):
        assert f"property {name} ignored" in noted


def test_bucket_gets_a_lowercase_name_and_cors(aws: LocalAws, provisioned: Provisioned) -> None:
    assert provisioned.physical["Attachments"] == "helpdesk-local-attachments"
    cors = aws.client("s3").get_bucket_cors(Bucket="helpdesk-local-attachments")["CORSRules"]
    assert cors[0]["AllowedMethods"] == ["PUT"]
    assert cors[0]["MaxAgeSeconds"] == 300


def test_a_bucket_policy_keeps_its_plain_statements_and_leaves_out_conditional_ones_moto_would_deny_on(
    aws: LocalAws,
) -> None:
    arn = {"Fn::GetAtt": ["Box", "Arn"]}
    objects = {"Fn::Sub": "${Box.Arn}/*"}
    template = {
        "Resources": {
            "Box": {"Type": "AWS::S3::Bucket"},
            "BoxPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": {"Ref": "Box"},
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "TlsOnly",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Resource": [arn, objects],
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            },
                            {
                                "Sid": "NoDeletes",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:DeleteObject",
                                "Resource": objects,
                            },
                        ],
                    },
                },
            },
        }
    }
    provisioned = provision(template, aws)

    s3, bucket = aws.client("s3"), provisioned.physical["Box"]
    s3.put_object(Bucket=bucket, Key="inbound/a", Body=b"mail")  # moto denied this: it cannot evaluate TlsOnly
    assert s3.get_object(Bucket=bucket, Key="inbound/a")["Body"].read() == b"mail"
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert [statement["Sid"] for statement in policy["Statement"]] == ["NoDeletes"]
    assert any("BoxPolicy: statements TlsOnly not applied" in note for note in provisioned.notes)


def test_queue_redrives_to_its_dead_letter_queue(aws: LocalAws, provisioned: Provisioned) -> None:
    attributes = aws.client("sqs").get_queue_attributes(QueueUrl=provisioned.physical["Work"], AttributeNames=["All"])[
        "Attributes"
    ]

    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": provisioned.attributes["DeadLetters"]["Arn"],
        "maxReceiveCount": 3,
    }
    assert attributes["VisibilityTimeout"] == "60"
    assert "Policy" in attributes


def test_rule_delivers_bus_events_to_the_queue(aws: LocalAws, provisioned: Provisioned) -> None:
    assert provisioned.physical["Bus"] == "helpdesk-local-bus"
    aws.client("events").put_events(
        Entries=[
            {
                "EventBusName": "helpdesk-local-bus",
                "Source": "helpdesk",
                "DetailType": "ticket.created",
                "Detail": json.dumps({"ticket_id": "t1"}),
            }
        ]
    )

    messages = aws.client("sqs").receive_message(QueueUrl=provisioned.physical["Work"], WaitTimeSeconds=1)["Messages"]
    assert json.loads(messages[0]["Body"])["detail"] == {"ticket_id": "t1"}


def test_rule_leaves_out_targets_moto_cannot_deliver(aws: LocalAws, provisioned: Provisioned) -> None:
    targets = aws.client("events").list_targets_by_rule(Rule="helpdesk-local-TicketEvents", EventBusName="helpdesk-local-bus")[
        "Targets"
    ]

    assert [target["Id"] for target in targets] == ["queue"]
    assert any("target function (lambda) left out" in note for note in provisioned.notes)


def test_state_machine_gets_substitutions_and_its_role(aws: LocalAws, provisioned: Provisioned) -> None:
    sfn = aws.client("stepfunctions")
    machine = sfn.describe_state_machine(stateMachineArn=provisioned.physical["Escalation"])
    definition = json.loads(machine["definition"])
    record = definition["States"]["Record"]["Parameters"]
    task = definition["States"]["Task"]["Parameters"]

    assert record["TableName"] == "helpdesk-local-Table"
    assert task["FunctionName"] == provisioned.attributes["EscalationTask"]["Arn"]
    assert machine["roleArn"] == provisioned.attributes["WorkflowRole"]["Arn"]


def test_state_machine_definition_can_come_from_a_local_file(aws: LocalAws, tmp_path: Path) -> None:
    (tmp_path / "flow.asl.json").write_text(
        json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": {"greeting": "${Greeting}"}, "End": True}}})
    )
    template = {
        "Resources": {
            "Flow": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"DefinitionS3Location": "flow.asl.json", "DefinitionSubstitutions": {"Greeting": "hello"}},
            }
        }
    }
    provisioned = provision(template, aws, template_dir=tmp_path)

    sfn = aws.client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=provisioned.physical["Flow"], name="run-1")
    output = _finished(sfn, execution["executionArn"])["output"]
    assert json.loads(output) == {"greeting": "hello"}


def test_lambda_environment_resolves_to_local_physical_names(provisioned: Provisioned) -> None:
    assert provisioned.env == {
        "HELPDESK_TABLE": "helpdesk-local-Table",
        "HELPDESK_BUS": "helpdesk-local-bus",
        "HELPDESK_QUEUE_URL": provisioned.attributes["Work"]["QueueUrl"],
        "HELPDESK_ESCALATION_ARN": provisioned.attributes["Escalation"]["Arn"],
        "HELPDESK_BUCKET": "helpdesk-local-attachments",
        "HELPDESK_STREAM_ARN": provisioned.attributes["Table"]["StreamArn"],
        "HELPDESK_IS_PROD": "no",
    }


def test_unsupported_conditional_and_override_entries_are_reported(provisioned: Provisioned) -> None:
    skipped = {entry.logical_id: entry for entry in provisioned.skipped}

    assert set(skipped) == {"Topic", "ProdOnlyQueue", "APIHandler"}
    assert skipped["Topic"].resource_type == "AWS::AppSync::GraphQLApi"
    assert "not supported" in skipped["Topic"].reason
    assert "condition IsProd is false" in skipped["ProdOnlyQueue"].reason
    assert skipped["APIHandler"].resource_type == ""
    assert "only its Environment is used" in skipped["APIHandler"].reason


def test_resources_referencing_chalice_functions_wait_until_the_functions_exist(aws: LocalAws) -> None:
    provisioner = Provisioner(TEMPLATE, aws)
    provisioner.create_resources()
    early_environment, _ = provisioner.environment()

    assert early_environment["HELPDESK_TABLE"] == "helpdesk-local-Table"
    assert "HELPDESK_ESCALATION_ARN" not in early_environment
    assert aws.client("stepfunctions").list_state_machines()["stateMachines"] == []

    provisioner.add_lambda_functions(CHALICE_FUNCTIONS)
    provisioned = provisioner.finish()
    assert set(provisioned.of_type("AWS::StepFunctions::StateMachine")) == {"Escalation"}
    assert set(provisioned.of_type("AWS::Events::Rule")) == {"TicketEvents"}
    assert "HELPDESK_ESCALATION_ARN" in provisioned.env


def test_references_to_unknown_resources_are_reported_after_finish(aws: LocalAws) -> None:
    provisioned = provision(TEMPLATE, aws)

    skipped = {entry.logical_id: entry.reason for entry in provisioned.skipped}
    assert "neither in the template nor a chalice function" in skipped["Escalation"]
    assert any("HELPDESK_ESCALATION_ARN not set" in note for note in provisioned.notes)


def test_project_template_provisions_its_table_and_environment(aws: LocalAws) -> None:
    # Relative DefinitionS3Location paths resolve against the template's folder, as in the stack.
    provisioned = provision(load_template(TEMPLATE_PATH), aws, template_dir=TEMPLATE_PATH.parent)

    assert provisioned.physical["HelpdeskTable"] == "helpdesk-local-HelpdeskTable"
    assert provisioned.env["HELPDESK_TABLE"] == "helpdesk-local-HelpdeskTable"
    assert "APIHandler" in {entry.logical_id for entry in provisioned.skipped}


def test_boto3_and_pynamodb_reach_moto_through_aws_endpoint_url(
    aws: LocalAws, provisioned: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")

    class Entry(Model):
        class Meta:
            table_name = provisioned.physical["Table"]

        PK = UnicodeAttribute(hash_key=True)
        SK = UnicodeAttribute(range_key=True)

    Entry("ticket#1", "meta").save()
    item = boto3.client("dynamodb").get_item(TableName="helpdesk-local-Table", Key={"PK": {"S": "ticket#1"}, "SK": {"S": "meta"}})
    assert item["Item"]["PK"] == {"S": "ticket#1"}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"Fn::Sub": "${AWS::Region}-${!Literal}"}, "us-east-1-${Literal}"),
        ({"Fn::Sub": ["${A}/${B}", {"A": "x", "B": {"Ref": "Stage"}}]}, "x/dev"),
        ({"Fn::Join": [",", ["a", {"Ref": "Stage"}]]}, "a,dev"),
        ({"Fn::Select": [1, {"Fn::Split": ["/", "a/b/c"]}]}, "b"),
        ({"Fn::If": ["IsProd", "p", {"Ref": "AWS::NoValue"}]}, None),
        ({"Fn::Not": [{"Condition": "IsProd"}]}, True),
    ],
)
def test_resolver_evaluates_intrinsics_for_the_local_stage(expression: Any, expected: Any) -> None:
    resolver = Resolver(TEMPLATE, region="us-east-1", account_id="123456789012", stack_name="s")

    resolved = resolver.resolve({"value": expression})

    assert resolved.get("value") == expected


def test_resolver_refuses_intrinsics_it_does_not_know() -> None:
    resolver = Resolver(TEMPLATE, region="us-east-1", account_id="123456789012", stack_name="s")

    with pytest.raises(TemplateError, match="Fn::ImportValue"):
        resolver.resolve({"Fn::ImportValue": "shared-table"})


def test_dependency_order_puts_referenced_resources_first() -> None:
    order = dependency_order(TEMPLATE["Resources"])

    assert order.index("DeadLetters") < order.index("Work") < order.index("WorkPolicy")
    assert order.index("WorkflowRole") < order.index("Escalation")
    assert order.index("Bus") < order.index("TicketEvents")


def _finished(sfn: Any, execution_arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        execution: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if execution["status"] != "RUNNING":
            return execution
        time.sleep(0.05)
    raise AssertionError(f"{execution_arn} still running")
