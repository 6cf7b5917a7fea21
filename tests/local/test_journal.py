"""The write-ahead journal: what an acknowledged moto write leaves on disk, and how a start replays it."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from devstack import journal
from devstack.aws import LocalAws
from devstack.journal import Journal, journal_dir, read_entries
from devstack.moto_server import MotoServer
from devstack.provision import Provisioned, provision
from devstack.snapshot import SnapshotWriter, dump_state, read_snapshot, recover, snapshot_path
from tests.local.test_snapshot import EVERY_TYPE_ITEM, TEMPLATE


@pytest.fixture
def provisioned(aws: LocalAws) -> Provisioned:
    return provision(TEMPLATE, aws)


@pytest.fixture
def journaled(aws: LocalAws, provisioned: Provisioned, tmp_path: Path) -> Iterator[Journal]:
    journal.install()
    _, opened = recover(aws, provisioned, tmp_path, None)
    yield opened
    journal.deactivate()
    opened.close()


def test_a_failed_conditional_write_leaves_no_entry_and_a_successful_one_its_item(
    aws: LocalAws, provisioned: Provisioned, journaled: Journal, tmp_path: Path
) -> None:
    dynamodb, table = aws.client("dynamodb"), provisioned.physical["Table"]
    dynamodb.put_item(TableName=table, Item={"PK": {"S": "t#1"}, "SK": {"S": "meta"}, "n": {"N": "1"}})
    with pytest.raises(ClientError):
        dynamodb.put_item(
            TableName=table,
            Item={"PK": {"S": "t#1"}, "SK": {"S": "meta"}, "n": {"N": "2"}},
            ConditionExpression="attribute_not_exists(PK)",
        )
    dynamodb.update_item(
        TableName=table,
        Key={"PK": {"S": "t#1"}, "SK": {"S": "meta"}},
        UpdateExpression="SET n = n + :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )

    entries = read_entries(journal_dir(tmp_path))
    assert [change["item"]["n"] for entry in entries for change in entry["changes"]] == [{"N": "1"}, {"N": "2"}]


def test_a_start_replays_the_journal_over_the_snapshot_into_the_same_state(
    aws: LocalAws, provisioned: Provisioned, journaled: Journal, moto_server: MotoServer, tmp_path: Path
) -> None:
    dynamodb, s3 = aws.client("dynamodb"), aws.client("s3")
    table, bucket = provisioned.physical["Table"], provisioned.physical["Uploads"]
    dynamodb.put_item(TableName=table, Item=EVERY_TYPE_ITEM)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"first", ContentType="text/plain", Metadata={"by": "u1"})
    writer = SnapshotWriter(aws, provisioned, snapshot_path(tmp_path), journal=journaled)
    assert writer.save_if_changed() is True
    # After the snapshot: a delete, a transaction, an overwrite and a new object.
    dynamodb.delete_item(TableName=table, Key={"PK": EVERY_TYPE_ITEM["PK"], "SK": EVERY_TYPE_ITEM["SK"]})
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": {"PK": {"S": "t#2"}, "SK": {"S": "meta"}}}},
            {"Put": {"TableName": table, "Item": {"PK": {"S": "counter"}, "SK": {"S": "n"}, "v": {"N": "2"}}}},
        ]
    )
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"second", ContentType="text/plain")
    s3.put_object(Bucket=bucket, Key="b.bin", Body=b"\x00\xff")
    before = dump_state(aws, provisioned)
    journal.deactivate()  # the process dies here (kill -9): nothing more is written

    _reset(moto_server)
    fresh = provision(TEMPLATE, aws)
    restored, reopened = recover(aws, fresh, tmp_path, read_snapshot(snapshot_path(tmp_path)))
    journal.deactivate()
    reopened.close()

    assert restored == {"Table": 2, "Uploads": 2}
    assert dump_state(aws, fresh) == before


def test_a_crash_between_snapshot_and_compaction_replays_nothing_twice(
    aws: LocalAws, provisioned: Provisioned, journaled: Journal, tmp_path: Path
) -> None:
    dynamodb, table = aws.client("dynamodb"), provisioned.physical["Table"]
    for number in range(3):
        dynamodb.put_item(TableName=table, Item={"PK": {"S": f"t#{number}"}, "SK": {"S": "meta"}})
    writer = SnapshotWriter(aws, provisioned, snapshot_path(tmp_path), journal=journaled)
    journaled.drop_through = lambda seq: None  # type: ignore[method-assign]  # killed before compaction
    writer.save_if_changed()
    dynamodb.put_item(TableName=table, Item={"PK": {"S": "t#9"}, "SK": {"S": "meta"}})

    saved = read_snapshot(snapshot_path(tmp_path)) or {}
    later = read_entries(journal_dir(tmp_path), after=saved["journal_seq"])

    assert len(saved["tables"]["Table"]) == 3
    assert [change["key"]["PK"] for entry in later for change in entry["changes"]] == [{"S": "t#9"}]


def test_a_torn_last_line_was_never_acknowledged_and_is_ignored(tmp_path: Path) -> None:
    opened = Journal(tmp_path, next_seq=1)
    seq = opened.append([{"table": "Table", "key": {"PK": {"S": "a"}}, "item": None}])
    opened.sync(seq)
    opened.close()
    segment = next(tmp_path.iterdir())
    segment.write_bytes(segment.read_bytes() + b'{"seq":2,"changes":[{"tab')

    assert [entry["seq"] for entry in read_entries(tmp_path)] == [1]
    assert Journal(tmp_path, next_seq=2).last_seq == 1


def _reset(moto_server: MotoServer) -> None:
    request = urllib.request.Request(f"{moto_server.endpoint_url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass
