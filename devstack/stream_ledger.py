"""Stream batches a local function had not finished when the stack stopped run again at its next start.

In AWS a DynamoDB stream record lives 24 hours and Lambda retries a batch until its function
returns, so a Lambda killed mid-batch gets the batch again. Locally the stream lives in moto's
memory and devstack.lambda_dispatch runs a batch on the function's background worker after the
write answered: a `kill -9` (or a Ctrl-C whose drain timed out) while the ticket stream worked on
a batch, or before it got to it, lost that batch and the list entries, counters, routing,
automations and SLA timers it would have written, although the write itself was journaled.

So every stream batch handed to a worker is noted in `<state dir>/streams/in-flight.jsonl`
(one JSON line: an id, the function, the event) before the write returns, and a `{"done": id}`
line follows when the handler returned. At a start with saved state the batches without a
`done` line are handed to their functions again, in the order they came, before anything new is
written; the file is rewritten with only those (and they stay until they finish), so it stays
short. Every step of the stream handlers is idempotent (a redelivered batch repeats nothing
visible, as in AWS), so a batch that had half run is simply run again.

The events publisher is not noted here: devstack.outbox covers it, including events PutEvents
refused, and running its batches twice would publish twice.

No fsync: the lines reach the page cache, which a `kill -9` keeps (a power loss may not; the
journal's fsync covers the writes themselves). A kill between moto applying a write and the
journal recording it (the API had not answered) can leave a noted batch for a write the restart
does not have, and running it again can act on an item that is not there (docs/decisions.md).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

LEDGER_DIR = "streams"
LEDGER_FILE = "in-flight.jsonl"
RESUMED_BATCH_KEY = "devstack_resumed_batch"
"""Set on a resumed batch's event (and taken off before the handler sees it): its ledger id."""
_COMPACT_AFTER = 2000  # lines appended since the file last held only open batches


class InFlight:
    """The ledger of stream batches handed to local functions and not finished yet."""

    def __init__(self, state_dir: Path, untracked: Iterable[str] = ()) -> None:
        self.path = state_dir / LEDGER_DIR / LEDGER_FILE
        self.untracked = frozenset(untracked)
        self._lock = threading.Lock()
        self._open: dict[str, str] = {}
        self._appended = 0
        self._fd: int | None = None  # kept open: a line per write costs one os.write

    def started(self, function_name: str, event: Any) -> str | None:
        """Note a batch handed to `function_name`; answers its id (None: not tracked)."""
        if function_name in self.untracked:
            return None
        batch_id = uuid.uuid4().hex
        line = json.dumps({"id": batch_id, "function": function_name, "event": event}, separators=(",", ":"))
        with self._lock:
            self._open[batch_id] = line
            self._append(line)
        return batch_id

    def finished(self, batch_id: str) -> None:
        with self._lock:
            self._open.pop(batch_id, None)
            self._append(json.dumps({"done": batch_id}))
            if self._appended >= _COMPACT_AFTER:
                self._rewrite(self._open.values())

    def unfinished(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(id, function, event) of every noted batch without its `done` line, oldest first."""
        if not self.path.exists():
            return []
        started: dict[str, tuple[str, dict[str, Any]]] = {}
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a torn last line: the process died inside the write
            if "done" in entry:
                started.pop(entry["done"], None)
            elif "id" in entry:
                started[entry["id"]] = (entry["function"], entry["event"])
        return [(batch_id, function, event) for batch_id, (function, event) in started.items()]

    def reopen(self, batches: list[tuple[str, str, dict[str, Any]]]) -> None:
        """The ledger holds exactly `batches` (atomically): those a start is about to run again."""
        lines = {
            batch_id: json.dumps({"id": batch_id, "function": function, "event": event}, separators=(",", ":"))
            for batch_id, function, event in batches
        }
        with self._lock:
            self._open = dict(lines)
            self._rewrite(lines.values())

    def _append(self, line: str) -> None:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(self._fd, (line + "\n").encode("utf-8"))
        self._appended += 1

    def _rewrite(self, lines: Iterable[str]) -> None:
        """Temp file + rename: a crash leaves the old ledger or the new one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".in-flight-")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write("".join(f"{line}\n" for line in lines))
        os.replace(temporary, self.path)
        if self._fd is not None:
            os.close(self._fd)  # it names the replaced file
            self._fd = None
        self._appended = 0


def resume(in_flight: InFlight, lambda_client: Any) -> int:
    """Hand every unfinished batch to its function again (its stream worker, in order); answers how many.

    Call at a start with saved state, before anything new is written."""
    batches = in_flight.unfinished()
    in_flight.reopen(batches)
    for batch_id, function, event in batches:
        payload = {**event, RESUMED_BATCH_KEY: batch_id}
        lambda_client.invoke(FunctionName=function, Payload=json.dumps(payload).encode())
    return len(batches)
