"""Counts DynamoDB calls, items read and returned, and capacity computed from item sizes.

moto's ConsumedCapacity ignores item size and is empty for transactions (LOCAL-AWS.md),
so capacity is computed here from the items each call carries, by DynamoDB's rules:
reads cost 4 KB units (half for eventually consistent), writes 1 KB units, and every
item of a transaction twice. Deleted items are charged 1 KB (their size is not sent).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import botocore.client


def value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind in ("S", "B"):
        return len(inner.encode() if isinstance(inner, str) else inner)
    if kind == "N":
        return len(inner.strip("-").replace(".", "")) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS"):
        return sum(len(v.encode() if isinstance(v, str) else v) for v in inner)
    if kind == "NS":
        return sum(len(v) // 2 + 1 for v in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in inner.items())
    return 0


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def read_units(size: int, consistent: bool) -> float:
    units = math.ceil(max(size, 1) / 4096)
    return units if consistent else units / 2


def write_units(size: int) -> int:
    return math.ceil(max(size, 1) / 1024)


@dataclass
class Meter:
    calls: Counter[str] = field(default_factory=Counter)
    items_read: int = 0
    query_items_read: int = 0  # by Queries alone: the list's own reads, without the caller's GetItem
    rcu: float = 0.0
    wcu: float = 0.0

    def reset(self) -> None:
        self.calls.clear()
        self.items_read = self.query_items_read = 0
        self.rcu = self.wcu = 0.0

    def record(self, operation: str, params: dict[str, Any], response: dict[str, Any]) -> None:
        self.calls[operation] += 1
        consistent = bool(params.get("ConsistentRead"))
        if operation == "GetItem":
            item = response.get("Item")
            self.items_read += 1
            self.rcu += read_units(item_size(item) if item else 0, consistent)
        elif operation == "Query":
            items = response.get("Items", [])
            scanned, count = response.get("ScannedCount", len(items)), response.get("Count", len(items))
            self.items_read += scanned
            self.query_items_read += scanned
            size = sum(item_size(i) for i in items)
            if count and scanned > count:  # filtered-out items were read too: scale by the average
                size = size * scanned // count
            self.rcu += read_units(size, consistent)
        elif operation == "BatchGetItem":
            for items in response.get("Responses", {}).values():
                self.items_read += len(items)
                self.rcu += sum(read_units(item_size(i), False) for i in items)
        elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
            item = params.get("Item") or response.get("Attributes") or {}
            self.wcu += write_units(item_size(item) if item else 1024)
        elif operation == "TransactWriteItems":
            for entry in params.get("TransactItems", []):
                ((kind, op),) = entry.items()
                if kind == "ConditionCheck":
                    self.rcu += 2
                    continue
                self.wcu += 2 * write_units(item_size(op["Item"]) if "Item" in op else 1024)

    def install(self) -> Any:
        """Wrap botocore's single call path; returns an undo function."""
        original = botocore.client.BaseClient._make_api_call
        meter = self

        def metered(client: Any, operation: str, params: dict[str, Any]) -> Any:
            response = original(client, operation, params)
            if client.meta.service_model.service_name == "dynamodb":
                meter.record(operation, params, response)
            return response

        botocore.client.BaseClient._make_api_call = metered

        def undo() -> None:
            botocore.client.BaseClient._make_api_call = original

        return undo
