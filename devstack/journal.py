"""A write-ahead journal of the local stack's moto: no acknowledged write is lost on `kill -9`.

What is journaled: every successful mutation of a DynamoDB item (PutItem, UpdateItem,
DeleteItem, each write of a BatchWriteItem, TransactWriteItems) and of an S3 object (PUT,
presigned-POST upload, copy, multipart completion, DeleteObject, DeleteObjects) in a table or
bucket the template provisioned: the same data the snapshot keeps. Each entry holds the
*images* of what the mutation touched, read after it applied (the whole item, or the object's
body, content type and user metadata; `null` when it is gone), never the request: a failed
conditional write raises before anything is recorded, and replay needs no condition logic.
Not journaled: tables/buckets the template does not declare, table or bucket configuration
(provisioned from the template at every start), SQS, EventBridge, Step Functions (see
docs/decisions.md "Local stack: journal, consistent snapshots, resume (issue 15)").

How: moto's backend methods are wrapped (outermost, in this process). A wrapper holds the
journal's mutation lock while moto applies the change and the images are read and appended
(one JSON line, `os.write` to the segment file), then waits for an fsync covering its entry
*before* returning to moto's request handler, so the HTTP response leaves only once the entry is
on disk. Writers that arrive while an fsync runs share the next one (group commit).

Files: `<state dir>/journal/<first seq>.jsonl` segments. A snapshot is captured while the lock
is held (mutations paused), records the last sequence number it includes and rotates to a new
segment; once the snapshot file is durably renamed, older segments are deleted. A crash between
the two leaves segments whose entries the snapshot already holds: replay skips entries at or
below the snapshot's number, and images make a replayed entry idempotent anyway.

Never shipped in the Lambda package.
"""

from __future__ import annotations

import base64
import functools
import inspect
import itertools
import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import dynamodb_isolation
from devstack.aws import LOCAL_ACCOUNT_ID

JOURNAL_DIR = "journal"
SEGMENT_SUFFIX = ".jsonl"
_MARK = "_helpdesk_journaled"
_MUTATING_HTTP_METHODS = frozenset({"PUT", "POST", "DELETE"})
logger = logging.getLogger(__name__)
Change = dict[str, Any]
"""{"table": logical id, "key": {...}, "item": {...} | None} or
{"bucket": logical id, "key": str, "object": {"key", "content_type", "metadata", "body"} | None}."""


def journal_dir(state_dir: Path) -> Path:
    return state_dir / JOURNAL_DIR


class JournalCorrupt(Exception):
    """A journal line other than a segment's last one does not parse."""


def _segments(directory: Path) -> list[tuple[int, Path]]:
    if not directory.exists():
        return []
    found = []
    for path in directory.iterdir():
        if path.suffix == SEGMENT_SUFFIX and path.stem.isdigit():
            found.append((int(path.stem), path))
    return sorted(found)


def read_entries(directory: Path, after: int = 0) -> list[dict[str, Any]]:
    """Every entry with a sequence number above `after`, in order.

    The last line of a segment may be torn (the process died inside os.write): it was never
    fsynced, so never acknowledged, and is ignored. Anything else that does not parse is an error.
    """
    entries: list[dict[str, Any]] = []
    last = after
    for _, path in _segments(directory):
        lines = path.read_bytes().split(b"\n")
        for number, line in enumerate(lines):
            if not line:
                continue
            try:
                entry = json.loads(line)
                seq = entry["seq"]
            except (ValueError, KeyError, TypeError) as exc:
                if all(not rest for rest in lines[number + 1 :]):
                    logger.warning("%s ends in a torn entry (never acknowledged); ignored", path)
                    break
                raise JournalCorrupt(f"{path} line {number + 1} does not parse: {exc}") from exc
            if seq <= after:
                continue
            if seq <= last:
                raise JournalCorrupt(f"{path} line {number + 1}: sequence {seq} after {last}")
            entries.append(entry)
            last = seq
    return entries


def last_sequence(directory: Path) -> int:
    entries = read_entries(directory)
    return entries[-1]["seq"] if entries else 0


class Journal:
    """Append-only, fsynced segments; `lock` pauses every journaled mutation while held."""

    def __init__(self, directory: Path, next_seq: int) -> None:
        self.directory = directory
        self.lock = threading.RLock()
        self._sync_lock = threading.Lock()
        self._last_seq = next_seq - 1
        self._synced = self._last_seq
        directory.mkdir(parents=True, exist_ok=True)
        self._fd = self._open_segment(next_seq)
        # (fd, last seq written to it): read by sync() without the mutation lock.
        self._tail = (self._fd, self._last_seq)
        self.fsyncs = 0
        # Measurement only (bench/journal.py): DEVSTACK_JOURNAL_FSYNC=0 leaves entries in the
        # page cache, so a kill -9 still keeps them but a power loss may not.
        self._fsync = os.environ.get("DEVSTACK_JOURNAL_FSYNC", "1") != "0"

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def _open_segment(self, first_seq: int) -> int:
        path = self.directory / f"{first_seq:012d}{SEGMENT_SUFFIX}"
        # A segment of this name can only hold a torn, never acknowledged line: nothing valid
        # was numbered first_seq yet. Start it over.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        _fsync_directory(self.directory)
        return fd

    def append(self, changes: list[Change]) -> int:
        """Write one entry; the caller holds `lock`. Answers its sequence number for sync()."""
        seq = self._last_seq + 1
        data = (json.dumps({"seq": seq, "changes": changes}, separators=(",", ":")) + "\n").encode()
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._last_seq = seq
        self._tail = (self._fd, seq)
        return seq

    def sync(self, seq: int) -> None:
        """Return once entry `seq` is on disk; one fsync serves every entry written before it."""
        with self._sync_lock:
            if self._synced >= seq:
                return
            fd, written = self._tail
            if self._fsync:
                os.fsync(fd)
            self.fsyncs += 1
            self._synced = max(self._synced, written)

    def rotate(self) -> int:
        """Start a new segment; the caller holds `lock`. Answers the last seq of the old ones."""
        with self._sync_lock:
            os.fsync(self._fd)
            os.close(self._fd)
            self._synced = self._last_seq
            self._fd = self._open_segment(self._last_seq + 1)
            self._tail = (self._fd, self._last_seq)
        return self._last_seq

    def drop_through(self, seq: int) -> None:
        """Delete the segments holding only entries <= seq (the snapshot has them)."""
        segments = _segments(self.directory)
        for (_, path), (next_first, _) in itertools.pairwise(segments):
            if next_first - 1 <= seq:
                path.unlink(missing_ok=True)
        _fsync_directory(self.directory)

    def close(self) -> None:
        with self.lock, self._sync_lock:
            if self._fd >= 0:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# --- replay -------------------------------------------------------------------------------


def apply_entries(
    state: Mapping[str, Any], entries: list[dict[str, Any]], key_names: Mapping[str, tuple[str, ...]]
) -> dict[str, Any]:
    """The snapshot's state with the journal's images laid over it, last image per key wins."""
    tables: dict[str, dict[str, Any]] = {}
    for logical_id, items in state.get("tables", {}).items():
        names = key_names.get(logical_id)
        if names is None:
            tables[logical_id] = {str(index): item for index, item in enumerate(items)}
            continue
        tables[logical_id] = {_key_text({name: item[name] for name in names}): item for item in items}
    buckets = {logical_id: {entry["key"]: entry for entry in objects} for logical_id, objects in state.get("buckets", {}).items()}
    for entry in entries:
        for change in entry["changes"]:
            if "table" in change:
                rows = tables.setdefault(change["table"], {})
                key = _key_text(change["key"])
                if change["item"] is None:
                    rows.pop(key, None)
                else:
                    rows[key] = change["item"]
            else:
                objects = buckets.setdefault(change["bucket"], {})
                if change["object"] is None:
                    objects.pop(change["key"], None)
                else:
                    objects[change["key"]] = change["object"]
    return {
        "tables": {logical_id: list(rows.values()) for logical_id, rows in tables.items()},
        "buckets": {logical_id: list(objects.values()) for logical_id, objects in buckets.items()},
    }


def _key_text(key: Mapping[str, Any]) -> str:
    return json.dumps(key, sort_keys=True, separators=(",", ":"))


# --- the moto hooks -----------------------------------------------------------------------


@dataclass
class _Active:
    journal: Journal
    tables: dict[str, str]  # physical name -> logical id
    buckets: dict[str, str]
    region: str


_active: _Active | None = None
_local = threading.local()
_install_lock = threading.Lock()


def activate(journal: Journal, tables: Mapping[str, str], buckets: Mapping[str, str], region: str) -> None:
    """Journal from now on; tables/buckets map logical ids to physical names (as provisioned)."""
    global _active
    _active = _Active(
        journal,
        {physical: logical for logical, physical in tables.items()},
        {physical: logical for logical, physical in buckets.items()},
        region,
    )


def deactivate() -> None:
    global _active
    _active = None


@dataclass
class _Scope:
    """One journaled call on this thread: nested moto calls add to it instead of journaling."""

    s3_touched: list[tuple[str, str]] = field(default_factory=list)


def _journaled(keys_of: Callable[[inspect.BoundArguments], list[tuple[str, dict[str, Any]]]]) -> Callable[..., Any]:
    """Wrap a DynamoDB backend mutation: apply, read the touched items' images, append, fsync."""

    def decorate(original: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(original)

        @functools.wraps(original)
        def journaled(self: Any, *args: Any, **kwargs: Any) -> Any:
            active = _active
            if active is None or getattr(_local, "scope", None) is not None:
                return original(self, *args, **kwargs)
            with active.journal.lock:
                _local.scope = _Scope()
                try:
                    result = original(self, *args, **kwargs)
                finally:
                    _local.scope = None
                touched = keys_of(signature.bind(self, *args, **kwargs))
                changes = _item_changes(self, active, touched)
                seq = active.journal.append(changes) if changes else None
            if seq is not None:
                active.journal.sync(seq)
            return result

        setattr(journaled, _MARK, True)
        return journaled

    return decorate


def _item_changes(backend: Any, active: _Active, touched: list[tuple[str, dict[str, Any]]]) -> list[Change]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    changes = []
    with dynamodb_isolation._LOCK:
        for table_name, key in touched:
            logical_id = active.tables.get(table_name)
            if logical_id is None:
                continue
            table = backend.get_table(table_name)
            names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
            key_image = {name: _plain(DynamoType(key[name]).to_json()) for name in names}
            hash_value, range_value = backend.get_keys_value(table, key)
            item = table.get_item(hash_value, range_value)
            changes.append({"table": logical_id, "key": key_image, "item": _item_image(item) if item else None})
    return changes


def _item_image(item: Any) -> dict[str, Any]:
    """Wire JSON of a moto Item (binaries base64 text), copied: moto may mutate it later."""
    return {name: _plain(value) for name, value in item.to_json()["Attributes"].items()}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(member) for key, member in value.items()}
    if isinstance(value, list):
        return [_plain(member) for member in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if hasattr(value, "to_json"):  # a DynamoType left inside a list
        return _plain(value.to_json())
    return value


def _single(arguments: inspect.BoundArguments) -> list[tuple[str, dict[str, Any]]]:
    values = arguments.arguments
    return [(values["table_name"], values.get("key") or values.get("item_attrs"))]


def _transaction(arguments: inspect.BoundArguments) -> list[tuple[str, dict[str, Any]]]:
    touched = []
    for entry in arguments.arguments["transact_items"]:
        for kind, op in entry.items():
            if kind in ("Put", "Update", "Delete"):
                touched.append((op["TableName"], op.get("Key") or op["Item"]))
    return touched


def _s3_object_touched(original: Callable[..., Any]) -> Callable[..., Any]:
    """put_object/delete_object: note the key in the current S3 request's scope."""
    signature = inspect.signature(original)

    @functools.wraps(original)
    def noting(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        active = _active
        if active is not None:
            values = signature.bind(self, *args, **kwargs).arguments
            scope = getattr(_local, "scope", None)
            if scope is not None:
                scope.s3_touched.append((values["bucket_name"], values["key_name"]))
            else:
                # A call outside an S3 request (in-process): journal it on its own.
                with active.journal.lock:
                    changes = _object_changes(self, active, [(values["bucket_name"], values["key_name"])])
                    seq = active.journal.append(changes) if changes else None
                if seq is not None:
                    active.journal.sync(seq)
        return result

    setattr(noting, _MARK, True)
    return noting


def _s3_request(original: Callable[..., Any]) -> Callable[..., Any]:
    """S3Response.*_response: a mutating request runs under the lock, then its objects' images
    (metadata is set on the key after put_object returns) are appended and fsynced. (The
    *_dispatch classmethods cannot be wrapped: moto's URL table holds them since import.)"""

    @functools.wraps(original)
    def respond(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        active = _active
        if active is None or getattr(request, "method", "") not in _MUTATING_HTTP_METHODS or _local_scope() is not None:
            return original(self, request, *args, **kwargs)
        from moto.s3.models import s3_backends

        with active.journal.lock:
            scope = _local.scope = _Scope()
            try:
                result = original(self, request, *args, **kwargs)
            finally:
                _local.scope = None
            changes = _object_changes(s3_backends[LOCAL_ACCOUNT_ID]["aws"], active, scope.s3_touched)
            seq = active.journal.append(changes) if changes else None
        if seq is not None:
            active.journal.sync(seq)
        return result

    setattr(respond, _MARK, True)
    return respond


def _local_scope() -> _Scope | None:
    return getattr(_local, "scope", None)


def _object_changes(backend: Any, active: _Active, touched: list[tuple[str, str]]) -> list[Change]:
    changes = []
    seen = set()
    for bucket_name, key_name in touched:
        logical_id = active.buckets.get(bucket_name)
        if logical_id is None or (bucket_name, key_name) in seen:
            continue
        seen.add((bucket_name, key_name))
        bucket = backend.buckets.get(bucket_name)
        key = bucket.keys.get(key_name) if bucket is not None else None
        changes.append({"bucket": logical_id, "key": key_name, "object": object_image(key)})
    return changes


def object_image(key: Any) -> dict[str, Any] | None:
    """What the snapshot keeps of an S3 object (as GetObject shows it), None for none/a delete marker."""
    from moto.s3.models import FakeKey

    if not isinstance(key, FakeKey):
        return None
    metadata = key.metadata
    prefix = "x-amz-meta-"
    return {
        "key": key.name,
        "content_type": metadata.get("Content-Type", "binary/octet-stream"),
        "metadata": {name[len(prefix) :]: value for name, value in metadata.items() if name.lower().startswith(prefix)},
        "body": base64.b64encode(key.value).decode("ascii"),
    }


def install() -> None:
    """Idempotent: wraps moto's mutations once per process (outside dynamodb_isolation's lock)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.s3.models import S3Backend
    from moto.s3.responses import S3Response

    with _install_lock:
        for name, keys_of in (
            ("put_item", _single),
            ("update_item", _single),
            ("delete_item", _single),
            ("transact_write_items", _transaction),
        ):
            method = getattr(DynamoDBBackend, name)
            if not getattr(method, _MARK, False):
                setattr(DynamoDBBackend, name, _journaled(keys_of)(method))
        for name in ("put_object", "delete_object"):
            method = getattr(S3Backend, name)
            if not getattr(method, _MARK, False):
                setattr(S3Backend, name, _s3_object_touched(method))
        for name in ("bucket_response", "ambiguous_response", "key_response"):
            method = getattr(S3Response, name)
            if not getattr(method, _MARK, False):
                setattr(S3Response, name, _s3_request(method))


# --- consistent capture -------------------------------------------------------------------


def capture_state(
    tables: Mapping[str, str], buckets: Mapping[str, str], region: str, journal: Journal | None = None
) -> tuple[dict[str, Any], int]:
    """Every item and object as of one instant (journaled mutations paused), and the journal's
    last sequence number included; the journal moves on to a new segment."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends

    lock = journal.lock if journal is not None else threading.RLock()
    with lock, dynamodb_isolation._LOCK:
        dynamodb = dynamodb_backends[LOCAL_ACCOUNT_ID][region]
        items = {
            logical_id: [_item_image(item) for item in dynamodb.get_table(physical).all_items()]
            for logical_id, physical in tables.items()
        }
        s3 = s3_backends[LOCAL_ACCOUNT_ID]["aws"]
        objects = {logical_id: _bucket_images(s3, physical) for logical_id, physical in buckets.items()}
        seq = journal.rotate() if journal is not None else 0
    for logical_id in items:
        items[logical_id].sort(key=lambda item: json.dumps(item, sort_keys=True))
    return {"tables": items, "buckets": objects}, seq


def _bucket_images(backend: Any, bucket_name: str) -> list[dict[str, Any]]:
    bucket = backend.buckets.get(bucket_name)
    if bucket is None:
        return []
    images = (object_image(key) for _, key in sorted(bucket.keys.items()))
    return [image for image in images if image is not None]


def key_names(tables: Mapping[str, str], region: str) -> dict[str, tuple[str, ...]]:
    """Each provisioned table's key attribute names, by logical id."""
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[LOCAL_ACCOUNT_ID][region]
    names = {}
    for logical_id, physical in tables.items():
        table = backend.get_table(physical)
        names[logical_id] = (table.hash_key_attr,) + ((table.range_key_attr,) if table.range_key_attr else ())
    return names
