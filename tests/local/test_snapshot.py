"""Snapshots keep table items and objects across a restart of the local stack."""

from __future__ import annotations

import json
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from devstack.aws import LocalAws
from devstack.moto_server import MotoServer
from devstack.provision import Provisioned, provision
from devstack.snapshot import SnapshotWriter, dump_state, read_snapshot, restore_state, snapshot_path, write_snapshot

TEMPLATE = {
    "Resources": {
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [
                    {"AttributeName": "PK", "AttributeType": "S"},
                    {"AttributeName": "SK", "AttributeType": "S"},
                ],
                "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            },
        },
        "Uploads": {"Type": "AWS::S3::Bucket", "Properties": {}},
    }
}

EVERY_TYPE_ITEM = {
    "PK": {"S": "ticket#1"},
    "SK": {"S": "meta"},
    "subject": {"S": "Ünïcode ✓ subject"},
    "big_number": {"N": "12345678901234567890.123456789"},
    "negative": {"N": "-0.000001"},
    "blob": {"B": bytes(range(256))},
    "tags": {"SS": ["billing", "vip"]},
    "scores": {"NS": ["1", "2.5", "-3"]},
    "blobs": {"BS": [b"\x00\x01", b"\xff"]},
    "flag": {"BOOL": True},
    "nothing": {"NULL": True},
    "history": {"L": [{"M": {"at": {"S": "2026-01-01T00:00:00Z"}, "raw": {"B": b"\x10\x20"}}}, {"N": "7"}, {"L": []}]},
    "custom_fields": {"M": {"nested": {"M": {"deep": {"SS": ["x"]}}}, "empty": {"M": {}}}},
}


@pytest.fixture
def provisioned(aws: LocalAws) -> Provisioned:
    return provision(TEMPLATE, aws)


def test_round_trip_into_a_fresh_moto_keeps_every_item_and_object(
    aws: LocalAws, provisioned: Provisioned, moto_server: MotoServer, tmp_path: Path
) -> None:
    dynamodb, s3 = aws.client("dynamodb"), aws.client("s3")
    table, bucket = provisioned.physical["Table"], provisioned.physical["Uploads"]
    dynamodb.put_item(TableName=table, Item=EVERY_TYPE_ITEM)
    for number in range(60):  # more than one BatchWriteItem's 25
        dynamodb.put_item(TableName=table, Item={"PK": {"S": f"ticket#{number}"}, "SK": {"S": "comment"}})
    s3.put_object(
        Bucket=bucket,
        Key="tickets/1/screen shot ✓.png",
        Body=b"\x89PNG\x00\xff",
        ContentType="image/png",
        Metadata={"uploaded-by": "u1"},
    )
    s3.put_object(Bucket=bucket, Key="empty.txt", Body=b"", ContentType="text/plain")
    before = dump_state(aws, provisioned)
    write_snapshot(snapshot_path(tmp_path), before)

    _reset_moto(moto_server)
    fresh = provision(TEMPLATE, aws)
    restored = restore_state(aws, fresh, read_snapshot(snapshot_path(tmp_path)) or {})

    assert restored == {"Table": 61, "Uploads": 2}
    assert dump_state(aws, fresh) == before
    item = dynamodb.get_item(TableName=table, Key={"PK": {"S": "ticket#1"}, "SK": {"S": "meta"}})
    assert _canonical(item["Item"]) == _canonical(EVERY_TYPE_ITEM)
    screenshot = s3.get_object(Bucket=bucket, Key="tickets/1/screen shot ✓.png")
    assert screenshot["Body"].read() == b"\x89PNG\x00\xff"
    assert screenshot["ContentType"] == "image/png"
    assert screenshot["Metadata"] == {"uploaded-by": "u1"}


def test_numbers_survive_as_exact_decimal_text(aws: LocalAws, provisioned: Provisioned) -> None:
    aws.client("dynamodb").put_item(TableName=provisioned.physical["Table"], Item=EVERY_TYPE_ITEM)

    (item,) = dump_state(aws, provisioned)["tables"]["Table"]

    assert Decimal(item["big_number"]["N"]) == Decimal("12345678901234567890.123456789")
    json.dumps(item)  # binaries are base64 text, so the whole snapshot is plain JSON


def test_snapshot_file_is_replaced_whole(tmp_path: Path) -> None:
    path = snapshot_path(tmp_path)
    assert read_snapshot(path) is None

    write_snapshot(path, {"tables": {"Table": []}, "buckets": {}})
    write_snapshot(path, {"tables": {"Table": [{"PK": {"S": "a"}}]}, "buckets": {}})

    assert read_snapshot(path) == {"tables": {"Table": [{"PK": {"S": "a"}}]}, "buckets": {}}
    assert [entry.name for entry in tmp_path.iterdir()] == [path.name]


def test_writer_saves_only_when_something_changed(aws: LocalAws, provisioned: Provisioned, tmp_path: Path) -> None:
    path = snapshot_path(tmp_path)
    writer = SnapshotWriter(aws, provisioned, path, interval=3600)

    assert writer.save_if_changed() is True
    assert writer.save_if_changed() is False
    aws.client("dynamodb").put_item(TableName=provisioned.physical["Table"], Item=EVERY_TYPE_ITEM)
    assert writer.save_if_changed() is True
    aws.client("s3").put_object(Bucket=provisioned.physical["Uploads"], Key="a", Body=b"1")
    writer.start()
    assert writer.stop() is True
    assert len((read_snapshot(path) or {})["buckets"]["Uploads"]) == 1


def test_writer_seeded_with_the_restored_state_does_not_rewrite_it(
    aws: LocalAws, provisioned: Provisioned, tmp_path: Path
) -> None:
    path = snapshot_path(tmp_path)
    aws.client("dynamodb").put_item(TableName=provisioned.physical["Table"], Item=EVERY_TYPE_ITEM)
    state = dump_state(aws, provisioned)
    write_snapshot(path, state)

    writer = SnapshotWriter(aws, provisioned, path, saved_state=read_snapshot(path))

    assert writer.save_if_changed() is False


def test_tables_no_longer_in_the_template_are_dropped_on_restore(aws: LocalAws, provisioned: Provisioned) -> None:
    state = {"tables": {"Removed": [{"PK": {"S": "x"}, "SK": {"S": "y"}}]}, "buckets": {}}

    assert restore_state(aws, provisioned, state) == {}


def _reset_moto(moto_server: MotoServer) -> None:
    # moto's backends are process-wide: a reset gives the same empty state a new server has.
    request = urllib.request.Request(f"{moto_server.endpoint_url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


def _canonical(item: dict[str, Any]) -> dict[str, Any]:
    """Sets come back in any order."""
    result: dict[str, Any] = {}
    for name, value in item.items():
        ((kind, content),) = value.items()
        if kind in ("SS", "NS", "BS"):
            content = sorted(content)
        elif kind == "M":
            content = _canonical(content)
        elif kind == "L":
            content = [_canonical({"v": member})["v"] for member in content]
        result[name] = {kind: content}
    return result
