"""CloudFormation resource types → the boto3 calls that create them on moto, one function each.

Each translator receives properties whose intrinsics are already resolved. Properties it does
not handle are reported by the caller as notes, with the reason from `Translator.ignored`.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.aws import LOCAL_ACCOUNT_ID, LocalAws
from devstack.cfn import ResourceValues, TemplateError, as_text

# Event targets moto can deliver to; Lambda and Step Functions targets make put_events raise
# NotImplementedError in moto 5.2.5, which would break every publish of the app.
_DELIVERABLE_TARGET_SERVICES = ("sqs", "logs", "events")
_TRUST_ANY_SERVICE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}


@dataclass
class CreateRequest:
    """One resource to create: its resolved properties and the name it gets unless it sets one."""

    logical_id: str
    properties: dict[str, Any]
    name: str
    aws: LocalAws
    template_dir: Path
    default_role_arn: str
    notes: list[str]

    def note(self, message: str) -> None:
        self.notes.append(f"{self.logical_id}: {message}")


@dataclass(frozen=True)
class Translator:
    """How one CloudFormation type becomes boto3 calls."""

    create: Callable[[CreateRequest], ResourceValues]
    handled: frozenset[str]
    ignored: Mapping[str, str] = field(default_factory=dict)
    """Properties with no local effect → why that is acceptable."""


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# --- placeholders for Lambda functions ---------------------------------------------------


def create_local_role(aws: LocalAws, role_name: str) -> str:
    """A role Lambda functions and state machines can name; moto checks that it exists."""
    iam = aws.client("iam")
    try:
        role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(_TRUST_ANY_SERVICE))
    except iam.exceptions.EntityAlreadyExistsException:
        role = iam.get_role(RoleName=role_name)
    return str(role["Role"]["Arn"])


def _placeholder_package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "placeholder.py",
            "def handler(event, context):\n    raise RuntimeError('run by devstack.lambda_dispatch, not by moto')\n",
        )
    return buffer.getvalue()


def create_lambda_function(aws: LocalAws, function_name: str, role_arn: str) -> ResourceValues:
    """A Lambda function whose code never runs: invocations go to a registered Python handler."""
    created = aws.client("lambda").create_function(
        FunctionName=function_name,
        Runtime="python3.12",
        Role=role_arn,
        Handler="placeholder.handler",
        Code={"ZipFile": _placeholder_package()},
        Timeout=900,
    )
    return ResourceValues(ref=function_name, attributes={"Arn": created["FunctionArn"]})


# --- translators -------------------------------------------------------------------------


def create_dynamodb_table(request: CreateRequest) -> ResourceValues:
    properties = request.properties
    table_name = properties.get("TableName", request.name)
    billing_mode = properties.get("BillingMode", "PROVISIONED")
    arguments: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": billing_mode,
    }
    if billing_mode == "PROVISIONED":
        arguments["ProvisionedThroughput"] = properties["ProvisionedThroughput"]
    index_keys = ["IndexName", "KeySchema", "Projection"]
    if billing_mode == "PROVISIONED":
        index_keys.append("ProvisionedThroughput")
    for cfn_key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if properties.get(cfn_key):
            arguments[cfn_key] = [{key: index[key] for key in index_keys if key in index} for index in properties[cfn_key]]
    stream = properties.get("StreamSpecification")
    if stream:
        arguments["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    client = request.aws.client("dynamodb")
    table = client.create_table(**arguments)["TableDescription"]
    ttl = properties.get("TimeToLiveSpecification")
    if ttl and _flag(ttl.get("Enabled")):
        client.update_time_to_live(
            TableName=table_name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
        )
    attributes = {"Arn": table["TableArn"]}
    if table.get("LatestStreamArn"):
        attributes["StreamArn"] = table["LatestStreamArn"]
    return ResourceValues(ref=table_name, attributes=attributes)


def create_s3_bucket(request: CreateRequest) -> ResourceValues:
    properties = request.properties
    # Bucket names must be lowercase; logical ids are CamelCase.
    bucket = properties.get("BucketName", request.name.lower())
    client = request.aws.client("s3")
    if request.aws.region == "us-east-1":
        client.create_bucket(Bucket=bucket)
    else:
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": request.aws.region})
    versioning = properties.get("VersioningConfiguration")
    if versioning:
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": versioning["Status"]})
    cors = properties.get("CorsConfiguration")
    if cors:
        client.put_bucket_cors(
            Bucket=bucket, CORSConfiguration={"CORSRules": [_s3_cors_rule(rule) for rule in cors["CorsRules"]]}
        )
    region = request.aws.region
    return ResourceValues(
        ref=bucket,
        attributes={
            "Arn": f"arn:aws:s3:::{bucket}",
            "DomainName": f"{bucket}.s3.amazonaws.com",
            "RegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com",
        },
    )


def _s3_cors_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    # CloudFormation and the S3 API spell three of these keys differently.
    renamed = {"Id": "ID", "ExposedHeaders": "ExposeHeaders", "MaxAge": "MaxAgeSeconds"}
    return {renamed.get(key, key): value for key, value in rule.items()}


_SQS_ATTRIBUTE_PROPERTIES = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "VisibilityTimeout",
)


def create_sqs_queue(request: CreateRequest) -> ResourceValues:
    properties = request.properties
    fifo = _flag(properties.get("FifoQueue", False))
    queue_name = properties.get("QueueName") or request.name + (".fifo" if fifo else "")
    attributes: dict[str, str] = {}
    for name in _SQS_ATTRIBUTE_PROPERTIES:
        if name not in properties:
            continue
        value = properties[name]
        if isinstance(value, dict):
            value = json.dumps(value)
        attributes[name] = as_text(value)
    client = request.aws.client("sqs")
    queue_url = client.create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
    queue_arn = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return ResourceValues(ref=queue_url, attributes={"Arn": queue_arn, "QueueName": queue_name, "QueueUrl": queue_url})


def create_sqs_queue_policy(request: CreateRequest) -> ResourceValues:
    client = request.aws.client("sqs")
    policy = _json_text(request.properties["PolicyDocument"])
    for queue_url in request.properties["Queues"]:
        client.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policy})
    return ResourceValues(ref=request.name)


def create_event_bus(request: CreateRequest) -> ResourceValues:
    name = request.properties.get("Name", request.name)
    arn = request.aws.client("events").create_event_bus(Name=name)["EventBusArn"]
    return ResourceValues(ref=name, attributes={"Arn": arn, "Name": name})


_RULE_TARGET_KEYS = (
    "Id",
    "Arn",
    "Input",
    "InputPath",
    "InputTransformer",
    "SqsParameters",
    "DeadLetterConfig",
    "RetryPolicy",
    "RoleArn",
)


def create_event_rule(request: CreateRequest) -> ResourceValues:
    properties = request.properties
    name = properties.get("Name", request.name)
    bus = properties.get("EventBusName", "default")
    arguments: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": properties.get("State", "ENABLED")}
    if "EventPattern" in properties:
        arguments["EventPattern"] = _json_text(properties["EventPattern"])
    if "ScheduleExpression" in properties:
        arguments["ScheduleExpression"] = properties["ScheduleExpression"]
        request.note("ScheduleExpression accepted, but moto never fires scheduled rules")
    for key in ("Description", "RoleArn"):
        if key in properties:
            arguments[key] = properties[key]
    client = request.aws.client("events")
    arn = client.put_rule(**arguments)["RuleArn"]
    targets = []
    for target in properties.get("Targets", []):
        service = target["Arn"].split(":")[2]
        if service not in _DELIVERABLE_TARGET_SERVICES:
            request.note(
                f"target {target['Id']} ({service}) left out: moto cannot deliver events to it and put_events would fail"
            )
            continue
        targets.append({key: target[key] for key in _RULE_TARGET_KEYS if key in target})
    if targets:
        client.put_targets(Rule=name, EventBusName=bus, Targets=targets)
    return ResourceValues(ref=name, attributes={"Arn": arn})


def create_state_machine(request: CreateRequest) -> ResourceValues:
    properties = request.properties
    definition = _state_machine_definition(properties, request.template_dir)
    for key, value in properties.get("DefinitionSubstitutions", {}).items():
        definition = definition.replace("${" + key + "}", as_text(value))
    try:
        json.loads(definition)
    except json.JSONDecodeError as exc:
        raise TemplateError(f"definition is not JSON after substitutions: {exc}") from exc
    name = properties.get("StateMachineName", request.name)
    arn = request.aws.client("stepfunctions").create_state_machine(
        name=name,
        definition=definition,
        roleArn=properties.get("RoleArn") or request.default_role_arn,
        type=properties.get("StateMachineType", "STANDARD"),
    )["stateMachineArn"]
    return ResourceValues(ref=arn, attributes={"Arn": arn, "Name": name})


def _state_machine_definition(properties: Mapping[str, Any], template_dir: Path) -> str:
    if "DefinitionString" in properties:
        return _json_text(properties["DefinitionString"])
    if "Definition" in properties:
        return json.dumps(properties["Definition"])
    location = properties.get("DefinitionS3Location")
    # `aws cloudformation package` accepts a local file path here and uploads it.
    if isinstance(location, str):
        return (template_dir / location).read_text(encoding="utf-8")
    raise TemplateError("needs DefinitionString, Definition or a local DefinitionS3Location path")


def create_iam_role(request: CreateRequest) -> ResourceValues:
    properties = request.properties
    name = properties.get("RoleName", request.name)
    client = request.aws.client("iam")
    role = client.create_role(
        RoleName=name,
        Path=properties.get("Path", "/"),
        AssumeRolePolicyDocument=_json_text(properties["AssumeRolePolicyDocument"]),
    )["Role"]
    for policy in properties.get("Policies", []):
        client.put_role_policy(
            RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=_json_text(policy["PolicyDocument"])
        )
    return ResourceValues(ref=name, attributes={"Arn": role["Arn"], "RoleId": role["RoleId"]})


_NOT_ENFORCED = "moto does not enforce it"
TRANSLATORS: dict[str, Translator] = {
    "AWS::DynamoDB::Table": Translator(
        create_dynamodb_table,
        handled=frozenset(
            {
                "TableName",
                "BillingMode",
                "KeySchema",
                "AttributeDefinitions",
                "ProvisionedThroughput",
                "GlobalSecondaryIndexes",
                "LocalSecondaryIndexes",
                "StreamSpecification",
                "TimeToLiveSpecification",
            }
        ),
        ignored={
            "PointInTimeRecoverySpecification": "no backups locally",
            "SSESpecification": "moto stores items unencrypted",
            "DeletionProtectionEnabled": "the local table lives as long as the process",
            "Tags": "tags have no local effect",
            "TableClass": "no cost model locally",
            "ContributorInsightsSpecification": "no metrics locally",
        },
    ),
    "AWS::S3::Bucket": Translator(
        create_s3_bucket,
        handled=frozenset({"BucketName", "VersioningConfiguration", "CorsConfiguration"}),
        ignored={
            "BucketEncryption": "moto stores objects unencrypted",
            "PublicAccessBlockConfiguration": _NOT_ENFORCED,
            "OwnershipControls": _NOT_ENFORCED,
            "LifecycleConfiguration": "moto never expires objects",
            "Tags": "tags have no local effect",
        },
    ),
    "AWS::SQS::Queue": Translator(
        create_sqs_queue,
        handled=frozenset({"QueueName", *_SQS_ATTRIBUTE_PROPERTIES}),
        ignored={
            "KmsMasterKeyId": "moto stores messages unencrypted",
            "KmsDataKeyReusePeriodSeconds": "moto stores messages unencrypted",
            "SqsManagedSseEnabled": "moto stores messages unencrypted",
            "Tags": "tags have no local effect",
        },
    ),
    "AWS::SQS::QueuePolicy": Translator(create_sqs_queue_policy, handled=frozenset({"PolicyDocument", "Queues"})),
    "AWS::Events::EventBus": Translator(
        create_event_bus, handled=frozenset({"Name"}), ignored={"Tags": "tags have no local effect"}
    ),
    "AWS::Events::Rule": Translator(
        create_event_rule,
        handled=frozenset(
            {"Name", "EventBusName", "EventPattern", "ScheduleExpression", "State", "Description", "RoleArn", "Targets"}
        ),
    ),
    "AWS::StepFunctions::StateMachine": Translator(
        create_state_machine,
        handled=frozenset(
            {
                "StateMachineName",
                "StateMachineType",
                "DefinitionString",
                "Definition",
                "DefinitionS3Location",
                "DefinitionSubstitutions",
                "RoleArn",
            }
        ),
        ignored={
            "LoggingConfiguration": "no CloudWatch Logs locally",
            "TracingConfiguration": "no X-Ray locally",
            "Tags": "tags have no local effect",
        },
    ),
    "AWS::IAM::Role": Translator(
        create_iam_role,
        handled=frozenset({"RoleName", "Path", "AssumeRolePolicyDocument", "Policies"}),
        ignored={
            "ManagedPolicyArns": _NOT_ENFORCED,
            "Description": "no local effect",
            "MaxSessionDuration": "no local effect",
            "PermissionsBoundary": _NOT_ENFORCED,
            "Tags": "tags have no local effect",
        },
    ),
}


# --- issue 5: identity, edge, mail, alarms ----------------------------------------------


def create_secret(request: CreateRequest) -> ResourceValues:
    properties = request.properties
    name = properties.get("Name", request.name)
    client = request.aws.client("secretsmanager")
    if "SecretString" in properties:
        value = properties["SecretString"]
    else:
        generate = properties.get("GenerateSecretString", {})
        value = client.get_random_password(
            PasswordLength=int(generate.get("PasswordLength", 32)),
            ExcludePunctuation=_flag(generate.get("ExcludePunctuation", False)),
        )["RandomPassword"]
    arn = client.create_secret(Name=name, SecretString=value, Description=properties.get("Description", ""))["ARN"]
    return ResourceValues(ref=arn, attributes={"Id": arn})


_USER_POOL_KEYS = (
    "UserPoolName",
    "UsernameAttributes",
    "AutoVerifiedAttributes",
    "AdminCreateUserConfig",
    "Policies",
    "AccountRecoverySetting",
    "DeletionProtection",
    "LambdaConfig",
    "Schema",
    "MfaConfiguration",
    "UserAttributeUpdateSettings",
)


def create_user_pool(request: CreateRequest) -> ResourceValues:
    properties = request.properties
    arguments = {key: properties[key] for key in _USER_POOL_KEYS if key in properties}
    arguments["PoolName"] = arguments.pop("UserPoolName", request.name)
    pool = request.aws.client("cognito-idp").create_user_pool(**arguments)["UserPool"]
    return ResourceValues(
        ref=pool["Id"],
        attributes={
            "Arn": pool["Arn"],
            "ProviderName": f"cognito-idp.{request.aws.region}.amazonaws.com/{pool['Id']}",
            "ProviderURL": f"https://cognito-idp.{request.aws.region}.amazonaws.com/{pool['Id']}",
            "UserPoolId": pool["Id"],
        },
    )


_USER_POOL_CLIENT_KEYS = (
    "UserPoolId",
    "ClientName",
    "GenerateSecret",
    "ExplicitAuthFlows",
    "PreventUserExistenceErrors",
    "IdTokenValidity",
    "AccessTokenValidity",
    "RefreshTokenValidity",
    "TokenValidityUnits",
    "CallbackURLs",
    "LogoutURLs",
    "AllowedOAuthFlows",
    "AllowedOAuthScopes",
    "AllowedOAuthFlowsUserPoolClient",
    "SupportedIdentityProviders",
)


def create_user_pool_client(request: CreateRequest) -> ResourceValues:
    properties = request.properties
    arguments = {key: properties[key] for key in _USER_POOL_CLIENT_KEYS if key in properties}
    arguments.setdefault("ClientName", request.name)
    client = request.aws.client("cognito-idp").create_user_pool_client(**arguments)["UserPoolClient"]
    return ResourceValues(ref=client["ClientId"], attributes={"ClientId": client["ClientId"], "Name": client["ClientName"]})


def create_lambda_permission(request: CreateRequest) -> ResourceValues:
    properties = request.properties
    statement_id = request.name
    arguments = {
        "FunctionName": properties["FunctionName"],
        "StatementId": statement_id,
        "Action": properties["Action"],
        "Principal": properties["Principal"],
    }
    for key in ("SourceArn", "SourceAccount"):
        if key in properties:
            arguments[key] = properties[key]
    request.aws.client("lambda").add_permission(**arguments)
    return ResourceValues(ref=statement_id)


def create_web_acl(request: CreateRequest) -> ResourceValues:
    properties = request.properties
    arguments = {
        key: properties[key]
        for key in ("Name", "Scope", "DefaultAction", "Description", "Rules", "VisibilityConfig", "CustomResponseBodies")
        if key in properties
    }
    arguments.setdefault("Name", request.name)
    summary = request.aws.client("wafv2").create_web_acl(**arguments)["Summary"]
    request.note("web ACL created, but the local API (chalice local) is not behind WAF: no per-client rate limit locally")
    return ResourceValues(
        ref=f"{summary['Name']}|{summary['Id']}|{properties['Scope']}",
        attributes={"Arn": summary["ARN"], "Id": summary["Id"]},
    )


def create_web_acl_association(request: CreateRequest) -> ResourceValues:
    # Reached only if the associated resource resolved; the project's association names the
    # API stage chalice generates, which never exists locally (see the Translator's note).
    request.aws.client("wafv2").associate_web_acl(
        WebACLArn=request.properties["WebACLArn"], ResourceArn=request.properties["ResourceArn"]
    )
    return ResourceValues(ref=request.name)


def create_sns_topic(request: CreateRequest) -> ResourceValues:
    properties = request.properties
    name = properties.get("TopicName", request.name)
    attributes = {}
    if "DisplayName" in properties:
        attributes["DisplayName"] = properties["DisplayName"]
    client = request.aws.client("sns")
    arn = client.create_topic(Name=name, Attributes=attributes)["TopicArn"]
    for subscription in properties.get("Subscription", []):
        client.subscribe(TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"])
    return ResourceValues(ref=arn, attributes={"TopicArn": arn, "TopicName": name})


def create_sns_topic_policy(request: CreateRequest) -> ResourceValues:
    client = request.aws.client("sns")
    policy = _json_text(request.properties["PolicyDocument"])
    for topic_arn in request.properties["Topics"]:
        client.set_topic_attributes(TopicArn=topic_arn, AttributeName="Policy", AttributeValue=policy)
    return ResourceValues(ref=request.name)


def create_sns_subscription(request: CreateRequest) -> ResourceValues:
    properties = request.properties
    attributes = {}
    if "RawMessageDelivery" in properties:
        attributes["RawMessageDelivery"] = as_text(properties["RawMessageDelivery"])
    for key in ("FilterPolicy", "RedrivePolicy"):
        if key in properties:
            attributes[key] = _json_text(properties[key])
    arn = request.aws.client("sns").subscribe(
        TopicArn=properties["TopicArn"],
        Protocol=properties["Protocol"],
        Endpoint=properties["Endpoint"],
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return ResourceValues(ref=arn)


def create_s3_bucket_policy(request: CreateRequest) -> ResourceValues:
    """The policy without its conditional statements: moto evaluates a statement's Condition
    without any request context (no aws:SourceAccount, aws:SecureTransport), so every condition
    fails, and moto answers a failed condition with a deny, even on an Allow: InboundMailBucket's
    policy (SES may write, TLS only) would refuse every object request, SES's stand-in included."""
    document = request.properties["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    kept = [statement for statement in statements if "Condition" not in statement]
    if len(kept) < len(statements):
        left_out = ", ".join(str(statement.get("Sid", "?")) for statement in statements if "Condition" in statement)
        request.note(f"statements {left_out} not applied (moto would deny every request on a conditional statement)")
    if kept:
        request.aws.client("s3").put_bucket_policy(
            Bucket=request.properties["Bucket"], Policy=json.dumps({**document, "Statement": kept})
        )
    return ResourceValues(ref=request.name)


def create_receipt_rule_set(request: CreateRequest) -> ResourceValues:
    name = request.properties.get("RuleSetName", request.name)
    request.aws.client("ses").create_receipt_rule_set(RuleSetName=name)
    request.note("receipt rule set created; moto receives no mail, the local SMTP receiver runs its rules instead")
    return ResourceValues(ref=name)


def create_receipt_rule(request: CreateRequest) -> ResourceValues:
    properties = request.properties
    rule = dict(properties["Rule"])
    rule.setdefault("Name", request.name)
    arguments: dict[str, Any] = {"RuleSetName": properties["RuleSetName"], "Rule": rule}
    if "After" in properties:
        arguments["After"] = properties["After"]
    request.aws.client("ses").create_receipt_rule(**arguments)
    return ResourceValues(ref=rule["Name"])


def create_email_identity(request: CreateRequest) -> ResourceValues:
    identity = str(request.properties["EmailIdentity"])
    ses = request.aws.client("ses")
    if "@" in identity:
        ses.verify_email_identity(EmailAddress=identity)
    else:
        # moto verifies at once; SES would wait for the DNS records. Sending needs it verified.
        ses.verify_domain_identity(Domain=identity)
    return ResourceValues(ref=identity)


def create_configuration_set(request: CreateRequest) -> ResourceValues:
    name = str(request.properties.get("Name") or request.name)
    request.aws.client("ses").create_configuration_set(ConfigurationSet={"Name": name})
    return ResourceValues(ref=name)


def create_configuration_set_event_destination(request: CreateRequest) -> ResourceValues:
    properties = request.properties
    destination = dict(properties["EventDestination"])
    sns = destination.pop("SnsDestination", None)
    if sns is not None:
        destination["SNSDestination"] = {"TopicARN": sns["TopicARN"]}
    request.aws.client("ses").create_configuration_set_event_destination(
        ConfigurationSetName=properties["ConfigurationSetName"], EventDestination=destination
    )
    request.note("moto records the destination but publishes no bounce or complaint: invoke record_mail_feedback to test")
    return ResourceValues(ref=str(destination.get("Name", request.name)))


_ALARM_KEYS = (
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "AlarmActions",
    "OKActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)


def create_alarm(request: CreateRequest) -> ResourceValues:
    properties = request.properties
    arguments = {key: properties[key] for key in _ALARM_KEYS if key in properties}
    arguments.setdefault("AlarmName", request.name)
    client = request.aws.client("cloudwatch")
    client.put_metric_alarm(**arguments)
    arn = client.describe_alarms(AlarmNames=[arguments["AlarmName"]])["MetricAlarms"][0]["AlarmArn"]
    return ResourceValues(ref=arguments["AlarmName"], attributes={"Arn": arn})


def create_dashboard(request: CreateRequest) -> ResourceValues:
    name = request.properties.get("DashboardName", request.name)
    request.aws.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=request.properties["DashboardBody"])
    return ResourceValues(ref=name)


def create_log_group(request: CreateRequest) -> ResourceValues:
    properties = request.properties
    name = str(properties.get("LogGroupName") or request.name)
    client = request.aws.client("logs")
    client.create_log_group(logGroupName=name)
    if "RetentionInDays" in properties:
        client.put_retention_policy(logGroupName=name, retentionInDays=int(properties["RetentionInDays"]))
    arn = f"arn:aws:logs:{request.aws.region}:{LOCAL_ACCOUNT_ID}:log-group:{name}"
    # CloudFormation's Arn attribute of a log group ends with ":*" (Step Functions requires it).
    return ResourceValues(ref=name, attributes={"Arn": f"{arn}:*"})


def create_api_gateway_account(request: CreateRequest) -> ResourceValues:
    request.note("AWS only: the account's API Gateway logging role; the local API is chalice local, which writes no access log")
    return ResourceValues(ref=request.name)


def create_kms_key(request: CreateRequest) -> ResourceValues:
    key = request.aws.client("kms").create_key(Description=str(request.properties.get("Description", request.name)))[
        "KeyMetadata"
    ]
    request.note("moto stores the key; no local store encrypts with it (moto keeps data unencrypted)")
    return ResourceValues(ref=key["KeyId"], attributes={"Arn": key["Arn"], "KeyId": key["KeyId"]})


def create_kms_alias(request: CreateRequest) -> ResourceValues:
    properties = request.properties
    request.aws.client("kms").create_alias(AliasName=properties["AliasName"], TargetKeyId=properties["TargetKeyId"])
    return ResourceValues(ref=properties["AliasName"])


def create_user_pool_domain(request: CreateRequest) -> ResourceValues:
    properties = request.properties
    request.aws.client("cognito-idp").create_user_pool_domain(Domain=properties["Domain"], UserPoolId=properties["UserPoolId"])
    request.note("no hosted sign-in locally: the local stack's sign-in page lists the demo users")
    return ResourceValues(ref=properties["Domain"])


_WEB_SERVED_LOCALLY = "AWS only: the local stack serves web/ itself at /app/ with the same headers (devstack/web_app.py)"


def create_cloudfront_placeholder(request: CreateRequest) -> ResourceValues:
    request.note(_WEB_SERVED_LOCALLY)
    arn = f"arn:aws:cloudfront::{LOCAL_ACCOUNT_ID}:function/{request.name}"
    return ResourceValues(ref=request.name, attributes={"Id": request.name, "FunctionARN": arn, "DomainName": "127.0.0.1"})


TRANSLATORS.update(
    {
        "AWS::Logs::LogGroup": Translator(
            create_log_group,
            handled=frozenset({"LogGroupName", "RetentionInDays"}),
            ignored={"KmsKeyId": "moto stores log events unencrypted", "Tags": "tags have no local effect"},
        ),
        "AWS::ApiGateway::Account": Translator(create_api_gateway_account, handled=frozenset({"CloudWatchRoleArn"})),
        "AWS::KMS::Key": Translator(
            create_kms_key,
            handled=frozenset({"Description"}),
            ignored={"EnableKeyRotation": _NOT_ENFORCED, "KeyPolicy": _NOT_ENFORCED, "Tags": "tags have no local effect"},
        ),
        "AWS::KMS::Alias": Translator(create_kms_alias, handled=frozenset({"AliasName", "TargetKeyId"})),
        "AWS::Cognito::UserPoolDomain": Translator(create_user_pool_domain, handled=frozenset({"Domain", "UserPoolId"})),
        **{
            kind: Translator(create_cloudfront_placeholder, handled=frozenset(keys))
            for kind, keys in (
                ("AWS::CloudFront::OriginAccessControl", {"OriginAccessControlConfig"}),
                ("AWS::CloudFront::Function", {"Name", "AutoPublish", "FunctionConfig", "FunctionCode"}),
                ("AWS::CloudFront::ResponseHeadersPolicy", {"ResponseHeadersPolicyConfig"}),
                ("AWS::CloudFront::Distribution", {"DistributionConfig"}),
            )
        },
        "AWS::SecretsManager::Secret": Translator(
            create_secret,
            handled=frozenset({"Name", "Description", "SecretString", "GenerateSecretString"}),
            ignored={"KmsKeyId": "moto stores secrets unencrypted", "Tags": "tags have no local effect"},
        ),
        "AWS::Cognito::UserPool": Translator(
            create_user_pool,
            handled=frozenset(_USER_POOL_KEYS),
            ignored={
                "UserPoolTags": "tags have no local effect",
                "UserPoolTier": "no pricing tiers locally",
                "EnabledMfas": "no Cognito sign-in locally: the local stack mints HS256 tokens itself",
            },
        ),
        "AWS::Cognito::UserPoolClient": Translator(create_user_pool_client, handled=frozenset(_USER_POOL_CLIENT_KEYS)),
        "AWS::Lambda::Permission": Translator(
            create_lambda_permission,
            handled=frozenset({"FunctionName", "Action", "Principal", "SourceArn", "SourceAccount"}),
        ),
        # Locally the API is chalice local, not API Gateway: the web ACL exists on moto but
        # filters nothing, and its association with the API stage chalice generates (RestAPI)
        # cannot resolve, so the provisioner reports that association as skipped.
        "AWS::WAFv2::WebACL": Translator(
            create_web_acl,
            handled=frozenset(
                {"Name", "Scope", "DefaultAction", "Description", "Rules", "VisibilityConfig", "CustomResponseBodies"}
            ),
            ignored={"Tags": "tags have no local effect"},
        ),
        "AWS::WAFv2::WebACLAssociation": Translator(create_web_acl_association, handled=frozenset({"WebACLArn", "ResourceArn"})),
        "AWS::SNS::Topic": Translator(
            create_sns_topic,
            handled=frozenset({"TopicName", "DisplayName", "Subscription"}),
            ignored={"KmsMasterKeyId": "moto stores messages unencrypted", "Tags": "tags have no local effect"},
        ),
        "AWS::SNS::TopicPolicy": Translator(create_sns_topic_policy, handled=frozenset({"PolicyDocument", "Topics"})),
        "AWS::SNS::Subscription": Translator(
            create_sns_subscription,
            handled=frozenset({"TopicArn", "Protocol", "Endpoint", "RawMessageDelivery", "FilterPolicy", "RedrivePolicy"}),
            ignored={"Region": "one region locally"},
        ),
        "AWS::S3::BucketPolicy": Translator(create_s3_bucket_policy, handled=frozenset({"Bucket", "PolicyDocument"})),
        "AWS::SES::ReceiptRuleSet": Translator(create_receipt_rule_set, handled=frozenset({"RuleSetName"})),
        "AWS::SES::ReceiptRule": Translator(create_receipt_rule, handled=frozenset({"RuleSetName", "Rule", "After"})),
        "AWS::SES::EmailIdentity": Translator(create_email_identity, handled=frozenset({"EmailIdentity"})),
        "AWS::SES::ConfigurationSet": Translator(create_configuration_set, handled=frozenset({"Name"})),
        "AWS::SES::ConfigurationSetEventDestination": Translator(
            create_configuration_set_event_destination, handled=frozenset({"ConfigurationSetName", "EventDestination"})
        ),
        "AWS::CloudWatch::Alarm": Translator(
            create_alarm,
            handled=frozenset(_ALARM_KEYS),
            ignored={"Tags": "tags have no local effect"},
        ),
        "AWS::CloudWatch::Dashboard": Translator(create_dashboard, handled=frozenset({"DashboardName", "DashboardBody"})),
    }
)
