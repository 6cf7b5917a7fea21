"""Keep the local stack's data across restarts: DynamoDB items and S3 objects in one JSON file.

moto keeps everything in memory. The snapshot holds what a developer would miss after a restart
(table items, uploaded objects), keyed by logical id so it survives renamed physical resources.
It does not hold SQS messages, EventBridge events or running Step Functions executions: those
are in flight, and replaying them on start would repeat their side effects.

With a journal (devstack.journal) the snapshot is point-in-time: captured from moto's memory
while journaled mutations are paused, it records the journal sequence number it includes
(`journal_seq`); a start restores it and lays the journal's later entries over it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devstack import journal as journal_module
from devstack.aws import LocalAws
from devstack.journal import Journal, apply_entries, capture_state, journal_dir, key_names, read_entries
from devstack.provision import Provisioned

SNAPSHOT_FILE = "snapshot.json"
FORMAT_VERSION = 1
TABLE = "AWS::DynamoDB::Table"
BUCKET = "AWS::S3::Bucket"
_BATCH_WRITE_LIMIT = 25

logger = logging.getLogger(__name__)
State = dict[str, Any]
"""{"tables": {logical id: [items]}, "buckets": {logical id: [objects]}}, JSON-ready."""


def snapshot_path(state_dir: Path) -> Path:
    return state_dir / SNAPSHOT_FILE


def read_snapshot(path: Path) -> State | None:
    """The saved state, or None when there is none yet (a first start)."""
    if not path.exists():
        return None
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path} has format {document.get('format')}, expected {FORMAT_VERSION}")
    state = {"tables": document.get("tables", {}), "buckets": document.get("buckets", {})}
    if "journal_seq" in document:
        state["journal_seq"] = document["journal_seq"]
    return state


def state_to_restore(state_dir: Path) -> State | None:
    """The snapshot, or an empty state when only a journal exists (killed before the first
    snapshot); None on a first start."""
    state = read_snapshot(snapshot_path(state_dir))
    if state is None and read_entries(journal_dir(state_dir)):
        return {"tables": {}, "buckets": {}, "journal_seq": 0}
    return state


def recover(aws: LocalAws, provisioned: Provisioned, state_dir: Path, state: State | None) -> tuple[dict[str, int], Journal]:
    """Restore the snapshot with the journal's later entries laid over it, then open the journal
    (journaling starts here: what the restore itself writes is not journaled again)."""
    directory = journal_dir(state_dir)
    after = (state or {}).get("journal_seq", 0)
    entries = read_entries(directory, after)
    restored: dict[str, int] = {}
    if state is not None:
        tables = provisioned.of_type(TABLE)
        merged = apply_entries(state, entries, key_names(tables, aws.region))
        restored = restore_state(aws, provisioned, merged)
    journal = Journal(directory, next_seq=max([after, *(entry["seq"] for entry in entries)]) + 1)
    journal_module.activate(journal, provisioned.of_type(TABLE), provisioned.of_type(BUCKET), aws.region)
    if entries:
        logger.info("replayed %d journal entries over the snapshot", len(entries))
    return restored, journal


def write_snapshot(path: Path, state: State) -> None:
    """Replace the snapshot atomically: a crash leaves the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"format": FORMAT_VERSION, "saved_at": datetime.now(UTC).isoformat(), **state}
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(document, file, separators=(",", ":"))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        # Makes the rename itself durable.
        os.fsync(directory)
    finally:
        os.close(directory)


def _without_seq(state: State) -> State:
    return {"tables": state.get("tables", {}), "buckets": state.get("buckets", {})}


def state_digest(state: State) -> str:
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


class ObjectCache:
    """Object bodies already read, by (bucket, key, ETag): periodic dumps only fetch changes."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, str], dict[str, Any]] = {}

    def get(self, bucket: str, key: str, etag: str) -> dict[str, Any] | None:
        return self._entries.get((bucket, key, etag))

    def put(self, bucket: str, key: str, etag: str, entry: dict[str, Any]) -> None:
        self._entries[(bucket, key, etag)] = entry

    def keep_only(self, seen: set[tuple[str, str, str]]) -> None:
        self._entries = {k: v for k, v in self._entries.items() if k in seen}


def dump_state(aws: LocalAws, provisioned: Provisioned, cache: ObjectCache | None = None) -> State:
    """Every item of every table and every object of every bucket, in a canonical order."""
    cache = cache or ObjectCache()
    tables = {
        logical_id: sorted(
            (_encode_item(item) for item in _scan(aws, table_name)), key=lambda item: json.dumps(item, sort_keys=True)
        )
        for logical_id, table_name in provisioned.of_type(TABLE).items()
    }
    seen: set[tuple[str, str, str]] = set()
    buckets = {
        logical_id: list(_dump_bucket(aws, bucket, cache, seen)) for logical_id, bucket in provisioned.of_type(BUCKET).items()
    }
    cache.keep_only(seen)
    return {"tables": tables, "buckets": buckets}


def restore_state(aws: LocalAws, provisioned: Provisioned, state: Mapping[str, Any]) -> dict[str, int]:
    """Put the saved items and objects back; answers how many were restored per logical id."""
    restored: dict[str, int] = {}
    tables = provisioned.of_type(TABLE)
    for logical_id, items in state.get("tables", {}).items():
        if logical_id not in tables:
            logger.warning("snapshot table %s is no longer in the template; dropped", logical_id)
            continue
        _batch_write(aws, tables[logical_id], [_decode_item(item) for item in items])
        restored[logical_id] = len(items)
    buckets = provisioned.of_type(BUCKET)
    s3 = aws.client("s3")
    for logical_id, objects in state.get("buckets", {}).items():
        if logical_id not in buckets:
            logger.warning("snapshot bucket %s is no longer in the template; dropped", logical_id)
            continue
        for entry in objects:
            s3.put_object(
                Bucket=buckets[logical_id],
                Key=entry["key"],
                Body=base64.b64decode(entry["body"]),
                ContentType=entry["content_type"],
                Metadata=entry["metadata"],
            )
        restored[logical_id] = len(objects)
    return restored


class SnapshotWriter:
    """Saves the state every `interval` seconds when it changed, and once more on `stop()`."""

    def __init__(
        self,
        aws: LocalAws,
        provisioned: Provisioned,
        path: Path,
        *,
        interval: float = 10.0,
        saved_state: State | None = None,
        journal: Journal | None = None,
    ) -> None:
        self._aws = aws
        self._provisioned = provisioned
        self._path = path
        self._interval = interval
        # Seeded from the snapshot just restored, so an unchanged stack does not rewrite it.
        self._saved_digest = state_digest(_without_seq(saved_state)) if saved_state is not None else None
        self._journal = journal
        self._saved_seq = (saved_state or {}).get("journal_seq", 0) if saved_state is not None else None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="devstack-snapshot", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, *, final_save: bool = True) -> bool:
        """Stop the periodic saves, then save a last time; True if the file was written."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        return self.save_if_changed() if final_save else False

    def save_if_changed(self) -> bool:
        with self._lock:
            tables, buckets = self._provisioned.of_type(TABLE), self._provisioned.of_type(BUCKET)
            if self._journal is not None:
                if self._saved_seq == self._journal.last_seq and self._path.exists():
                    return False
                # Point-in-time: captured with mutations paused; the journal rotates meanwhile.
                state, seq = capture_state(tables, buckets, self._aws.region, self._journal)
                write_snapshot(self._path, {**state, "journal_seq": seq})
                # Only now, with the snapshot durable, may the entries it holds go.
                self._journal.drop_through(seq)
                self._saved_seq = seq
                return True
            state, _ = capture_state(tables, buckets, self._aws.region)
            digest = state_digest(state)
            if digest == self._saved_digest and self._path.exists():
                return False
            write_snapshot(self._path, state)
            self._saved_digest = digest
            return True

    def _loop(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self.save_if_changed()
            except Exception as exc:
                # A failed save must not end periodic saving; the next round retries. (A scan
                # racing a moto transaction can fail; the app's own request is unaffected.)
                logger.warning("snapshot save failed, retrying in %g s: %s", self._interval, exc)


def _scan(aws: LocalAws, table_name: str) -> Iterator[dict[str, Any]]:
    # Scan is fine here: the local stack dumps whole tables; the app itself never scans.
    paginator = aws.client("dynamodb").get_paginator("scan")
    for page in paginator.paginate(TableName=table_name, ConsistentRead=True):
        yield from page["Items"]


def _batch_write(aws: LocalAws, table_name: str, items: list[dict[str, Any]]) -> None:
    client = aws.client("dynamodb")
    for start in range(0, len(items), _BATCH_WRITE_LIMIT):
        requests = [{"PutRequest": {"Item": item}} for item in items[start : start + _BATCH_WRITE_LIMIT]]
        pending: dict[str, Any] = {table_name: requests}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def _dump_bucket(aws: LocalAws, bucket: str, cache: ObjectCache, seen: set[tuple[str, str, str]]) -> Iterator[dict[str, Any]]:
    s3 = aws.client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for summary in page.get("Contents", []):
            key, etag = summary["Key"], summary["ETag"]
            seen.add((bucket, key, etag))
            entry = cache.get(bucket, key, etag)
            if entry is None:
                response = s3.get_object(Bucket=bucket, Key=key)
                entry = {
                    "key": key,
                    "content_type": response.get("ContentType", "binary/octet-stream"),
                    "metadata": response.get("Metadata", {}),
                    "body": base64.b64encode(response["Body"].read()).decode("ascii"),
                }
                cache.put(bucket, key, etag, entry)
            yield entry


def _encode_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _encode_value(value) for name, value in item.items()}


def _decode_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _decode_value(value) for name, value in item.items()}


def _encode_value(value: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB JSON with binaries as base64 text; numbers stay strings, so nothing is rounded."""
    ((kind, content),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(content).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(member).decode("ascii") for member in content]}
    if kind == "M":
        return {"M": _encode_item(content)}
    if kind == "L":
        return {"L": [_encode_value(member) for member in content]}
    return {kind: content}


def _decode_value(value: Mapping[str, Any]) -> dict[str, Any]:
    ((kind, content),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(content)}
    if kind == "BS":
        return {"BS": [base64.b64decode(member) for member in content]}
    if kind == "M":
        return {"M": _decode_item(content)}
    if kind == "L":
        return {"L": [_decode_value(member) for member in content]}
    return {kind: content}
