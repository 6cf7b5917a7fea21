"""Make moto's DynamoDB behave like DynamoDB under concurrency: isolated, all-or-nothing.

moto 5.2.5's `transact_write_items` deep-copies every touched *table* to roll back on
failure, without a lock. Under a threaded moto server two transactions interleave (lost
writes) or crash mid-copy ("dictionary changed size during iteration", a 500); and each
write costs a copy of the whole table (a create took 1.1 s at 300 tickets). Its stream
shard also delivers the records of a transaction's first writes even when a later
condition cancels it. Three local-only patches fix that:

1. one re-entrant lock around the backend's item operations (isolation);
2. the rollback backs up only the items the transaction names (cost of the write, not
   of the table);
3. stream records of a transaction are buffered and published only if it commits.

Never shipped in the Lambda package.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

_LOCK = threading.RLock()
_OPERATIONS = (
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "batch_get_item",
    "batch_write_item",
    "transact_get_items",
)
_MARK = "_helpdesk_serialized"


def _serialized(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    setattr(locked, _MARK, True)
    return locked


class _TableCopyShim:
    """Stands in for the `copy` module inside moto.dynamodb.models: copying a whole Table
    becomes a no-op, because `_transactional` already backed up what can change."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        if isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


def _key_of(table: Any, op: dict[str, Any]) -> tuple[Any, Any] | None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    key = op.get("Key") or op.get("Item") or {}
    if table.hash_key_attr not in key:
        return None
    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
    return hash_value, range_value


class _ItemBackup:
    """The touched items of one table as they were, to put back on cancellation."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.saved: dict[tuple[Any, Any], Any] = {}

    def remember(self, key: tuple[Any, Any]) -> None:
        if key not in self.saved:
            self.saved[key] = copy.deepcopy(self.table.get_item(*key))

    def restore(self) -> None:
        items = self.table.items
        for (hash_value, range_value), item in self.saved.items():
            if self.table.has_range_key:
                if item is None:
                    items.get(hash_value, {}).pop(range_value, None)
                    if hash_value in items and not items[hash_value]:
                        del items[hash_value]
                else:
                    items[hash_value][range_value] = item
            elif item is None:
                items.pop(hash_value, None)
            else:
                items[hash_value] = item


@contextlib.contextmanager
def _buffered_streams(tables: list[Any]) -> Iterator[list[tuple[Any, Any, Any]]]:
    buffered: list[tuple[Any, Any, Any]] = []
    patched = []
    for table in tables:
        shard = table.stream_shard
        if shard is not None:
            shard.add = lambda old, new, _shard=shard: buffered.append((_shard, old, new))
            patched.append(shard)
    try:
        yield buffered
    finally:
        for shard in patched:
            del shard.add  # back to the class method


def _transactional(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def run(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        with _LOCK:
            backups: dict[str, _ItemBackup] = {}
            for entry in transact_items:
                for op in entry.values():
                    table = self.tables.get(op.get("TableName"))
                    if table is None:
                        continue
                    backup = backups.setdefault(table.name, _ItemBackup(table))
                    key = _key_of(table, op)
                    if key is not None:
                        backup.remember(key)
            with _buffered_streams([b.table for b in backups.values()]) as records:
                try:
                    result = original(self, transact_items)
                except Exception:
                    for backup in backups.values():
                        backup.restore()
                    raise
            for shard, old, new in records:  # committed: publish in write order
                shard.add(old, new)
            return result

    setattr(run, _MARK, True)
    return run


def install() -> None:
    """Idempotent: patches moto's DynamoDB backend once per process."""
    import moto.dynamodb.models as models
    from moto.dynamodb.models import DynamoDBBackend

    for name in _OPERATIONS:
        method = getattr(DynamoDBBackend, name, None)
        if method is not None and not getattr(method, _MARK, False):
            setattr(DynamoDBBackend, name, _serialized(method))
    if not getattr(DynamoDBBackend.transact_write_items, _MARK, False):
        DynamoDBBackend.transact_write_items = _transactional(DynamoDBBackend.transact_write_items)
        models.copy = _TableCopyShim()  # type: ignore[assignment]


def installed() -> bool:
    from moto.dynamodb.models import DynamoDBBackend

    names = (*_OPERATIONS, "transact_write_items")
    return all(getattr(getattr(DynamoDBBackend, name), _MARK, False) for name in names if hasattr(DynamoDBBackend, name))
