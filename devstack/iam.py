"""The IAM actions a function's role allows (infra/template.json) and the actions an AWS call needs.

Action level: every call's actions must be allowed by some statement. Resource level (when the
role is read with a resolver of the provisioned resources): each (action, resource ARN, condition
keys) the call needs must be allowed by one statement whose `Resource` matches and whose
`StringEquals`/`StringLike` conditions (also `ForAllValues:`) hold, for DynamoDB (table, index,
`dynamodb:LeadingKeys`), S3 (bucket, object, `s3:prefix`), SQS, EventBridge, Secrets Manager and Step Functions
calls; other condition operators are not evaluated (the statement counts as matching). Managed
policies are known by name (`MANAGED_POLICIES`, all resources); a role naming another one is
reported, not guessed.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from devstack.aws import LOCAL_ACCOUNT_ID
from devstack.aws_calls import Call
from devstack.cfn import Resolver, TemplateError

# The AWS managed policies the template attaches, by the tail of their ARN.
MANAGED_POLICIES = {
    "service-role/AWSLambdaBasicExecutionRole": ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"),
    "AWSXRayDaemonWriteAccess": (
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
    ),
}

# botocore operations whose IAM action has another name.
_RENAMED = {
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "ListObjects"): ("s3:ListBucket",),
    ("s3", "ListObjectVersions"): ("s3:ListBucketVersions",),
    ("s3", "HeadBucket"): ("s3:ListBucket",),
    ("s3", "HeadObject"): ("s3:GetObject",),
    ("s3", "DeleteObjects"): ("s3:DeleteObject",),
    ("s3", "CopyObject"): ("s3:GetObject", "s3:PutObject"),
    ("dynamodb", "TransactGetItems"): ("dynamodb:GetItem",),
    ("sqs", "SendMessageBatch"): ("sqs:SendMessage",),
    ("sqs", "DeleteMessageBatch"): ("sqs:DeleteMessage",),
    ("sqs", "ChangeMessageVisibilityBatch"): ("sqs:ChangeMessageVisibility",),
}
# TransactWriteItems is authorized per item, by the item's own action.
_TRANSACT_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def actions_of(call: Call) -> tuple[str, ...]:
    """The IAM actions the call needs."""
    if (call.service, call.operation) == ("dynamodb", "TransactWriteItems"):
        items = call.params.get("TransactItems") or []
        return tuple(sorted({_TRANSACT_ITEM_ACTIONS[kind] for item in items for kind in item if kind in _TRANSACT_ITEM_ACTIONS}))
    return _RENAMED.get((call.service, call.operation), (f"{call.service}:{call.operation}",))


@dataclass(frozen=True)
class Request:
    """One authorization a call needs: an action on a resource, with the condition keys it sets."""

    action: str
    resource: str | None
    """The ARN; None when not derived here (then only the action is checked)."""
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __str__(self) -> str:
        keys = "".join(f" {name}={list(values)}" for name, values in self.keys.items())
        return f"{self.action} on {self.resource or '?'}{keys}"


@dataclass(frozen=True)
class Statement:
    actions: tuple[str, ...]
    resources: tuple[str, ...] | None
    """Resolved ARN patterns; None: not resolved (action level only)."""
    conditions: Mapping[str, Mapping[str, Any]]
    sid: str = ""

    def allows_action(self, action: str) -> bool:
        return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in self.actions)

    def allows(self, request: Request) -> bool:
        if not self.allows_action(request.action):
            return False
        if (
            self.resources is not None
            and request.resource is not None
            and not any(fnmatch.fnmatchcase(request.resource, pattern) for pattern in self.resources)
        ):
            return False
        return all(_condition_holds(operator, tests, request.keys) for operator, tests in self.conditions.items())


@dataclass
class Role:
    logical_id: str
    allowed: list[str] = field(default_factory=list)
    """Allowed action patterns (`dynamodb:GetItem`, `s3:*`), as written."""
    statements: list[Statement] = field(default_factory=list)
    unknown_managed_policies: list[str] = field(default_factory=list)

    def allows(self, action: str) -> bool:
        return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in self.allowed)


def function_roles(template: Mapping[str, Any], resolver: Resolver | None = None) -> dict[str, Role]:
    """Function logical id → its role, for every function whose `Role` is a role of the template.
    With `resolver` (the provisioned resources), statements' resources and conditions resolve."""
    resources = template.get("Resources", {})
    roles = {}
    for logical_id, definition in resources.items():
        role = (definition.get("Properties") or {}).get("Role")
        role_id = _get_att_arn(role)
        if role_id is None or resources.get(role_id, {}).get("Type") != "AWS::IAM::Role":
            continue
        roles[logical_id] = role_of(role_id, resources, resolver)
    return roles


def role_of(role_id: str, resources: Mapping[str, Any], resolver: Resolver | None = None) -> Role:
    properties = resources[role_id].get("Properties", {})
    role = Role(role_id)
    documents = [policy.get("PolicyDocument", {}) for policy in properties.get("Policies", [])]
    # Stand-alone policies attached to the role.
    for definition in resources.values():
        if definition.get("Type") == "AWS::IAM::Policy" and {"Ref": role_id} in definition["Properties"].get("Roles", []):
            documents.append(definition["Properties"].get("PolicyDocument", {}))
    for document in documents:
        statements = document.get("Statement", [])
        for statement in [statements] if isinstance(statements, dict) else statements:
            if statement.get("Effect") != "Allow":
                continue
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else list(actions)
            role.allowed.extend(actions)
            role.statements.append(_statement(statement, actions, resolver))
    for arn in properties.get("ManagedPolicyArns", []):
        text = arn.get("Fn::Sub", "") if isinstance(arn, dict) else str(arn)
        name = text.split(":policy/", 1)[-1]
        if name in MANAGED_POLICIES:
            role.allowed.extend(MANAGED_POLICIES[name])
            role.statements.append(Statement(MANAGED_POLICIES[name], ("*",), {}, name))
        else:
            role.unknown_managed_policies.append(text)
    return role


def _statement(statement: Mapping[str, Any], actions: list[str], resolver: Resolver | None) -> Statement:
    if resolver is None:
        return Statement(tuple(actions), None, {}, statement.get("Sid", ""))
    try:
        resource = resolver.resolve(statement.get("Resource", "*"))
        conditions = resolver.resolve(statement.get("Condition", {}))
    except TemplateError:  # a resource not provisioned locally: action level only
        return Statement(tuple(actions), None, {}, statement.get("Sid", ""))
    resources = tuple([resource] if isinstance(resource, str) else resource)
    return Statement(tuple(actions), resources, conditions, statement.get("Sid", ""))


def _condition_holds(operator: str, tests: Mapping[str, Any], keys: Mapping[str, tuple[str, ...]]) -> bool:
    for_all = operator.startswith("ForAllValues:")
    base = operator.split(":", 1)[1] if ":" in operator else operator
    if base not in ("StringEquals", "StringLike"):
        return True  # not evaluated here
    for key, expected in tests.items():
        patterns = [expected] if isinstance(expected, str) else list(expected)
        values = keys.get(key)
        if values is None:
            if for_all:
                continue  # IAM: ForAllValues over an absent key holds
            return False
        matched = [_matches(base, value, patterns) for value in values]
        if not (all(matched) if for_all else any(matched)):
            return False
    return True


def _matches(operator: str, value: str, patterns: list[str]) -> bool:
    if operator == "StringEquals":
        return value in patterns
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


def requests_of(call: Call) -> list[Request]:
    """The (action, resource, condition keys) the call needs, as far as derived here."""
    region, params = call.region, call.params
    if call.service == "dynamodb":
        return _dynamodb_requests(call, region)
    if call.service == "s3":
        bucket = params.get("Bucket", "")
        if call.operation in ("ListObjectsV2", "ListObjects"):
            return [Request("s3:ListBucket", f"arn:aws:s3:::{bucket}", {"s3:prefix": (params.get("Prefix", ""),)})]
        if call.operation == "DeleteObjects":
            keys = [o["Key"] for o in params.get("Delete", {}).get("Objects", [])]
            return [Request("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{key}") for key in keys]
        if "Key" in params:
            return [Request(action, f"arn:aws:s3:::{bucket}/{params['Key']}") for action in actions_of(call)]
    if call.service == "sqs" and "QueueUrl" in params:
        name = params["QueueUrl"].rstrip("/").rsplit("/", 1)[-1]
        return [Request(action, f"arn:aws:sqs:{region}:{LOCAL_ACCOUNT_ID}:{name}") for action in actions_of(call)]
    if (call.service, call.operation) == ("events", "PutEvents"):
        buses = {entry.get("EventBusName") or "default" for entry in params.get("Entries", [])}
        return [Request("events:PutEvents", _bus_arn(bus, region)) for bus in sorted(buses)]
    if call.service == "secretsmanager" and "SecretId" in params:
        return [Request(action, str(params["SecretId"])) for action in actions_of(call)]
    if call.service == "states":
        arn = params.get("stateMachineArn") or params.get("executionArn")
        return [Request(action, arn) for action in actions_of(call)]
    return [Request(action, None) for action in actions_of(call)]


def _bus_arn(bus: str, region: str) -> str:
    return bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{LOCAL_ACCOUNT_ID}:event-bus/{bus}"


def _table_arn(table: str, region: str, index: str | None = None) -> str:
    arn = table if table.startswith("arn:") else f"arn:aws:dynamodb:{region}:{LOCAL_ACCOUNT_ID}:table/{table}"
    return f"{arn}/index/{index}" if index else arn


def _leading(key: Mapping[str, Any] | None) -> tuple[str, ...]:
    value = (key or {}).get("PK") or {}
    return (str(next(iter(value.values()))),) if value else ()


def _dynamodb_requests(call: Call, region: str) -> list[Request]:
    params, operation = call.params, call.operation
    if operation == "TransactWriteItems":
        requests = []
        for item in params.get("TransactItems", []):
            for kind, body in item.items():
                key = body.get("Key") or body.get("Item")
                action = _TRANSACT_ITEM_ACTIONS.get(kind)
                if action:
                    requests.append(
                        Request(action, _table_arn(body["TableName"], region), {"dynamodb:LeadingKeys": _leading(key)})
                    )
        return requests
    if operation == "BatchWriteItem":
        requests = []
        for table, writes in params.get("RequestItems", {}).items():
            items = [(w.get("DeleteRequest") or {}).get("Key") or (w.get("PutRequest") or {}).get("Item") for w in writes]
            leading = tuple(sorted({value for item in items for value in _leading(item)}))
            requests.append(Request("dynamodb:BatchWriteItem", _table_arn(table, region), {"dynamodb:LeadingKeys": leading}))
        return requests
    if operation in ("BatchGetItem", "TransactGetItems"):
        return [Request(action, None) for action in actions_of(call)]
    table = params.get("TableName")
    if not table:
        return [Request(action, None) for action in actions_of(call)]
    keys: dict[str, tuple[str, ...]] = {}
    if operation == "Query":
        if not params.get("IndexName"):
            keys["dynamodb:LeadingKeys"] = _query_partition(params)
    elif params.get("Key") or params.get("Item"):
        keys["dynamodb:LeadingKeys"] = _leading(params.get("Key") or params.get("Item"))
    return [Request(f"dynamodb:{operation}", _table_arn(table, region, params.get("IndexName")), keys)]


def _query_partition(params: Mapping[str, Any]) -> tuple[str, ...]:
    names = {placeholder: name for placeholder, name in (params.get("ExpressionAttributeNames") or {}).items()}
    values = params.get("ExpressionAttributeValues") or {}
    for left, right in re.findall(r"(#?\w+)\s*=\s*(:\w+)", params.get("KeyConditionExpression", "")):
        if names.get(left, left) == "PK" and right in values:
            return (str(next(iter(values[right].values()))),)
    return ()


@dataclass(frozen=True)
class Comparison:
    missing: dict[str, list[str]]
    """Action → the calls (`service:Operation`) that needed it but the role does not allow."""
    unused: list[str]
    """Allowed action patterns no recorded call needed."""
    denied: list[str] = field(default_factory=list)
    """Requests whose action the role allows, but not on that resource or with those keys."""


def compare(role: Role, calls: Iterable[Call]) -> Comparison:
    missing: dict[str, list[str]] = {}
    denied: list[str] = []
    used_patterns: set[str] = set()
    for call in calls:
        for request in requests_of(call):
            allowed = any(statement.allows(request) for statement in role.statements)
            if role.allows(request.action) and not allowed and str(request) not in denied:
                denied.append(str(request))
        for action in actions_of(call):
            matching = [p for p in role.allowed if fnmatch.fnmatchcase(action.lower(), p.lower())]
            if not matching:
                missing.setdefault(action, [])
                operation = f"{call.service}:{call.operation}"
                if operation not in missing[action]:
                    missing[action].append(operation)
            used_patterns.update(matching)
    return Comparison(missing, sorted(set(role.allowed) - used_patterns), denied)


def _get_att_arn(value: Any) -> str | None:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        argument = value["Fn::GetAtt"]
        logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
        return str(logical_id) if attribute == "Arn" else None
    return None


# What the Lambda service itself does with a function's role, not the function's code.
_RUNTIME_ACTIONS = (*MANAGED_POLICIES["service-role/AWSLambdaBasicExecutionRole"], *MANAGED_POLICIES["AWSXRayDaemonWriteAccess"])
_EVENT_SOURCE_ACTIONS = {
    "Stream": ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"),
    "Queue": ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
}


def used_by_lambda_service(definition: Mapping[str, Any]) -> set[str]:
    """Actions of the role that Lambda uses on the function's behalf: logs and traces, and its
    event source mappings (reading the stream or queue, sending failed batches to the
    `OnFailure` destination)."""
    actions = set(_RUNTIME_ACTIONS)
    for event in (definition.get("Properties", {}).get("Events") or {}).values():
        properties = event.get("Properties", {})
        for key, used in _EVENT_SOURCE_ACTIONS.items():
            if key in properties:
                actions.update(used)
        if properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Type") == "SQS":
            actions.add("sqs:SendMessage")
    return actions
