"""The local moto patches keep DynamoDB's transaction guarantees (tests of the local stack itself)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from devstack import dynamodb_isolation


@pytest.fixture
def table():
    from moto import mock_aws

    dynamodb_isolation.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}, {"AttributeName": "SK", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        yield client


def put(pk, sk, **attrs):
    item = {"PK": {"S": pk}, "SK": {"S": sk}, **{k: {"S": v} for k, v in attrs.items()}}
    return {"Put": {"TableName": "t", "Item": item}}


def stream_records(client):
    """The table's stream shard as moto keeps it (moto's DescribeStream is not implemented in-process)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    shard = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables["t"].stream_shard
    return [record.to_json() for record in shard.items]


def test_a_cancelled_transaction_leaves_no_trace(table):
    table.put_item(TableName="t", Item={"PK": {"S": "a"}, "SK": {"S": "1"}, "v": {"S": "old"}})
    before = len(stream_records(table))
    update = {
        "Update": {
            "TableName": "t",
            "Key": {"PK": {"S": "a"}, "SK": {"S": "1"}},
            "UpdateExpression": "SET v = :v",
            "ExpressionAttributeValues": {":v": {"S": "new"}},
        }
    }
    failing = {
        "ConditionCheck": {
            "TableName": "t",
            "Key": {"PK": {"S": "missing"}, "SK": {"S": "x"}},
            "ConditionExpression": "attribute_exists(PK)",
        }
    }
    with pytest.raises(ClientError):
        table.transact_write_items(TransactItems=[put("b", "1", v="x"), update, failing])
    assert table.get_item(TableName="t", Key={"PK": {"S": "a"}, "SK": {"S": "1"}})["Item"]["v"]["S"] == "old"
    assert "Item" not in table.get_item(TableName="t", Key={"PK": {"S": "b"}, "SK": {"S": "1"}})
    assert len(stream_records(table)) == before  # no stream record for writes that never happened


def test_a_committed_transaction_publishes_its_stream_records_in_order(table):
    table.transact_write_items(TransactItems=[put("c", "1"), put("c", "2")])
    keys = [r["dynamodb"]["Keys"]["SK"]["S"] for r in stream_records(table)]
    assert keys == ["1", "2"]
    assert dynamodb_isolation.installed()
