"""What every repository shares: one connection for its transactions, and counters."""

from __future__ import annotations

from typing import Any

from pynamodb.connection import Connection
from pynamodb.transactions import TransactWrite

from chalicelib.storage import keys
from chalicelib.storage.errors import transact_item_keys, translated
from chalicelib.storage.models import CounterItem, Record, botocore_sessions

# An item as storage builds it (history, ledger, event items): services receive these from one
# repository and hand them to another's transaction without opening them.
StoredItem = Record


class _KeyedConnection(Connection):
    """A connection whose failed TransactWriteItems carries the keys it sent, in the order sent
    (`transact_keys` on the botocore error), so a cancellation's reasons map to items by key.
    Its botocore session is the models' (models.botocore_sessions)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._local = botocore_sessions()

    def dispatch(self, operation_name: str, operation_kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            return super().dispatch(operation_name, operation_kwargs)
        except Exception as exc:
            if operation_name == "TransactWriteItems":
                exc.transact_keys = transact_item_keys(operation_kwargs.get("TransactItems", []))  # type: ignore[attr-defined]
            raise


class Repository:
    """Base of repositories that write transactions."""

    def __init__(self) -> None:
        self._connection: Connection | None = None

    def _transaction(self) -> TransactWrite:
        # One connection (one botocore client) per repository: building clients is slow.
        if self._connection is None:
            self._connection = _KeyedConnection(region=Record.Meta.region, host=Record.Meta.host)
        return TransactWrite(connection=self._connection)


def next_counter_value(name: str) -> int:
    """Atomically take the next number of a counter (ADD on one item; creates it at 1)."""
    counter = CounterItem(keys.COUNTER_PK, name)
    with translated():
        counter.update(actions=[CounterItem.kind.set(CounterItem), CounterItem.value.add(1)])
    return int(counter.value)
