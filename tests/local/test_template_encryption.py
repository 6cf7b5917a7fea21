"""Encryption keys of infra/template.json (issue 15): AWS-owned/managed by default; with
`EncryptionKey=customer-managed` one key of the stack encrypts every store of customer data."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.cfn import Resolver, ResourceValues
from devstack.paths import TEMPLATE_PATH
from devstack.provision import load_template

KEY_ID = "key-1234"
KEY_ARN = f"arn:aws:kms:us-east-1:123456789012:key/{KEY_ID}"
# What each store names its key with (resolved), per resource type.
KEY_OF = {
    "AWS::DynamoDB::Table": lambda p: p.get("SSESpecification", {}).get("KMSMasterKeyId"),
    "AWS::S3::Bucket": lambda p: p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ].get("KMSMasterKeyID"),
    "AWS::SQS::Queue": lambda p: p.get("KmsMasterKeyId"),
    "AWS::SNS::Topic": lambda p: p.get("KmsMasterKeyId"),
    "AWS::SecretsManager::Secret": lambda p: p.get("KmsKeyId"),
    "AWS::Logs::LogGroup": lambda p: p.get("KmsKeyId"),
}

# The web app's own files are what every visitor downloads: SSE-S3 always, so CloudFront's OAC
# needs no grant on the stack's key.
PUBLIC_FILES = {"WebBucket"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


def _stores(template: dict[str, Any], encryption_key: str | None) -> dict[str, tuple[str, dict[str, Any]]]:
    overrides = {} if encryption_key is None else {"EncryptionKey": encryption_key}
    resolver = Resolver(
        template=template,
        region="us-east-1",
        account_id="123456789012",
        stack_name="helpdesk",
        parameter_overrides=overrides,
        resources={"DataKey": ResourceValues(ref=KEY_ID, attributes={"Arn": KEY_ARN})},
    )
    stores = {}
    for logical_id, definition in template["Resources"].items():
        kind = definition.get("Type")
        if kind not in KEY_OF or logical_id in PUBLIC_FILES:
            continue
        properties = definition.get("Properties", {})
        encryption = resolver.resolve(
            {
                name: value
                for name, value in properties.items()
                if name in ("SSESpecification", "BucketEncryption", "KmsMasterKeyId", "SqsManagedSseEnabled", "KmsKeyId")
            }
        )
        stores[logical_id] = (kind, encryption)
    return stores


def test_by_default_no_store_names_a_key_and_queues_keep_sqs_managed_encryption(template: dict[str, Any]) -> None:
    stores = _stores(template, None)

    assert template["Resources"]["DataKey"]["Condition"] == "UseCustomerKey"
    assert template["Parameters"]["EncryptionKey"]["Default"] == "aws-owned"
    for logical_id, (kind, encryption) in stores.items():
        assert KEY_OF[kind](encryption) is None, logical_id
        if kind == "AWS::SQS::Queue":
            assert encryption["SqsManagedSseEnabled"] is True, logical_id
        if kind == "AWS::S3::Bucket":
            rule = encryption["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
            assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}, logical_id


def test_with_a_customer_managed_key_every_table_bucket_queue_topic_secret_and_log_group_uses_it(
    template: dict[str, Any],
) -> None:
    stores = _stores(template, "customer-managed")

    kinds = {kind for kind, _ in stores.values()}
    assert kinds == set(KEY_OF)
    for logical_id, (kind, encryption) in stores.items():
        wanted = KEY_ARN if kind == "AWS::Logs::LogGroup" else KEY_ID
        assert KEY_OF[kind](encryption) == wanted, logical_id
        if kind == "AWS::SQS::Queue":
            assert encryption["SqsManagedSseEnabled"] is False, logical_id
        if kind == "AWS::DynamoDB::Table":
            assert encryption["SSESpecification"]["SSEType"] == "KMS"


def test_the_key_rotates_is_retained_and_admits_the_accounts_principals_only_through_the_stacks_services(
    template: dict[str, Any],
) -> None:
    key = template["Resources"]["DataKey"]
    statements = {s["Sid"]: s for s in key["Properties"]["KeyPolicy"]["Statement"]}

    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    through_services = statements["AccountUsesItOnlyThroughTheStacksServices"]
    assert through_services["Principal"] == {"AWS": "*"}
    assert set(through_services["Condition"]["StringEquals"]) == {"kms:CallerAccount", "kms:ViaService"}
    granted_everything = [sid for sid, statement in statements.items() if statement["Action"] == "kms:*"]
    assert granted_everything == ["AccountAdministersTheKey"]
    assert statements["AccountAdministersTheKey"]["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    }
