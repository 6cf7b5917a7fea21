"""devstack.moto_index_query answers Query as moto does, from lists kept up to date by every write.

Hypothesis writes random items (puts, updates that move or drop index keys, deletes, batch
writes, transactions that commit or are cancelled and rolled back) into a table shaped like
the app's (infra/template.json: PK/SK and GSI1-3), then pages through random queries on the
table and each index twice on the same state: once answered by the module, once by moto's own
Query. The pages (items, order, Count, ScannedCount, LastEvaluatedKey) must be equal.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from devstack import dynamodb_isolation, moto_index_query
from devstack.tables import table_definition

_tables = itertools.count()
_letters = st.sampled_from(["a", "ab", "b", "ba", "c", ""])
_sort_value = st.builds(lambda head, tail: head + tail, st.sampled_from(["a", "b", "c", "ab"]), _letters)
_maybe = st.one_of(st.none(), _sort_value)
_item = st.fixed_dictionaries(
    {
        "PK": st.sampled_from(["P1", "P2"]),
        "SK": _sort_value,
        "GSI1PK": st.one_of(st.none(), st.sampled_from(["ALL", "TEAM"])),
        "GSI1SK": _maybe,
        "GSI2SK": _maybe,
        "GSI3PK": st.one_of(st.none(), st.just("G3")),
        "GSI3SK": _maybe,
        "size": st.integers(min_value=0, max_value=3),
    }
)
_write = st.one_of(
    st.tuples(st.just("put"), _item),
    st.tuples(st.just("update"), _item),
    st.tuples(st.just("delete"), _item),
    st.tuples(st.just("batch"), st.lists(_item, min_size=1, max_size=4)),
    st.tuples(st.just("transact"), st.lists(_item, min_size=1, max_size=3), st.booleans()),
)
_condition = st.one_of(
    st.none(),
    st.tuples(st.sampled_from(["=", "<", "<=", ">", ">="]), _sort_value),
    st.tuples(st.just("between"), _sort_value, _sort_value),
    st.tuples(st.just("begins_with"), st.sampled_from(["a", "ab", "b", "c", "ca"])),
)
_query = st.fixed_dictionaries(
    {
        "index": st.sampled_from([None, "GSI1", "GSI2", "GSI3"]),
        "partition": st.sampled_from(["P1", "P2", "ALL", "TEAM", "G3"]),
        "condition": _condition,
        "limit": st.one_of(st.none(), st.integers(min_value=1, max_value=4)),
        "forward": st.booleans(),
        "filter": st.booleans(),
    }
)
_KEYS = {None: ("PK", "SK"), "GSI1": ("GSI1PK", "GSI1SK"), "GSI2": ("GSI1PK", "GSI2SK"), "GSI3": ("GSI3PK", "GSI3SK")}


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as environment:
        for name, value in (("AWS_ACCESS_KEY_ID", "t"), ("AWS_SECRET_ACCESS_KEY", "t"), ("AWS_DEFAULT_REGION", "us-east-1")):
            environment.setenv(name, value)
        environment.delenv("AWS_ENDPOINT_URL", raising=False)
        dynamodb_isolation.install()
        was_installed = moto_index_query.installed()
        moto_index_query.install(after_journal=True)  # this module captures no snapshot
        try:
            with mock_aws():
                yield boto3.client("dynamodb", region_name="us-east-1")
        finally:
            if not was_installed:
                moto_index_query.uninstall()


def _attributes(item: dict[str, Any]) -> dict[str, Any]:
    attributes = {name: {"S": value} for name, value in item.items() if name != "size" and value is not None}
    attributes["body"] = {"S": "x" * (item["size"] * 100)}
    return attributes


def _apply(client: Any, table: str, write: tuple[Any, ...]) -> None:
    kind = write[0]
    try:
        if kind == "put":
            client.put_item(TableName=table, Item=_attributes(write[1]))
        elif kind == "update":
            item = write[1]
            names = {"#s": "GSI1SK", "#p": "GSI1PK", "#b": "body"}
            if item["GSI1SK"] is None:
                expression, values = "SET #b = :b REMOVE #s, #p", {":b": {"S": "u"}}
            else:
                expression, values = "SET #s = :s, #b = :b", {":s": {"S": item["GSI1SK"]}, ":b": {"S": "u"}}
            client.update_item(
                TableName=table,
                Key={"PK": {"S": item["PK"]}, "SK": {"S": item["SK"]}},
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        elif kind == "delete":
            client.delete_item(TableName=table, Key={"PK": {"S": write[1]["PK"]}, "SK": {"S": write[1]["SK"]}})
        elif kind == "batch":
            unique = {(item["PK"], item["SK"]): item for item in write[1]}
            client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": _attributes(i)}} for i in unique.values()]})
        else:
            unique = {(item["PK"], item["SK"]): item for item in write[1]}
            entries: list[dict[str, Any]] = [{"Put": {"TableName": table, "Item": _attributes(i)}} for i in unique.values()]
            if write[2]:  # cancelled: the last entry's condition fails, the others are rolled back
                entries[-1]["Put"]["ConditionExpression"] = "attribute_exists(nothing_has_this)"
            client.transact_write_items(TransactItems=entries)
    except ClientError as error:
        assert error.response["Error"]["Code"] in ("TransactionCanceledException", "ValidationException")


def _pages(client: Any, table: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    hash_name, range_name = _KEYS[query["index"]]
    names = {"#h": hash_name}
    values: dict[str, Any] = {":h": {"S": query["partition"]}}
    expression = "#h = :h"
    condition = query["condition"]
    if condition is not None:
        names["#r"] = range_name
        if condition[0] == "between":
            expression += " AND #r BETWEEN :a AND :b"
            values.update({":a": {"S": condition[1]}, ":b": {"S": condition[2]}})
        elif condition[0] == "begins_with":
            expression += " AND begins_with(#r, :a)"
            values[":a"] = {"S": condition[1]}
        else:
            expression += f" AND #r {condition[0]} :a"
            values[":a"] = {"S": condition[1]}
    arguments: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": query["forward"],
    }
    if query["index"]:
        arguments["IndexName"] = query["index"]
    if query["limit"]:
        arguments["Limit"] = query["limit"]
    if query["filter"]:
        arguments["FilterExpression"] = "begins_with(#f, :f)"
        arguments["ExpressionAttributeNames"]["#f"] = "SK"
        arguments["ExpressionAttributeValues"][":f"] = {"S": "a"}
    pages = []
    while True:
        try:
            page = client.query(**arguments)
        except ClientError as error:
            return [*pages, {"error": error.response["Error"]}]
        page.pop("ResponseMetadata", None)
        pages.append(page)
        if "LastEvaluatedKey" not in page or len(pages) > 40:
            return pages
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@settings(
    max_examples=40,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    writes=st.lists(st.lists(_write, min_size=1, max_size=6), min_size=1, max_size=3),
    queries=st.lists(_query, min_size=1, max_size=4),
)
def test_query_answers_equal_motos_own_after_any_writes(client: Any, writes: list[Any], queries: list[Any]) -> None:
    table = f"index-query-{next(_tables)}"
    client.create_table(**table_definition(table))
    try:
        answered, pages = moto_index_query.counts()["answered"], 0
        for batch in writes:  # queries between batches keep the lists alive across writes
            for write in batch:
                _apply(client, table, write)
            for query in queries:
                fast = _pages(client, table, query)
                with moto_index_query.bypassed():
                    own = _pages(client, table, query)
                assert fast == own, query
                pages += sum("error" not in page for page in fast)
        assert moto_index_query.counts()["answered"] - answered == pages  # every page came from the lists
        assert moto_index_query.counts()["rebuilt"] == 0
    finally:
        client.delete_table(TableName=table)


def test_a_list_page_reads_only_its_page_of_a_large_partition(client: Any) -> None:
    """The table is not walked: a page of 2 from 400 entries reads its page only."""
    table = f"index-query-{next(_tables)}"
    client.create_table(**table_definition(table))
    try:
        for start in range(0, 400, 25):
            requests = [
                {
                    "PutRequest": {
                        "Item": {"PK": {"S": f"T{n}"}, "SK": {"S": "META"}, "GSI1PK": {"S": "ALL"}, "GSI1SK": {"S": f"{n:05}"}}
                    }
                }
                for n in range(start, start + 25)
            ]
            client.batch_write_item(RequestItems={table: requests})
        from moto.dynamodb.models.table import Table

        arguments = {
            "TableName": table,
            "IndexName": "GSI1",
            "KeyConditionExpression": "GSI1PK = :h",
            "ExpressionAttributeValues": {":h": {"S": "ALL"}},
            "ScanIndexForward": False,
            "Limit": 2,
        }
        client.query(**arguments)  # the first Query of a table builds its lists
        walked = 0
        original_all_items = Table.all_items

        def counted(self: Any) -> Any:
            nonlocal walked
            items = original_all_items(self)
            walked += len(items)
            return items

        Table.all_items = counted  # type: ignore[method-assign]
        try:
            page = client.query(**arguments)
        finally:
            Table.all_items = original_all_items  # type: ignore[method-assign]
        assert [item["GSI1SK"]["S"] for item in page["Items"]] == ["00399", "00398"]
        assert page["LastEvaluatedKey"]["GSI1SK"] == {"S": "00398"}
        assert walked == 0  # moto's own Query walks every item of the table: 400 here
    finally:
        client.delete_table(TableName=table)


_STACK_START = """
import sys, tempfile
from pathlib import Path
from devstack import journal, moto_index_query, stack
from moto.dynamodb.models import DynamoDBBackend

class Started(Exception):
    pass

def stop_here(*args, **kwargs):
    raise Started

stack.start_moto = stop_here  # every moto patch is installed before moto starts
try:
    stack.LocalStack(stack.StackOptions(state_dir=Path(tempfile.mkdtemp()), fresh=True)).start()
except Started:
    pass
outermost = getattr(DynamoDBBackend.put_item, "_helpdesk_journaled", False)
print(moto_index_query.installed(), outermost)
"""


def test_the_local_stack_answers_queries_from_the_sorted_key_lists() -> None:
    """A fresh interpreter (no test's patches), as `python -m devstack` starts: installed, and
    inside the journal's wrapper (the lock order the module needs)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", _STACK_START], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "True"]
