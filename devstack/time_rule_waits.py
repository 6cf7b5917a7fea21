"""Time-rule waits started locally are noted, so a restart starts the pending ones again (local stack only).

moto keeps no Step Functions executions across a restart (LOCAL-AWS.md), and a time rule's wait
is only in its execution: the ticket has no item saying "a rule waits here". SLA timers are
restarted from a Scan of the tickets; this does it without one. Every StartExecution of the
time-rule workflow that moto accepts is noted in `<state dir>/time-rules/waits.jsonl` (its name
and input: ticket, rule, expected version, anchor, due time). At a start with saved state, each
noted wait is looked at with two GetItems: if its due item is absent and its ticket is still at
the version the wait expects, the same execution (same name and input: moto forgot it) starts
again, and a due time that passed while the stack was down fires at once; any other wait could
only act on nothing (the ticket changed since, which planned its own wait) and is dropped. The
file is then rewritten with the restarted waits alone, so it holds only what may still fire.

No fsync, as for the stream ledger: `kill -9` keeps the page cache.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

WAITS_DIR = "time-rules"
WAITS_FILE = "waits.jsonl"
_MARK = "_helpdesk_time_rule_waits"


class WaitLedger:
    """The waits started since the file was last rewritten, one JSON line each."""

    def __init__(self, state_dir: Path, state_machine_arn: str) -> None:
        self.path = state_dir / WAITS_DIR / WAITS_FILE
        self.state_machine_arn = state_machine_arn
        self._lock = threading.Lock()

    def note(self, state_machine_arn: str, name: str, execution_input: str) -> None:
        if state_machine_arn != self.state_machine_arn:
            return
        line = json.dumps({"name": name, "input": json.loads(execution_input or "{}")}, sort_keys=True)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line + "\n")

    def noted(self) -> list[dict[str, Any]]:
        """Each noted wait once (by name), in the order first noted; a torn last line is skipped."""
        if not self.path.exists():
            return []
        waits: dict[str, dict[str, Any]] = {}
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            waits.setdefault(str(entry["name"]), entry)
        return list(waits.values())

    def rewrite(self, waits: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".waits-")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.writelines(json.dumps(w, sort_keys=True) + "\n" for w in waits)
            os.replace(tmp, self.path)


_ledger: WaitLedger | None = None


def track(ledger: WaitLedger | None) -> None:
    """Note the time-rule workflow's starts in `ledger` from now on (None: stop noting)."""
    global _ledger
    _ledger = ledger
    _install()


def _install() -> None:
    """Wraps moto's two Step Functions backends' StartExecution once per process."""
    from moto.stepfunctions.models import StepFunctionBackend
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    for backend in (StepFunctionBackend, StepFunctionsParserBackend):
        original = backend.start_execution
        if getattr(original, _MARK, False):
            continue
        backend.start_execution = _noting(original)  # type: ignore[method-assign]


def _noting(original: Callable[..., Any]) -> Callable[..., Any]:
    def start_execution(self: Any, state_machine_arn: str, name: Any = None, execution_input: Any = None, **kw: Any) -> Any:
        execution = original(self, state_machine_arn, name, execution_input, **kw)
        if _ledger is not None and name:
            _ledger.note(state_machine_arn, str(name), str(execution_input or "{}"))
        return execution

    setattr(start_execution, _MARK, True)
    return start_execution


def restart(ledger: WaitLedger, dynamodb: Any, table_name: str, start: Callable[[str, dict[str, Any]], Any]) -> list[str]:
    """Start again every noted wait that may still fire; answers their names."""
    kept = []
    for wait in ledger.noted():
        payload = wait["input"]
        key = {"PK": {"S": f"TICKET#{payload['ticket_id']}"}}
        ticket = dynamodb.get_item(TableName=table_name, Key={**key, "SK": {"S": "TICKET"}}, ConsistentRead=True).get("Item")
        if ticket is None or int(ticket.get("version", {}).get("N", "0")) != int(payload["expected_version"]):
            continue  # changed since: that change planned its own wait
        due_sk = f"TIMERULE#{payload['expected_version']}#{payload['rule_id']}"
        if "Item" in dynamodb.get_item(TableName=table_name, Key={**key, "SK": {"S": due_sk}}, ConsistentRead=True):
            continue  # fired: the stream acted on it (or the stream ledger runs that batch again)
        kept.append(wait)
    ledger.rewrite(kept)
    for wait in kept:
        start(str(wait["name"]), dict(wait["input"]))
    return [str(w["name"]) for w in kept]
