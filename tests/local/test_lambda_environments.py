"""Every Lambda function of the deployment runs on the local stack with only what its template
resource declares (devstack.lambda_env), and does its job; and the AWS calls it makes need no
IAM action its role in infra/template.json does not allow (devstack.aws_calls, devstack.iam).

One realistic chain covers all of them, each invoked through moto's Lambda API as the local stack
registers it (devstack.stack): the authorizer verifies a token, the API creates a user, an SLA
policy, a webhook and a ticket, the Cognito trigger issues the user's claims, the publisher puts
the ticket's event on the bus, webhook delivery POSTs it, the ticket stream starts the SLA timer
and, once TTL removes the deleted ticket, purges its partition and files.
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import os
import tokenize
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from chalice.app import Chalice
from chalice.local import LambdaEventConverter, RouteMatcher

from chalicelib import composition
from chalicelib.config import function_environment
from chalicelib.tokens import mint_local_token
from devstack import aws_calls, iam, lambda_dispatch, lambda_env
from devstack.aws import LOCAL_ACCOUNT_ID, LocalAws
from devstack.cfn import Resolver, ResourceValues
from devstack.http_api import STAGE, load_chalice_config
from devstack.paths import PROJECT_DIR, TEMPLATE_PATH
from devstack.provision import Provisioned, load_template
from devstack.stack import LocalStack, StackOptions
from tests.conftest import SECRET

ONE_HOUR = {"id": "hour", "name": "Hour", "targets": {"normal": {"first_response_minutes": 60}}}
WEBHOOK_URL = "https://hooks.example.com/helpdesk"


class Receiver:
    """Stands in for the HTTPS transport: records each POST and answers 200."""

    posts: list[dict[str, Any]] = []

    def post(self, url: str, body: bytes, headers: Any, timeout: float) -> int:
        self.posts.append({"url": url, "body": json.loads(body), "headers": dict(headers)})
        return 200


@dataclass
class Local:
    aws: LocalAws
    app: Chalice
    provisioned: Provisioned
    functions: dict[str, str]
    """Logical id → local function name."""
    stream_position: int = 0

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        response = self.aws.client("lambda").invoke(FunctionName=self.functions[logical_id], Payload=json.dumps(event))
        payload = json.loads(response["Payload"].read() or b"null")
        assert "FunctionError" not in response, f"{logical_id} failed: {payload}"
        return payload

    def invoke_stream(self, logical_id: str, records: list[dict[str, Any]]) -> None:
        """As the stream's event source mapping delivers a batch: in the background, then waited for."""
        self.invoke(logical_id, {"Records": records})
        lambda_dispatch.drain()

    def new_stream_records(self) -> list[dict[str, Any]]:
        streams = self.aws.client("dynamodbstreams")
        arn = self.provisioned.attributes["HelpdeskTable"]["StreamArn"]
        records = []
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
            records += streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)["Records"]
        fresh, self.stream_position = records[self.stream_position :], len(records)
        return [{**json.loads(json.dumps(r, default=str)), "eventSourceARN": arn} for r in fresh]

    def queue_event(self, queue: str) -> dict[str, Any]:
        """What the queue's event source mapping passes its function: the messages waiting now."""
        url, arn = self.provisioned.physical[queue], self.provisioned.attributes[queue]["Arn"]
        messages = self.aws.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": {},
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": arn,
                    "awsRegion": "us-east-1",
                }
                for m in messages
            ]
        }

    def authorize(self, token: str) -> dict[str, Any]:
        response = self.invoke(
            "JwtAuth",
            {
                "type": "TOKEN",
                "authorizationToken": f"Bearer {token}",
                "methodArn": "arn:aws:execute-api:us-east-1:123456789012:local/api/GET/v1/tickets",
            },
        )
        return {**response["context"], "principalId": response["principalId"]}

    def call(self, authorizer: dict[str, Any], method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
        """An API Gateway proxy event with the authorizer's context, as API Gateway sends it."""
        converter = LambdaEventConverter(RouteMatcher(list(self.app.routes)))
        headers = {"content-type": "application/json", **{k.replace("_", "-"): v for k, v in headers.items()}}
        event = converter.create_lambda_event(method, path, headers, json.dumps(body) if body is not None else None)
        event["requestContext"]["authorizer"] = authorizer
        response = self.invoke("APIHandler", event)
        return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


@pytest.fixture
def local(aws: LocalAws, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator[Local]:
    """The local stack's provisioning and function registration (devstack.stack), on this moto."""
    from chalicelib.handlers import webhooks

    saved = dict(os.environ)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    monkeypatch.setattr(webhooks, "PinnedHttpsTransport", Receiver)
    Receiver.posts = []
    composition.reset()
    webhooks.dispatcher.cache_clear()
    try:
        stack = LocalStack(StackOptions(template_path=TEMPLATE_PATH))
        stack.aws = aws
        config = load_chalice_config(PROJECT_DIR, "app", "app")
        stack._set_environment(config.environment_variables)
        app = stack._provision_around_app_import(config)
        assert stack.provisioned is not None
        functions = {
            **lambda_dispatch.chalice_functions(app, config.app_name, STAGE),
            **lambda_dispatch.chalice_authorizer_handlers(app, config.app_name, STAGE),
        }
        caplog.set_level(logging.ERROR, logger=lambda_dispatch.__name__)
        yield Local(aws, app, stack.provisioned, {lid: name for lid, (name, _) in functions.items()})
        lambda_dispatch.drain()
        assert [r.getMessage() for r in caplog.records if r.name == lambda_dispatch.__name__] == []
    finally:
        os.environ.clear()
        os.environ.update(saved)
        composition.reset()
        webhooks.dispatcher.cache_clear()


CUSTOMER_EMAIL = "cy@example.com"


def is_event(record: dict[str, Any]) -> bool:
    """What the publisher's event source mapping passes: event INSERTs only (its FilterCriteria)."""
    return record["eventName"] == "INSERT" and record["dynamodb"]["NewImage"].get("kind", {}).get("S") == "event"


def mail_to(local: Local, address: str) -> list[Any]:
    """The mail moto's SES accepted for `address`, oldest first, parsed."""
    from moto.ses.models import ses_backends

    messages = ses_backends[LOCAL_ACCOUNT_ID][local.aws.region].sent_messages
    raws = [m.raw_data for m in messages if address in m.destinations]
    return [email.message_from_bytes(raw.encode("utf-8"), policy=email.policy.default) for raw in raws]


def run_every_function(local: Local) -> None:
    """The chain of the module docstring, asserting what each function does."""
    admin = local.authorize(mint_local_token(sub="admin-1", role="admin", secret=SECRET))
    assert admin["role"] == "admin" and admin["principalId"] == "admin-1"

    assert local.call(admin, "POST", "/v1/teams", {"id": "support", "name": "Support"})[0] == 201
    status, _ = local.call(
        admin,
        "POST",
        "/v1/users",
        {
            "id": "c0ffee-agent",
            "name": "Ada",
            "email": "ada@example.com",
            "role": "agent",
            "access": "all",
            "team_ids": ["support"],
        },
    )
    assert status == 201
    customer = {"id": "c0ffee-customer", "name": "Cy", "email": CUSTOMER_EMAIL, "role": "customer"}
    assert local.call(admin, "POST", "/v1/users", customer)[0] == 201
    claims = local.invoke(
        "PreTokenGeneration",
        {
            "version": "1",
            "triggerSource": "TokenGeneration_Authentication",
            "userPoolId": "us-east-1_local",
            "userName": "ada",
            "request": {"userAttributes": {"sub": "c0ffee-agent"}, "groupConfiguration": {}},
            "response": {"claimsOverrideDetails": None},
        },
    )["response"]["claimsOverrideDetails"]["claimsToAddOrOverride"]
    assert claims["role"] == "agent" and claims["access"] == "all"

    assert local.call(admin, "POST", "/v1/sla-policies", ONE_HOUR)[0] == 201
    assert local.call(admin, "POST", "/v1/webhooks", {"url": WEBHOOK_URL, "events": ["ticket.created"]})[0] == 201
    local.new_stream_records()  # the directory writes: not what this test follows
    status, ticket = local.call(
        admin,
        "POST",
        "/v1/tickets",
        {"subject": "VPN drops", "description": "Every hour.", "requester_id": "c0ffee-customer"},
        Idempotency_Key=str(uuid.uuid4()),
    )
    assert status == 201
    ticket_id = ticket["id"]
    records = local.new_stream_records()

    # The publisher's event source mapping passes event INSERTs only (its FilterCriteria).
    events = [r for r in records if is_event(r)]
    local.invoke_stream("PublishEvents", events)
    sqs = local.aws.client("sqs")
    integrations = sqs.receive_message(QueueUrl=local.provisioned.physical["IntegrationsQueue"], MaxNumberOfMessages=10)
    published = [json.loads(m["Body"]) for m in integrations.get("Messages", [])]
    assert ("ticket.created", ticket_id) in [(m["detail-type"], m["detail"]["ticket_id"]) for m in published]

    assert local.invoke("DeliverWebhooks", local.queue_event("WebhookDeliveryQueue")) == {"batchItemFailures": []}
    assert [(p["url"], p["body"]["type"], p["body"]["detail"]["ticket_id"]) for p in Receiver.posts] == [
        (WEBHOOK_URL, "ticket.created", ticket_id)
    ]

    # A public reply mails the requester (SES through SendNotifications); a permanent bounce
    # (RecordMailFeedback, from the SES feedback topic) stops further mail to that address.
    ses = local.aws.client("ses")

    def reply_and_send(body: str) -> float:
        """Mail sent (moto's count) for one public reply, after what was sent before it."""
        before = ses.get_send_quota()["SentLast24Hours"]
        assert local.call(admin, "POST", f"/v1/tickets/{ticket_id}/comments", {"body": body, "visibility": "public"})[0] == 201
        local.invoke_stream("PublishEvents", [r for r in local.new_stream_records() if is_event(r)])
        assert local.invoke("SendNotifications", local.queue_event("NotificationQueue")) == {"batchItemFailures": []}
        return ses.get_send_quota()["SentLast24Hours"] - before

    assert reply_and_send("We are on it.") > 0

    # The customer answers the mail: SES stores it under inbound/ and notifies InboundMailTopic,
    # which delivers to InboundMailQueue (raw); ReceiveMail posts it as the customer's comment.
    notification = mail_to(local, CUSTOMER_EMAIL)[-1]
    answer = EmailMessage()
    answer["From"], answer["To"], answer["Subject"] = CUSTOMER_EMAIL, notification["Reply-To"], f"Re: {notification['Subject']}"
    answer["Message-ID"], answer["In-Reply-To"] = "<answer-1@example.com>", notification["Message-ID"]
    answer.set_content("Still dropping.\n\n> We are on it.\n")
    inbound_bucket = local.provisioned.physical["InboundMailBucket"]
    local.aws.client("s3").put_object(Bucket=inbound_bucket, Key="inbound/answer-1", Body=answer.as_bytes())
    receipt = {"type": "S3", "bucketName": inbound_bucket, "objectKey": "inbound/answer-1"}
    checks = {f"{name}Verdict": {"status": "PASS"} for name in ("spf", "dkim", "dmarc", "spam", "virus")}
    ses_notice = {
        "notificationType": "Received",
        "mail": {"messageId": "answer-1", "source": CUSTOMER_EMAIL},
        "receipt": {**checks, "action": receipt},
    }
    sns = local.aws.client("sns")
    sns.publish(TopicArn=local.provisioned.physical["InboundMailTopic"], Message=json.dumps(ses_notice))
    assert local.invoke("ReceiveMail", local.queue_event("InboundMailQueue")) == {"batchItemFailures": []}
    status, timeline = local.call(admin, "GET", f"/v1/tickets/{ticket_id}/timeline?type=comment")
    assert (timeline["items"][0]["actor_id"], timeline["items"][0]["body"]) == ("c0ffee-customer", "Still dropping.")
    bounce = {
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": CUSTOMER_EMAIL}]},
    }
    topic = local.provisioned.physical["MailFeedbackTopic"]
    notice = {"Type": "Notification", "TopicArn": topic, "Subject": None, "Message": json.dumps(bounce), "MessageAttributes": {}}
    local.invoke("RecordMailFeedback", {"Records": [{"EventSource": "aws:sns", "EventSubscriptionArn": topic, "Sns": notice}]})
    assert reply_and_send("Fixed in 2.4.") == 0

    local.invoke_stream("TicketStream", records)
    sfn = local.aws.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=local.provisioned.physical["SlaTimerStateMachine"])["executions"]
    started = [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]) for e in executions]
    assert [(s["ticket_id"], s["metric"]) for s in started] == [(ticket_id, "first_response")]

    # TTL removes the deleted ticket's item 90 days later; the stream purges what is left.
    assert local.call(admin, "DELETE", f"/v1/tickets/{ticket_id}")[0] == 204
    s3, bucket = local.aws.client("s3"), local.provisioned.physical["AttachmentsBucket"]
    s3.put_object(Bucket=bucket, Key=f"tickets/{ticket_id}/a1/log.txt", Body=b"x")
    dynamodb, table = local.aws.client("dynamodb"), local.provisioned.physical["HelpdeskTable"]
    local.new_stream_records()
    dynamodb.delete_item(TableName=table, Key={"PK": {"S": f"TICKET#{ticket_id}"}, "SK": {"S": "TICKET"}})
    local.invoke_stream("TicketStream", local.new_stream_records())
    left = dynamodb.query(
        TableName=table, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": f"TICKET#{ticket_id}"}}
    )["Items"]
    assert left == []
    assert s3.list_objects_v2(Bucket=bucket, Prefix=f"tickets/{ticket_id}/").get("KeyCount") == 0

    # Last: the escalation workflow keeps writing to its ticket in the background. The API writes
    # the escalation; TicketStream starts its workflow from the stream record.
    status, other = local.call(admin, "POST", "/v1/tickets", {"subject": "Export crashes", "description": "Since 2.3."})
    path = f"/v1/tickets/{other['id']}/escalations"
    local.new_stream_records()
    status, escalation = local.call(admin, "POST", path, {"description": "Crash on export"})
    assert status == 201
    local.invoke_stream("TicketStream", local.new_stream_records())
    workflows = sfn.list_executions(stateMachineArn=local.provisioned.physical["EscalationStateMachine"])["executions"]
    assert [e["name"] for e in workflows] == [escalation["id"]]

    # TicketStream routes a new ticket: the rules, the team's staff, the round-robin cursor.
    rule = {"name": "Everything", "team_id": "support", "assignment": "round_robin"}
    assert local.call(admin, "POST", "/v1/routing-rules", rule)[0] == 201
    local.new_stream_records()
    status, routed = local.call(admin, "POST", "/v1/tickets", {"subject": "Printer", "description": "Jammed."})
    local.invoke_stream("TicketStream", local.new_stream_records())
    assert local.call(admin, "GET", f"/v1/tickets/{routed['id']}")[1]["assignee_id"] == "c0ffee-agent"


def test_every_function_runs_with_its_declared_environment_and_does_its_job(local: Local) -> None:
    run_every_function(local)


def test_the_chain_invokes_every_lambda_function_of_the_deployment(local: Local) -> None:
    template = load_template(TEMPLATE_PATH)["Resources"]
    in_template = {lid for lid, d in template.items() if "Environment" in d.get("Properties", {})}

    assert set(local.functions) == in_template == set(lambda_env.chalice_function_names(local.app))
    assert set(local.functions) == {
        "APIHandler",
        "JwtAuth",
        "PreTokenGeneration",
        "PublishEvents",
        "TicketStream",
        "DeliverWebhooks",
        "SendNotifications",
        "RecordMailFeedback",
        "ReceiveMail",
    }


def test_a_function_sees_only_its_declared_variables_not_the_process_environment(local: Local) -> None:
    environments = {lid: lambda_dispatch.environment_of(name) or {} for lid, name in local.functions.items()}
    ticket_stream = environments["TicketStream"]

    assert os.environ.get("HELPDESK_JWT_SECRET") and os.environ.get("HELPDESK_EVENT_BUS")  # the process has them
    assert "HELPDESK_JWT_SECRET" not in ticket_stream and "HELPDESK_EVENT_BUS" not in ticket_stream
    assert ticket_stream["HELPDESK_SLA_STATE_MACHINE"] == local.provisioned.physical["SlaTimerStateMachine"]
    assert ticket_stream["HELPDESK_STAGE"] == "local"  # .chalice/config.json's stage variables
    # A deploy-time secret is replaced by its local stand-in, only where the template declares it.
    assert environments["APIHandler"]["HELPDESK_JWT_SECRET"] == SECRET
    assert "HELPDESK_JWT_SECRET" not in environments["PreTokenGeneration"]


def test_every_function_calls_only_aws_actions_its_role_allows(local: Local, capsys: pytest.CaptureFixture[str]) -> None:
    with aws_calls.recording() as calls:
        run_every_function(local)
    template = load_template(TEMPLATE_PATH)
    provisioned = {
        lid: ResourceValues(ref, dict(local.provisioned.attributes.get(lid, {})))
        for lid, ref in local.provisioned.physical.items()
    }
    resolver = Resolver(template, local.aws.region, LOCAL_ACCOUNT_ID, "helpdesk-local", resources=provisioned)
    roles = iam.function_roles(template, resolver)

    missing, report = [], ["IAM actions per function (allowed but not called by its code):"]
    for logical_id, function_name in sorted(local.functions.items()):
        role = roles[logical_id]
        comparison = iam.compare(role, calls.get(function_name, []))
        missing += [
            f"{logical_id} ({role.logical_id}) lacks {action}, needed by {', '.join(ops)}"
            for action, ops in comparison.missing.items()
        ]
        missing += [f"{logical_id} ({role.logical_id}) may not {request}" for request in comparison.denied]
        service_used = iam.used_by_lambda_service(template["Resources"][logical_id])
        unused = [a for a in comparison.unused if a not in service_used]
        report.append(f"  {logical_id}: {', '.join(unused) or '-'}")
        report.append("    called: " + ", ".join(sorted({f"{c.service}:{c.operation}" for c in calls.get(function_name, [])})))
        assert role.unknown_managed_policies == []
    with capsys.disabled():
        print("\n" + "\n".join(report))

    assert missing == []
    called = {logical_id for logical_id, name in local.functions.items() if calls.get(name)}
    assert called == {
        "APIHandler",
        "TicketStream",
        "PublishEvents",
        "DeliverWebhooks",
        "PreTokenGeneration",
        "SendNotifications",
        "RecordMailFeedback",
        "ReceiveMail",
    }


# Read at import by `chalice package` (event source ARNs), or not a Lambda function (the CLI).
READS_THE_PROCESS_ENVIRONMENT = {"chalicelib/config.py", "chalicelib/handlers/__init__.py", "chalicelib/cli.py"}


def test_app_code_reads_variables_only_through_the_function_environment() -> None:
    # Tokens, not ast.parse: CPython 3.11.7 keeps the AST converter's recursion depth in one
    # process-wide place, and moto's Step Functions threads (ast.literal_eval) may be using it.
    direct = []
    for path in sorted((PROJECT_DIR / "chalicelib").rglob("*.py")):
        relative = str(path.relative_to(PROJECT_DIR))
        with path.open("rb") as source:
            names = [t for t in tokenize.tokenize(source.readline) if t.type in (tokenize.NAME, tokenize.OP)]
        for before, dot, after in zip(names, names[1:], names[2:], strict=False):
            attribute = before.string == "os" and dot.string == "." and after.string in ("environ", "getenv", "environb")
            imported = before.string == "os" and dot.string == "import" and after.string in ("environ", "getenv")
            if (attribute or imported) and relative not in READS_THE_PROCESS_ENVIRONMENT:
                direct.append(f"{relative}:{before.start[0]}")

    assert direct == [], "read variables with chalicelib.config.environ(), which the local stack sets per function"


def test_composition_builds_once_per_function_environment_and_never_across_them() -> None:
    composition.reset()
    try:
        with function_environment({"HELPDESK_TABLE": "stream-table"}):
            stream_settings = composition.settings()
        with function_environment({"HELPDESK_TABLE": "other-table", "HELPDESK_JWT_SECRET": "x" * 32}):
            other_settings = composition.settings()
        with function_environment({"HELPDESK_TABLE": "stream-table"}):
            assert composition.settings() is stream_settings  # built once per environment

        assert (stream_settings.table_name, other_settings.table_name) == ("stream-table", "other-table")
        assert stream_settings.configured_cursor_secret is None and other_settings.cursor_secret == "x" * 32
        assert composition.settings().table_name == os.environ["HELPDESK_TABLE"]  # outside: the process's
    finally:
        composition.reset()


def test_the_role_check_refuses_a_partition_or_object_outside_what_the_statement_grants() -> None:
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/t"
    resources = {
        "R": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Policies": [
                    {
                        "PolicyDocument": {
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": ["dynamodb:Query", "dynamodb:UpdateItem"],
                                    "Resource": table,
                                    "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["TICKET#*"]}},
                                },
                                {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/tickets/*"},
                            ]
                        }
                    }
                ]
            },
        }
    }
    resolver = Resolver({"Resources": resources}, "us-east-1", LOCAL_ACCOUNT_ID, "s")
    role = iam.role_of("R", resources, resolver)

    def query(pk: str, index: str | None = None) -> aws_calls.Call:
        params = {"TableName": "t", "KeyConditionExpression": "#0 = :0", "ExpressionAttributeNames": {"#0": "PK"}}
        params["ExpressionAttributeValues"] = {":0": {"S": pk}}
        return aws_calls.Call("dynamodb", "Query", {**params, **({"IndexName": index} if index else {})})

    delete = aws_calls.Call("s3", "DeleteObjects", {"Bucket": "b", "Delete": {"Objects": [{"Key": "tickets/1/a"}, {"Key": "x"}]}})
    comparison = iam.compare(role, [query("TICKET#1"), query("DIR#user"), query("TICKET#1", index="ByActivity"), delete])

    assert comparison.missing == {}
    assert comparison.denied == [
        f"dynamodb:Query on {table} dynamodb:LeadingKeys=['DIR#user']",
        f"dynamodb:Query on {table}/index/ByActivity",
        "s3:DeleteObject on arn:aws:s3:::b/x",
    ]
    assert comparison.unused == ["dynamodb:UpdateItem"]
