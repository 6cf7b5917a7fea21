"""Make moto's DynamoDB serialize its operations, as real DynamoDB isolates transactions.

moto 5.2.5's `transact_write_items` deep-copies every touched table to roll back on
failure, without a lock: under a threaded moto server two transactions interleave (lost
writes) or crash mid-copy ("dictionary changed size during iteration", a 500). One
re-entrant lock around the backend's item operations restores isolation. Local-only:
it patches moto, never ships in the Lambda package.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
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
    "transact_write_items",
)
_MARK = "_helpdesk_serialized"


def _serialized(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    setattr(locked, _MARK, True)
    return locked


def install() -> None:
    """Idempotent: wraps each backend operation once."""
    from moto.dynamodb.models import DynamoDBBackend

    for name in _OPERATIONS:
        method = getattr(DynamoDBBackend, name, None)
        if method is not None and not getattr(method, _MARK, False):
            setattr(DynamoDBBackend, name, _serialized(method))


def installed() -> bool:
    from moto.dynamodb.models import DynamoDBBackend

    return all(getattr(getattr(DynamoDBBackend, name), _MARK, False) for name in _OPERATIONS if hasattr(DynamoDBBackend, name))
