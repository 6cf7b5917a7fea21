"""The IAM actions a function's role allows (infra/template.json) and the actions an AWS call needs.

Action level only: resources and conditions are not evaluated. Managed policies are known by
name (`MANAGED_POLICIES`); a role naming another one is reported, not guessed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from devstack.aws_calls import Call

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


@dataclass
class Role:
    logical_id: str
    allowed: list[str] = field(default_factory=list)
    """Allowed action patterns (`dynamodb:GetItem`, `s3:*`), as written."""
    unknown_managed_policies: list[str] = field(default_factory=list)

    def allows(self, action: str) -> bool:
        return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in self.allowed)


def function_roles(template: Mapping[str, Any]) -> dict[str, Role]:
    """Function logical id → its role, for every function whose `Role` is a role of the template."""
    resources = template.get("Resources", {})
    roles = {}
    for logical_id, definition in resources.items():
        role = (definition.get("Properties") or {}).get("Role")
        role_id = _get_att_arn(role)
        if role_id is None or resources.get(role_id, {}).get("Type") != "AWS::IAM::Role":
            continue
        roles[logical_id] = role_of(role_id, resources)
    return roles


def role_of(role_id: str, resources: Mapping[str, Any]) -> Role:
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
            role.allowed.extend([actions] if isinstance(actions, str) else actions)
    for arn in properties.get("ManagedPolicyArns", []):
        text = arn.get("Fn::Sub", "") if isinstance(arn, dict) else str(arn)
        name = text.split(":policy/", 1)[-1]
        if name in MANAGED_POLICIES:
            role.allowed.extend(MANAGED_POLICIES[name])
        else:
            role.unknown_managed_policies.append(text)
    return role


@dataclass(frozen=True)
class Comparison:
    missing: dict[str, list[str]]
    """Action → the calls (`service:Operation`) that needed it but the role does not allow."""
    unused: list[str]
    """Allowed action patterns no recorded call needed."""


def compare(role: Role, calls: Iterable[Call]) -> Comparison:
    missing: dict[str, list[str]] = {}
    used_patterns: set[str] = set()
    for call in calls:
        for action in actions_of(call):
            matching = [p for p in role.allowed if fnmatch.fnmatchcase(action.lower(), p.lower())]
            if not matching:
                missing.setdefault(action, [])
                operation = f"{call.service}:{call.operation}"
                if operation not in missing[action]:
                    missing[action].append(operation)
            used_patterns.update(matching)
    return Comparison(missing, sorted(set(role.allowed) - used_patterns))


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
