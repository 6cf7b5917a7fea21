"""Fault injection for tests/local/test_stream_resume.py, loaded by a local stack started with
this directory first on PYTHONPATH: with HELPDESK_TEST_HOLD_STREAM=<marker file>, the ticket
stream's worker, handed the first batch that holds a ticket item, creates the marker and never
returns (the process is then killed with the batch in flight)."""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

_MODULE = "devstack.lambda_dispatch"


def _holds_a_ticket(event: Any) -> bool:
    records = event.get("Records", []) if isinstance(event, dict) else []
    images = [(record.get("dynamodb") or {}).get("NewImage") or {} for record in records]
    return any(image.get("kind", {}).get("S") == "ticket" for image in images)


def _hold(module: ModuleType, marker: Path) -> None:
    original = module._run

    def run(handler: Any, event: Any, context: Any, response_headers: Any) -> Any:
        if context.function_name.endswith("-ticket_stream") and _holds_a_ticket(event):
            marker.write_text(context.function_name, encoding="utf-8")
            threading.Event().wait()
        return original(handler, event, context, response_headers)

    module._run = run


class _PatchOnImport(importlib.abc.MetaPathFinder):
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != _MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.loader is not None
        loader, marker = spec.loader, self.marker
        execute = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            _hold(module, marker)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if os.environ.get("HELPDESK_TEST_HOLD_STREAM"):
    sys.meta_path.insert(0, _PatchOnImport(Path(os.environ["HELPDESK_TEST_HOLD_STREAM"])))
