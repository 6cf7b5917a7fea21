"""Faster moto for the local stack, with byte-identical answers (local stack only).

Profiling the local stack under bench/load.py (py-spy, GIL samples) showed about half of the
process's CPU in moto's generic response serializer, answering DynamoDB Query, Scan and
GetItem: for every attribute value of every item it walks the botocore shape of
`AttributeValue` (ten members, each tried under up to four aliases by an attribute picker).
Under the benchmark a list Query (25 items, ~45 KB) took 384 ms on average, 290 ms of it in
serializing; the snapshot writer's Scan of the whole table 3.6 s, 3 s of it serializing.

The patch below serializes one `AttributeValue` directly when it is the plain shape moto's
DynamoDB responses hold (`{"S": str}`, `{"N": str}`, `{"BOOL": bool}`, `{"NULL": bool}`,
`{"SS"|"NS": [str, ...]}`, `{"L": [...]}`, `{"M": {...}}`, nested). It writes exactly what
the generic path writes for such a value; anything else (binaries, which moto base64-encodes
here; DynamoType objects in error shapes; dicts with other keys) goes the generic way.
tests/local/test_moto_fast_paths.py compares raw response bodies with and without it.

Second: moto's Step Functions parse a state machine's definition with ANTLR again for every
execution (~18% of the CPU after the first fix: every ticket write starts SLA timer
executions). The parse tree of a definition is kept (parse trees are only read afterwards)
and each execution still gets its own program, built from it by a fresh Preprocessor, as
before. A definition that fails to parse is not kept, so it fails in the same way every time.

Third: every Query sorts the whole table (`Table.all_items()` sorts all items by their
keys) before picking its partition: ~12% of the CPU, growing with every write (each write
adds outbox and SLA ledger items). Inside Table.query only, all_items answers without that
sort: the partition's items for a base-table query (the same items the query would keep:
partitions are keyed by the same equality it filters with), all items for an index query.
The query sorts its candidates itself by keys that are unique per item (a partition's range
key; an index's keys followed by the table's), so the answer does not depend on the order
they come in.

Never shipped in the Lambda package.
"""

from __future__ import annotations

import threading
from typing import Any

_MARK = "_helpdesk_fast_path"
_STRINGS = frozenset({"S", "N"})
_BOOLEANS = frozenset({"BOOL", "NULL"})
_STRING_SETS = frozenset({"SS", "NS"})
# The member names of botocore's AttributeValue shape.
_MEMBERS = ("S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL")
_install_lock = threading.Lock()
_original: Any = None
_original_entrypoint: Any = None
_TREES_KEPT = 64
_trees: dict[str, Any] = {}
_original_query: Any = None
_original_all_items: Any = None
_query_scope = threading.local()


class _Generic(Exception):
    """This value needs moto's generic serializer."""


def _attribute_value(value: Any) -> dict[str, Any]:
    """What moto's generic JSON serializer makes of `value` (an AttributeValue), or _Generic."""
    if type(value) is not dict or len(value) != 1:
        raise _Generic
    ((kind, content),) = value.items()
    if kind in _STRINGS:
        # Generic: str(value) on a string member.
        if type(content) is not str:
            raise _Generic
        return {kind: content}
    if kind in _BOOLEANS:
        # Generic: a boolean member is copied as it is.
        if type(content) is not bool:
            raise _Generic
        return {kind: content}
    if kind in _STRING_SETS:
        if type(content) is not list or any(type(member) is not str for member in content):
            raise _Generic
        return {kind: list(content)}
    if kind == "L":
        if type(content) is not list:
            raise _Generic
        return {"L": [_attribute_value(member) for member in content]}
    if kind == "M":
        # An empty name makes the generic path merge the value into the map itself (moto's
        # quirk, kept): only non-empty names are done here.
        if type(content) is not dict or any(type(name) is not str or not name for name in content):
            raise _Generic
        return {"M": {name: _attribute_value(member) for name, member in content.items()}}
    raise _Generic  # B, BS (base64-encoded by the generic path), or not a member at all


def _transformers_may_touch_attribute_values(serializer: Any) -> bool:
    """moto's response transformers match the end of a key path such as `...Items.AttributeMap.subject.S`;
    one that could end on an AttributeValue member changes the generic output, so leave it alone."""
    transformers = getattr(serializer._value_picker, "response_transformers", None) or {}
    for path in transformers:
        last = path.rsplit(".", 1)[-1]
        if "." in path and last in _MEMBERS:
            return True
        if "." not in path and any(member.endswith(path) for member in _MEMBERS):
            return True
    return False


def _fast_path_allowed(serializer: Any) -> bool:
    """Decided once per serializer, that is per response."""
    allowed = serializer.__dict__.get(_MARK)
    if allowed is None:
        allowed = serializer.service_model.service_name == "dynamodb" and not _transformers_may_touch_attribute_values(serializer)
        serializer.__dict__[_MARK] = allowed
    return bool(allowed)


def _fast_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
    if key and shape.name == "AttributeValue" and _fast_path_allowed(self):
        try:
            fast = _attribute_value(value)
        except _Generic:
            pass
        else:
            # The generic path ends the same way: the wrapper goes in under the member's name.
            self._default_serialize(serialized, fast, shape, key)
            return
    _original(self, serialized, value, shape, key)


def _entrypoint_from_kept_tree(self: Any) -> Any:
    """ExecutionWorker._get_evaluation_entrypoint, parsing each definition once."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    definition = self._evaluation_details.state_machine_details.definition
    tree = _trees.get(definition)
    if tree is None:
        program, tree = AmazonStateLanguageParser.parse(definition)  # raises as moto does
        with _install_lock:
            if len(_trees) >= _TREES_KEPT:
                _trees.clear()
            _trees[definition] = tree
        return program
    # What AmazonStateLanguageParser.parse does after its ANTLR parse.
    return Preprocessor().visit(tree)


def _query_without_table_sort(self: Any, *args: Any, **kwargs: Any) -> Any:
    """Table.query, with all_items() unsorted for this table while it runs (see the module)."""
    if not self.range_key_attr:
        return _original_query(self, *args, **kwargs)
    hash_key = args[0] if args else kwargs.get("hash_key")
    index_name = args[7] if len(args) > 7 else kwargs.get("index_name")
    if not index_name and hash_key is None:
        return _original_query(self, *args, **kwargs)
    outer = getattr(_query_scope, "scope", None)
    _query_scope.scope = (self, None if index_name else hash_key)
    try:
        return _original_query(self, *args, **kwargs)
    finally:
        _query_scope.scope = outer


def _all_items(self: Any) -> Any:
    scope = getattr(_query_scope, "scope", None)
    if scope is None or scope[0] is not self:
        return _original_all_items(self)
    partition = scope[1]
    if partition is not None:
        return list(self.items.get(partition, {}).values())
    return [item for hash_set in self.items.values() for item in hash_set.values()]


def install() -> None:
    """Idempotent: patches moto once per process."""
    global _original, _original_entrypoint, _original_query, _original_all_items
    from moto.core.serialize import BaseJSONSerializer
    from moto.dynamodb.models.table import Table
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    with _install_lock:
        if _original is None:
            _original = BaseJSONSerializer._serialize_type_structure
            setattr(_fast_structure, _MARK, True)
            BaseJSONSerializer._serialize_type_structure = _fast_structure  # type: ignore[method-assign]
        if _original_entrypoint is None:
            _original_entrypoint = ExecutionWorker._get_evaluation_entrypoint
            setattr(_entrypoint_from_kept_tree, _MARK, True)
            ExecutionWorker._get_evaluation_entrypoint = _entrypoint_from_kept_tree  # type: ignore[method-assign]
        if _original_query is None:
            _original_query, _original_all_items = Table.query, Table.all_items
            setattr(_query_without_table_sort, _MARK, True)
            Table.query = _query_without_table_sort  # type: ignore[method-assign]
            Table.all_items = _all_items  # type: ignore[method-assign]


def uninstall() -> None:
    """Back to moto's own code (tests compare both)."""
    global _original, _original_entrypoint, _original_query, _original_all_items
    from moto.core.serialize import BaseJSONSerializer
    from moto.dynamodb.models.table import Table
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    with _install_lock:
        if _original is not None:
            BaseJSONSerializer._serialize_type_structure = _original  # type: ignore[method-assign]
            _original = None
        if _original_entrypoint is not None:
            ExecutionWorker._get_evaluation_entrypoint = _original_entrypoint  # type: ignore[method-assign]
            _original_entrypoint = None
        if _original_query is not None:
            Table.query, Table.all_items = _original_query, _original_all_items  # type: ignore[method-assign]
            _original_query = _original_all_items = None
        _trees.clear()


def installed() -> bool:
    from moto.core.serialize import BaseJSONSerializer
    from moto.dynamodb.models.table import Table
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    return bool(
        getattr(BaseJSONSerializer._serialize_type_structure, _MARK, False)
        and getattr(ExecutionWorker._get_evaluation_entrypoint, _MARK, False)
        and getattr(Table.query, _MARK, False)
    )
