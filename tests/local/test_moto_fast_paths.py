"""devstack.moto_fast_paths changes how fast moto answers, never what it answers.

Each test runs the same script against the local moto server twice, once with the patches and
once with moto's own code (moto reset in between), and compares the raw HTTP response bodies
(DynamoDB) or the executions' outcomes (Step Functions).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from devstack import moto_fast_paths
from devstack.aws import LocalAws
from devstack.moto_server import MotoServer, enable_step_functions_execution

Script = Callable[[LocalAws], list[Any]]


@pytest.fixture
def both_ways(aws: LocalAws, moto_server: MotoServer) -> Iterator[Callable[[Script], tuple[list[Any], list[Any]]]]:
    """Run a script with the patches, reset moto, run it without; answers both results."""
    was_installed = moto_fast_paths.installed()

    def run(script: Script) -> tuple[list[Any], list[Any]]:
        moto_fast_paths.install()
        patched = script(aws)
        _reset(moto_server)
        moto_fast_paths.uninstall()
        original = script(aws)
        return patched, original

    try:
        yield run
    finally:
        if was_installed:
            moto_fast_paths.install()
        else:
            moto_fast_paths.uninstall()


def test_dynamodb_answers_are_byte_identical(both_ways: Callable[[Script], tuple[list[Any], list[Any]]]) -> None:
    patched, original = both_ways(_dynamodb_script)

    assert len(patched) > 40
    assert sum(b'"Items"' in body for _, _, body in patched) > 30  # the script reads items at all
    assert sum(status >= 400 for _, status, _ in patched) == 5
    assert patched == original


def test_step_functions_executions_end_the_same(both_ways: Callable[[Script], tuple[list[Any], list[Any]]]) -> None:
    trees_kept = []

    def script(aws: LocalAws) -> list[Any]:
        outcomes = _step_functions_script(aws)
        trees_kept.append(len(moto_fast_paths._trees))
        return outcomes

    patched, original = both_ways(script)

    assert [outcome["status"] for outcome in patched] == ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "FAILED"]
    assert patched == original
    assert trees_kept == [1, 0]  # patched: one parse tree, reused by the later executions


def test_installs_once_and_uninstalls() -> None:
    was_installed = moto_fast_paths.installed()
    try:
        moto_fast_paths.install()
        moto_fast_paths.install()
        assert moto_fast_paths.installed()
        moto_fast_paths.uninstall()
        assert not moto_fast_paths.installed()
    finally:
        if was_installed:
            moto_fast_paths.install()


def _dynamodb_script(aws: LocalAws) -> list[Any]:
    client = aws.client("dynamodb")
    bodies: list[Any] = []

    def keep(http_response: Any, parsed: Any, model: Any, **_: Any) -> None:
        if model.name not in ("CreateTable", "DescribeTable"):  # those carry creation times
            bodies.append((model.name, http_response.status_code, http_response.content))

    client.meta.events.register("after-call.dynamodb", keep)
    try:
        _exercise_dynamodb(client)
    finally:
        client.meta.events.unregister("after-call.dynamodb", keep)
    return bodies


def _exercise_dynamodb(client: Any) -> None:
    s = "S"
    client.create_table(
        TableName="items",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": s},
            {"AttributeName": "SK", "AttributeType": s},
            {"AttributeName": "g1pk", "AttributeType": s},
            {"AttributeName": "g1sk", "AttributeType": "N"},
            {"AttributeName": "g2pk", "AttributeType": s},
            {"AttributeName": "lsk", "AttributeType": s},
        ],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "GSI1",
                "KeySchema": [{"AttributeName": "g1pk", "KeyType": "HASH"}, {"AttributeName": "g1sk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "GSI2",
                "KeySchema": [{"AttributeName": "g2pk", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["subject"]},
            },
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "LSI1",
                "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "lsk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    client.create_table(
        TableName="numbers",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "n", "AttributeType": "N"}, {"AttributeName": "r", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "n", "KeyType": "HASH"}, {"AttributeName": "r", "KeyType": "RANGE"}],
    )
    every_type = {
        "subject": {"S": 'Ünïcode ✓ "quoted" \\ subject'},
        "empty": {"S": ""},
        "big": {"N": "12345678901234567890.123456789"},
        "negative": {"N": "-0.000001"},
        "blob": {"B": bytes(range(256))},
        "tags": {"SS": ["vip", "billing"]},
        "scores": {"NS": ["1", "2.5", "-3"]},
        "blobs": {"BS": [b"\x00\x01", b"\xff"]},
        "flag": {"BOOL": False},
        "nothing": {"NULL": True},
        "history": {"L": [{"M": {"at": {"S": "2026"}, "raw": {"B": b"\x10"}}}, {"N": "7"}, {"L": []}, {"NULL": True}]},
        "plain_list": {"L": [{"S": "a"}, {"BOOL": True}, {"SS": ["x"]}, {"M": {}}]},
        "sla": {"M": {"first": {"M": {"due": {"S": "2026-01-01"}, "paused": {"BOOL": False}, "n": {"N": "3"}}}}},
    }
    for partition in range(6):
        for number in range(9):
            item: dict[str, Any] = {
                "PK": {"S": f"p{partition}"},
                "SK": {"S": f"s{(number * 7) % 9:02d}"},
                "g1pk": {"S": f"g{number % 2}"},
                "g1sk": {"N": str((number * 5) % 4)},  # ties: the table keys decide
                "lsk": {"S": f"l{(number * 3) % 9}"},
                "v": {"N": str(number)},
            }
            if number % 3:
                item["g2pk"] = {"S": "all"}
            if number == 4:
                item.update(every_type if partition % 2 else {k: v for k, v in every_type.items() if "B" not in str(v)})
            client.put_item(TableName="items", Item=item)
    for number in ("1", "1.0", "2", "10", "-1"):
        client.put_item(TableName="numbers", Item={"n": {"N": number}, "r": {"S": number}, "x": {"NS": [number, "5"]}})

    key = {"PK": {"S": "p1"}, "SK": {"S": "s01"}}
    client.get_item(TableName="items", Key=key)
    client.get_item(
        TableName="items",
        Key={"PK": {"S": "p2"}, "SK": {"S": "s01"}},
        ProjectionExpression="sla.#f, history[0]",
        ExpressionAttributeNames={"#f": "first"},
    )
    client.get_item(TableName="items", Key={"PK": {"S": "none"}, "SK": {"S": "x"}})
    queries: list[dict[str, Any]] = [
        {"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "p3"}}},
        {"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "p3"}}, "ScanIndexForward": False},
        {
            "KeyConditionExpression": "PK = :p AND begins_with(SK, :s)",
            "ExpressionAttributeValues": {":p": {"S": "p1"}, ":s": {"S": "s0"}},
        },
        {
            "KeyConditionExpression": "PK = :p AND SK BETWEEN :a AND :b",
            "ExpressionAttributeValues": {":p": {"S": "p1"}, ":a": {"S": "s02"}, ":b": {"S": "s06"}},
        },
        {
            "KeyConditionExpression": "PK = :p",
            "FilterExpression": "v > :v",
            "ExpressionAttributeValues": {":p": {"S": "p5"}, ":v": {"N": "3"}},
        },
        {
            "KeyConditionExpression": "PK = :p",
            "ProjectionExpression": "SK, tags",
            "ExpressionAttributeValues": {":p": {"S": "p4"}},
        },
        {"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "missing"}}},
        {"KeyConditionExpression": "PK = :p", "Select": "COUNT", "ExpressionAttributeValues": {":p": {"S": "p0"}}},
        {"IndexName": "GSI1", "KeyConditionExpression": "g1pk = :g", "ExpressionAttributeValues": {":g": {"S": "g0"}}},
        {
            "IndexName": "GSI1",
            "KeyConditionExpression": "g1pk = :g",
            "ExpressionAttributeValues": {":g": {"S": "g1"}},
            "ScanIndexForward": False,
        },
        {
            "IndexName": "GSI1",
            "KeyConditionExpression": "g1pk = :g AND g1sk >= :n",
            "ExpressionAttributeValues": {":g": {"S": "g1"}, ":n": {"N": "2"}},
        },
        {
            "IndexName": "GSI1",
            "KeyConditionExpression": "g1pk = :g",
            "FilterExpression": "attribute_exists(sla)",
            "ExpressionAttributeValues": {":g": {"S": "g0"}},
        },
        {"IndexName": "GSI2", "KeyConditionExpression": "g2pk = :g", "ExpressionAttributeValues": {":g": {"S": "all"}}},
        {
            "IndexName": "LSI1",
            "KeyConditionExpression": "PK = :p",
            "ExpressionAttributeValues": {":p": {"S": "p2"}},
            "ScanIndexForward": False,
        },
        {"TableName": "numbers", "KeyConditionExpression": "n = :n", "ExpressionAttributeValues": {":n": {"N": "1"}}},
        {"TableName": "numbers", "KeyConditionExpression": "n = :n", "ExpressionAttributeValues": {":n": {"N": "1.00"}}},
    ]
    for query in queries:
        _all_pages(client.query, {"TableName": "items", "ReturnConsumedCapacity": "TOTAL", **query})
        if "Select" not in query:
            _all_pages(client.query, {"TableName": "items", **query, "Limit": 4})
    _all_pages(client.scan, {"TableName": "items", "Limit": 10})
    _all_pages(client.scan, {"TableName": "items", "IndexName": "GSI1", "Limit": 7})
    _all_pages(client.scan, {"TableName": "numbers"})
    client.batch_get_item(
        RequestItems={"items": {"Keys": [key, {"PK": {"S": "p3"}, "SK": {"S": "s01"}}, {"PK": {"S": "x"}, "SK": {"S": "y"}}]}}
    )
    client.transact_get_items(
        TransactItems=[
            {"Get": {"TableName": "items", "Key": key}},
            {"Get": {"TableName": "items", "Key": {"PK": {"S": "p0"}, "SK": {"S": "s00"}}}},
        ]
    )
    client.update_item(
        TableName="items",
        Key=key,
        UpdateExpression="SET sla.#f.n = :n, plain_list[1] = :t ADD tags :tag",
        ExpressionAttributeNames={"#f": "first"},
        ExpressionAttributeValues={":n": {"N": "4"}, ":t": {"BOOL": False}, ":tag": {"SS": ["new"]}},
        ReturnValues="ALL_NEW",
    )
    client.update_item(
        TableName="items",
        Key=key,
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"N": "0"}},
        ReturnValues="UPDATED_OLD",
    )
    client.put_item(TableName="items", Item={**key, "v": {"N": "1"}}, ReturnValues="ALL_OLD")
    client.delete_item(TableName="items", Key={"PK": {"S": "p3"}, "SK": {"S": "s04"}}, ReturnValues="ALL_OLD")
    failing: list[Callable[[], Any]] = [
        lambda: client.put_item(
            TableName="items",
            Item={"PK": {"S": "p5"}, "SK": {"S": "s04"}},
            ConditionExpression="attribute_not_exists(PK)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        ),
        lambda: client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "items", "Item": {"PK": {"S": "n"}, "SK": {"S": "1"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "items",
                        "Key": {"PK": {"S": "p5"}, "SK": {"S": "s04"}},
                        "ConditionExpression": "attribute_not_exists(PK)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        ),
        lambda: client.query(
            TableName="items", IndexName="nope", KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": {"S": "p1"}}
        ),
        lambda: client.query(
            TableName="missing", KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": {"S": "p1"}}
        ),
        lambda: client.get_item(TableName="items", Key={"PK": {"S": "p1"}}),
    ]
    for call in failing:
        with pytest.raises(ClientError):
            call()
    _all_pages(
        client.query,
        {"TableName": "items", "KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "p1"}}},
    )


def _all_pages(operation: Callable[..., Any], request: dict[str, Any]) -> None:
    for _ in range(100):  # a broken LastEvaluatedKey must fail the test, not loop forever
        page = operation(**request)
        if "LastEvaluatedKey" not in page:
            return
        request = {**request, "ExclusiveStartKey": page["LastEvaluatedKey"]}
    raise AssertionError(f"paging never ends: {request}")


def _step_functions_script(aws: LocalAws) -> list[Any]:
    sfn = aws.client("stepfunctions")
    definition = {
        "StartAt": "Shape",
        "States": {
            "Shape": {
                "Type": "Pass",
                "Parameters": {
                    "n.$": "$.n",
                    "items.$": "$.items",
                    "name.$": "States.Format('n-{}', $.n)",
                    "fixed": [1, {"a": None}],
                },
                "Next": "Each",
            },
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Double",
                    "States": {"Double": {"Type": "Pass", "Parameters": {"v.$": "States.MathAdd($, $)"}, "End": True}},
                },
                "ResultPath": "$.doubled",
                "Next": "Branches",
            },
            "Branches": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "a", "End": True}}},
                    {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 0, "End": True}}},
                ],
                "ResultPath": "$.branches",
                "Next": "Decide",
            },
            "Decide": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThan": 2, "Next": "TooBig"}],
                "Default": "Done",
            },
            "TooBig": {"Type": "Fail", "Error": "TooBig", "Cause": "n > 2"},
            "Done": {"Type": "Succeed"},
        },
    }
    machine = sfn.create_state_machine(
        name="fast-paths", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/dummy"
    )["stateMachineArn"]
    outcomes = []
    for n in range(4):  # the first execution parses; the next ones reuse the kept tree when patched
        arn = sfn.start_execution(stateMachineArn=machine, name=f"run-{n}", input=json.dumps({"n": n, "items": list(range(n))}))[
            "executionArn"
        ]
        deadline = time.monotonic() + 30
        while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "execution did not finish"
            time.sleep(0.05)
        events = sfn.get_execution_history(executionArn=arn)["events"]
        outcomes.append(
            {
                "status": described["status"],
                "output": described.get("output"),
                "error": described.get("error"),
                "cause": described.get("cause"),
                # Map iterations and Parallel branches run on threads: their events interleave
                # differently from run to run, with or without the patch. Compared as a multiset.
                "events": sorted(
                    json.dumps(
                        {k: v for k, v in event.items() if k not in ("timestamp", "id", "previousEventId")}, sort_keys=True
                    )
                    for event in events
                ),
            }
        )
    return outcomes


def _reset(moto_server: MotoServer) -> None:
    request = urllib.request.Request(f"{moto_server.endpoint_url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass
    enable_step_functions_execution(moto_server.endpoint_url)


@pytest.mark.parametrize(
    ("path", "touches"),
    [
        ("DescribeClustersResponse.clusters.Cluster.tags", False),  # what moto itself registers (ECS, EC2)
        ("Item.subject.S", True),
        ("S", True),
        ("ULL", True),  # a suffix of NULL
        ("Items", False),
    ],
)
def test_a_response_transformer_that_could_match_an_attribute_value_turns_the_fast_path_off(path: str, touches: bool) -> None:
    class Picker:
        response_transformers = {path: lambda value: value}

    class Serializer:
        _value_picker = Picker()

    assert moto_fast_paths._transformers_may_touch_attribute_values(Serializer()) is touches
