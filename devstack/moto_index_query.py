"""moto's DynamoDB Query answered from sorted key lists, with moto's own answers (local stack only).

moto 5.2.5 answers a Query on a global secondary index by reading every item of the table
(its `Table.query` walks `all_items()`, keeps the partition, sorts it, skips up to the
ExclusiveStartKey and only then stops at Limit); a base-table Query sorts its whole
partition. So a list page in the local stack grew from 32 ms at 300 tickets to 143 ms at
3,000, and the `ALL` list partition holds every ticket.

This module keeps, per table, one sorted list of keys per (index, partition value): for the
base table `(SK,)` under each `PK`, for each GSI `(range key, PK, SK)` under each value of its
hash key, which is exactly the order moto sorts candidates in. Every write keeps it up to
date: the backend's put_item / update_item / delete_item (batch writes and transactions go
through them) and transact_write_items (after its rollback) re-read the items they touched and
move their entries. A Query with a KeyConditionExpression then bisects to its first item (after
the ExclusiveStartKey, inside the sort-key condition) and reads only what it returns, in moto's
loop: the same items in the same order, the same Count/ScannedCount, the same LastEvaluatedKey
(including moto's quirk of answering one when the page ends exactly at the end of a sort-key
range with more of the partition after it), the same filters and projections afterwards.

Anything else goes to moto unchanged: no range key on the table, LSIs, an index whose keys
are not one HASH and one RANGE attribute, key values that are not strings, legacy
KeyConditions/QueryFilter arguments, an ExclusiveStartKey that is not a full key of this
partition, Limit 0. Every item read is checked against the table (same
object, same key values); a mismatch drops the table's lists (rebuilt from the table on the
next Query) and lets moto answer, so a write path this module missed cannot answer wrong
items. tests/local/test_moto_index_query.py compares both ways with Hypothesis.

Lock order: the write wrappers take devstack.dynamodb_isolation's lock around the write and the
re-indexing, so install this after dynamodb_isolation and before devstack.journal (whose
wrapper takes its own lock first, then moto's).

Never shipped in the Lambda package.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import inspect
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from devstack import dynamodb_isolation

logger = logging.getLogger(__name__)

_MARK = "_helpdesk_index_query"
_ATTR = "_helpdesk_sorted_keys"
_JOURNAL_MARK = "_helpdesk_journaled"
# moto's names of a KeyConditionExpression's sort-key comparisons (both spellings).
_INTERVAL = {
    "EQ": "EQ",
    "=": "EQ",
    "LE": "LE",
    "<=": "LE",
    "LT": "LT",
    "<": "LT",
    "GE": "GE",
    ">=": "GE",
    "GT": "GT",
    ">": "GT",
    "BETWEEN": "BETWEEN",
    "BEGINS_WITH": "BEGINS_WITH",
}
_install_lock = threading.Lock()
_originals: dict[str, Any] = {}
_counts = {"answered": 0, "fell_back": 0, "rebuilt": 0}
_bypass = threading.local()
Entry = tuple[str, ...]


class _Unsupported(Exception):
    """moto answers this query itself."""


class _Stale(Exception):
    """An entry no longer matches the table: drop the lists."""


class _SortedKeys:
    """One table's sorted key lists, by (index name or None, partition value)."""

    def __init__(self, table: Any) -> None:
        # name -> (hash attribute, range attribute); None is the base table.
        self.specs: dict[str | None, tuple[str, str]] = {None: (table.hash_key_attr, table.range_key_attr)}
        for index in table.global_indexes or []:
            hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
            ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
            if len(hashes) == 1 and len(ranges) == 1:
                self.specs[index.name] = (hashes[0], ranges[0])
        self.unsupported: set[str | None] = set()
        self.parts: dict[tuple[str | None, str], list[Entry]] = {}
        self.entries_of: dict[tuple[str, str], list[tuple[str | None, str, Entry]]] = {}
        self.items: dict[tuple[str, str], Any] = {}
        # moto refuses an attribute that takes an item past 405,000 bytes (its LimitedSizeDict).
        self.max_item_size = 405_000
        for hash_set in table.items.values():
            for item in hash_set.values():
                self.add(item, sort=False)
        for keys in self.parts.values():
            keys.sort()

    def add(self, item: Any, sort: bool = True) -> None:
        if item.hash_key.type != "S" or item.range_key is None or item.range_key.type != "S":
            self.unsupported.update(self.specs)
            return
        pk, sk = item.hash_key.value, item.range_key.value
        entries = []
        for name, (hash_attr, range_attr) in self.specs.items():
            if name is None:
                partition, entry = pk, (sk,)
            else:
                hash_value, range_value = item.attrs.get(hash_attr), item.attrs.get(range_attr)
                if hash_value is None or range_value is None:
                    continue  # not in this index (moto's candidates need both)
                if hash_value.type != "S" or range_value.type != "S":
                    self.unsupported.add(name)
                    continue
                partition, entry = hash_value.value, (range_value.value, pk, sk)
            keys = self.parts.setdefault((name, partition), [])
            if sort:
                bisect.insort(keys, entry)
            else:
                keys.append(entry)
            entries.append((name, partition, entry))
        self.entries_of[(pk, sk)] = entries
        self.items[(pk, sk)] = item

    def remove(self, pk: str, sk: str) -> None:
        self.items.pop((pk, sk), None)
        for name, partition, entry in self.entries_of.pop((pk, sk), []):
            keys = self.parts[(name, partition)]
            at = bisect.bisect_left(keys, entry)
            if at < len(keys) and keys[at] == entry:
                del keys[at]
            if not keys:
                del self.parts[(name, partition)]

    def reconcile(self, table: Any, key: dict[str, Any]) -> None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        hash_json, range_json = key.get(table.hash_key_attr), key.get(table.range_key_attr)
        if not isinstance(hash_json, dict) or not isinstance(range_json, dict):
            return  # not a full key: moto refused the write before touching an item
        hash_value, range_value = DynamoType(hash_json), DynamoType(range_json)
        if hash_value.type != "S" or range_value.type != "S":
            self.unsupported.update(self.specs)
            return
        self.remove(hash_value.value, range_value.value)
        current = table.items.get(hash_value, {}).get(range_value) if hash_value in table.items else None
        if current is not None:
            self.add(current)


def _sorted_keys(table: Any) -> _SortedKeys:
    keys = table.__dict__.get(_ATTR)
    if keys is None:
        keys = table.__dict__[_ATTR] = _SortedKeys(table)
    return keys  # type: ignore[no-any-return]


def _drop(table: Any) -> None:
    table.__dict__.pop(_ATTR, None)


# --- writes ---------------------------------------------------------------------------------


def _touched_single(arguments: inspect.BoundArguments) -> list[tuple[str, Any]]:
    values = arguments.arguments
    return [(values["table_name"], values.get("key") or values.get("item_attrs"))]


def _touched_transaction(arguments: inspect.BoundArguments) -> list[tuple[str, Any]]:
    touched = []
    for entry in arguments.arguments["transact_items"]:
        for kind, op in entry.items():
            if kind in ("Put", "Update", "Delete") and isinstance(op, dict):
                touched.append((op.get("TableName"), op.get("Key") or op.get("Item")))
    return touched


def _reindexed(touched_of: Callable[[inspect.BoundArguments], list[tuple[str, Any]]]) -> Callable[..., Any]:
    def decorate(original: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(original)

        @functools.wraps(original)
        def write(self: Any, *args: Any, **kwargs: Any) -> Any:
            with dynamodb_isolation._LOCK:
                try:
                    return original(self, *args, **kwargs)
                finally:  # also after a failed write: moto may have applied part of it, then rolled back
                    _reindex(self, touched_of, signature, args, kwargs)

        setattr(write, _MARK, True)
        return write

    return decorate


def _reindex(backend: Any, touched_of: Any, signature: Any, args: Any, kwargs: Any) -> None:
    try:
        touched = touched_of(signature.bind(backend, *args, **kwargs))
    except (TypeError, KeyError):
        touched = None
    for table_name, key in touched or [(name, None) for name in list(backend.tables)]:
        table = backend.tables.get(table_name) if isinstance(table_name, str) else None
        if table is None or _ATTR not in table.__dict__:
            continue
        try:
            if not isinstance(key, dict):
                raise _Stale
            table.__dict__[_ATTR].reconcile(table, key)
        except _Stale:
            _drop(table)


def _dropping(original: Callable[..., Any]) -> Callable[..., Any]:
    """Writes this module does not follow item by item (PartiQL, index changes): rebuild later."""

    @functools.wraps(original)
    def write(self: Any, *args: Any, **kwargs: Any) -> Any:
        with dynamodb_isolation._LOCK:
            try:
                return original(self, *args, **kwargs)
            finally:
                for table in list(self.tables.values()):
                    _drop(table)

    setattr(write, _MARK, True)
    return write


# --- the query ------------------------------------------------------------------------------


def _query(self: Any, *args: Any, **kwargs: Any) -> Any:
    original = _originals["query"]
    if getattr(_bypass, "on", False):
        return original(self, *args, **kwargs)
    with dynamodb_isolation._LOCK:
        try:
            answer = _answer(self, _originals["query_signature"].bind(self, *args, **kwargs).arguments)
        except _Unsupported:
            _counts["fell_back"] += 1
            return original(self, *args, **kwargs)
        except _Stale:
            logger.warning("sorted keys of %s did not match the table: rebuilt", self.name)
            _counts["rebuilt"] += 1
            _drop(self)
            return original(self, *args, **kwargs)
        _counts["answered"] += 1
        return answer


def _answer(table: Any, a: dict[str, Any]) -> Any:
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT

    index_name = a.get("index_name")
    limit = a.get("limit")
    if a.get("filter_kwargs") or not table.range_key_attr or (limit is not None and (type(limit) is not int or limit < 1)):
        raise _Unsupported
    keys = _sorted_keys(table)
    if index_name not in keys.specs or index_name in keys.unsupported or (a.get("consistent_read") and index_name):
        raise _Unsupported
    hash_attr, range_attr = keys.specs[index_name]
    partition = _partition(table, a, index_name, hash_attr)
    comparison, bounds = _range_condition(a, range_attr)
    entries = keys.parts.get((index_name, partition), [])
    lo, hi = _interval(entries, comparison, bounds, index_name)
    forward = a.get("scan_index_forward") is not False
    if a.get("exclusive_start_key") is not None:
        start = _start_entry(table, a["exclusive_start_key"], index_name, hash_attr, range_attr, partition)
        if forward:
            lo = max(lo, bisect.bisect_right(entries, start))
        else:
            hi = min(hi, bisect.bisect_left(entries, start))
    positions = range(lo, hi) if forward else range(hi - 1, lo - 1, -1)
    rest = range(max(hi, lo), len(entries)) if forward else range(min(lo, hi) - 1, -1, -1)

    results: list[Any] = []
    result_size = 0
    last_evaluated_key = None
    for position in positions:  # moto's loop over candidates that match the key condition
        item = _item(table, keys, index_name, partition, entries[position])
        if len(results) == limit or result_size + item.size() > RESULT_SIZE_LIMIT:
            last_evaluated_key = table._get_last_evaluated_key(results[-1], index_name)
            break
        results.append(item)
        result_size += item.size()
    else:
        # moto goes on through the partition's other candidates: none matches, but the first
        # one ends a full page with a LastEvaluatedKey, and one too big for the page ends it too.
        if rest and results and len(results) == limit:
            last_evaluated_key = table._get_last_evaluated_key(results[-1], index_name)
        elif rest and results and result_size + keys.max_item_size > RESULT_SIZE_LIMIT:
            for position in rest:
                item = _item(table, keys, index_name, partition, entries[position])
                if result_size + item.size() > RESULT_SIZE_LIMIT:
                    last_evaluated_key = table._get_last_evaluated_key(results[-1], index_name)
                    break
    return _finish(table, a, results, last_evaluated_key)


def _finish(table: Any, a: dict[str, Any], results: list[Any], last_evaluated_key: Any) -> Any:
    """The end of moto's Table.query, as it is."""
    import copy

    scanned_count = len(results)
    index_name = a.get("index_name")
    results = copy.deepcopy(results)
    if index_name:
        index = table.get_index(index_name)
        results = [index.project(r) for r in results]
    filter_expression = a.get("filter_expression")
    if filter_expression is not None:
        results = [item for item in results if filter_expression.expr(item)]
    projection_expressions = a.get("projection_expressions")
    if projection_expressions:
        results = [r.project(projection_expressions) for r in results]
    return results, scanned_count, last_evaluated_key


def _partition(table: Any, a: dict[str, Any], index_name: str | None, hash_attr: str) -> str:
    conditions = a.get("hash_key_conditions") or []
    hash_key = a.get("hash_key")
    if index_name is None:
        if hash_key is None or any(name != hash_attr or value != hash_key for name, value in conditions):
            raise _Unsupported
        value = hash_key
    else:
        if len(conditions) != 1 or conditions[0][0] != hash_attr:
            raise _Unsupported
        value = conditions[0][1]
    if value.type != "S":
        raise _Unsupported
    return value.value  # type: ignore[no-any-return]


def _range_condition(a: dict[str, Any], range_attr: str) -> tuple[str | None, list[str]]:
    comparison = a.get("range_comparison")
    range_objs = a.get("range_objs") or []
    conditions = a.get("range_key_conditions") or []
    if len(conditions) > 1 or (conditions and conditions[0][0] != range_attr):
        raise _Unsupported
    if comparison is None:
        if conditions:
            raise _Unsupported
        return None, []
    if comparison not in _INTERVAL or any(value.type != "S" for value in range_objs):
        raise _Unsupported
    if len(range_objs) != (2 if _INTERVAL[comparison] == "BETWEEN" else 1):
        raise _Unsupported
    return _INTERVAL[comparison], [value.value for value in range_objs]


def _first(entry: Entry) -> str:
    return entry[0]


def _interval(entries: list[Entry], comparison: str | None, bounds: list[str], index_name: str | None) -> tuple[int, int]:
    """Positions [lo, hi) of the entries whose sort key meets the condition (contiguous: the
    entries are sorted by the sort key first)."""
    n = len(entries)
    if comparison is None:
        return 0, n
    left = functools.partial(bisect.bisect_left, entries, key=_first)
    right = functools.partial(bisect.bisect_right, entries, key=_first)
    if comparison == "EQ":
        return left(bounds[0]), right(bounds[0])
    if comparison == "LT":
        return 0, left(bounds[0])
    if comparison == "LE":
        return 0, right(bounds[0])
    if comparison == "GT":
        return right(bounds[0]), n
    if comparison == "GE":
        return left(bounds[0]), n
    if comparison == "BETWEEN":
        lo = left(bounds[0])
        return lo, max(lo, right(bounds[1]))
    prefix = bounds[0]  # BEGINS_WITH: a sorted list's prefixes are sorted too
    length = len(prefix)
    lo = bisect.bisect_left(entries, prefix, key=lambda entry: entry[0][:length])
    return lo, bisect.bisect_right(entries, prefix, key=lambda entry: entry[0][:length])


def _start_entry(table: Any, start: Any, index_name: str | None, hash_attr: str, range_attr: str, partition: str) -> Entry:
    """The ExclusiveStartKey as an entry, if it is a full string key of this partition."""
    names = [hash_attr, range_attr] if index_name is None else [hash_attr, range_attr, table.hash_key_attr, table.range_key_attr]
    if not isinstance(start, dict):
        raise _Unsupported
    values = []
    for name in names:
        value = start.get(name)
        if not isinstance(value, dict) or list(value) != ["S"] or type(value["S"]) is not str:
            raise _Unsupported
        values.append(value["S"])
    if values[0] != partition:
        raise _Unsupported
    return tuple(values[1:])


def _item(table: Any, keys: _SortedKeys, index_name: str | None, partition: str, entry: Entry) -> Any:
    """The table's item behind an entry, checked."""
    pk, sk = (partition, entry[0]) if index_name is None else (entry[1], entry[2])
    item = keys.items.get((pk, sk))
    if item is None:
        raise _Stale
    hash_set = table.items.get(item.hash_key)
    if hash_set is None or hash_set.get(item.range_key) is not item or item.hash_key.value != pk or item.range_key.value != sk:
        raise _Stale
    if index_name is not None:
        hash_attr, range_attr = keys.specs[index_name]
        hash_value, range_value = item.attrs.get(hash_attr), item.attrs.get(range_attr)
        if hash_value is None or range_value is None or hash_value.value != partition or range_value.value != entry[0]:
            raise _Stale
        if hash_value.type != "S" or range_value.type != "S":
            raise _Stale
    return item


# --- install --------------------------------------------------------------------------------


_WRITES: dict[str, Callable[[inspect.BoundArguments], list[tuple[str, Any]]]] = {
    "put_item": _touched_single,
    "update_item": _touched_single,
    "delete_item": _touched_single,
    "transact_write_items": _touched_transaction,
}
_DROPPING = ("execute_statement", "execute_transaction", "batch_execute_statement", "update_table", "restore_table_from_backup")


def install(*, after_journal: bool = False) -> None:
    """Idempotent. After dynamodb_isolation.install(), before devstack.journal.install(): the
    write wrappers hold moto's lock while they call the journal's wrapper otherwise, the reverse
    of the journal's own order (a deadlock against its snapshot capture). `after_journal=True`
    is for tests that capture no snapshot."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    if not dynamodb_isolation.installed():
        raise RuntimeError("install devstack.dynamodb_isolation first: the write wrappers rely on its lock")
    with _install_lock:
        if "query" in _originals:
            return
        journaled = [
            name for name in (*_WRITES, *_DROPPING) if getattr(getattr(DynamoDBBackend, name, None), _JOURNAL_MARK, False)
        ]
        if journaled and not after_journal:
            raise RuntimeError("install devstack.moto_index_query before devstack.journal (lock order)")
        for name, touched_of in _WRITES.items():
            _originals[name] = getattr(DynamoDBBackend, name)
            setattr(DynamoDBBackend, name, _reindexed(touched_of)(_originals[name]))
        for name in _DROPPING:
            if hasattr(DynamoDBBackend, name):
                _originals[name] = getattr(DynamoDBBackend, name)
                setattr(DynamoDBBackend, name, _dropping(_originals[name]))
        # moto's own signature, also when devstack.moto_fast_paths wrapped it as (*args, **kwargs).
        from devstack import moto_fast_paths

        _originals["query_signature"] = inspect.signature(moto_fast_paths._original_query or Table.query)
        _originals["query"] = Table.query
        setattr(_query, _MARK, True)
        Table.query = _query  # type: ignore[method-assign]


def uninstall() -> None:
    """Back to the Query it wrapped (tests compare both); the lists are dropped on the next install."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    with _install_lock:
        if "query" not in _originals:
            return
        Table.query = _originals.pop("query")  # type: ignore[method-assign]
        _originals.pop("query_signature")
        for name in list(_originals):
            setattr(DynamoDBBackend, name, _originals.pop(name))
        for table in _all_tables():
            _drop(table)


def _all_tables() -> Iterator[Any]:
    from moto.dynamodb.models import dynamodb_backends

    for account in list(dynamodb_backends.values()):
        for backend in list(account.values()):
            yield from list(backend.tables.values())


@contextlib.contextmanager
def bypassed() -> Iterator[None]:
    """moto's own Query in this thread while the lists are still kept (tests compare both)."""
    _bypass.on = True
    try:
        yield
    finally:
        _bypass.on = False


def installed() -> bool:
    from moto.dynamodb.models.table import Table

    from devstack import moto_fast_paths

    query = Table.query
    if getattr(query, _MARK, False):
        return True
    # devstack.moto_fast_paths installed after this module wraps this Query in its own.
    return bool(getattr(query, "_helpdesk_fast_path", False) and getattr(moto_fast_paths._original_query, _MARK, False))


def counts() -> dict[str, int]:
    """Queries answered here, left to moto, and lists rebuilt after a mismatch (since start)."""
    return dict(_counts)
