"""moto's Step Functions made to behave like AWS where our definitions depend on it (local stack
and tests only; the deployable definitions in statemachines/ are written for AWS).

- `$$.State.EnteredTime`: AWS writes `2026-01-01T00:00:00.123Z` (milliseconds, `Z`); moto writes
  Python's `isoformat()` (`…00:00:00.123456+00:00`). Our definitions store the entered time as
  an instant and in sort keys, next to the API's `Z` stamps: moto gets AWS's format.
- Choice timestamp comparisons: AWS accepts RFC 3339 timestamps with fractional seconds (such
  as `$$.State.EnteredTime`); moto parses `%Y-%m-%dT%H:%M:%SZ` only and answers False for
  anything else, which would make the SLA timer's "due yet?" check pass early.

Never shipped in the Lambda package. tests/workflows/test_moto_quirks.py checks both.
"""

from __future__ import annotations

import contextlib
import datetime
import threading
from typing import Any

_MARK = "_helpdesk_quirk"
_lock = threading.Lock()


def aws_entered_time(now: datetime.datetime) -> str:
    """`$$.State.EnteredTime` as AWS writes it."""
    return now.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _state_data(**fields: Any) -> dict[str, Any]:
    entered = fields.get("EnteredTime")
    if isinstance(entered, str):
        with contextlib.suppress(ValueError):
            fields["EnteredTime"] = aws_entered_time(datetime.datetime.fromisoformat(entered))
    return dict(fields)


def _string_to_timestamp(string: str) -> datetime.datetime | None:
    """Naive UTC, as moto's own parser answers, but with fractional seconds accepted."""
    if not isinstance(string, str) or not string.endswith("Z") or "T" not in string:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(string[:-1] + "+00:00")
    except ValueError:
        return None
    return parsed.astimezone(datetime.UTC).replace(tzinfo=None)


setattr(_state_data, _MARK, True)
setattr(_string_to_timestamp, _MARK, True)


def install() -> None:
    """Idempotent: patches moto once per process."""
    from moto.stepfunctions.parser.asl.component.state import state
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.is_operator import (
        IsTimestamp,
    )

    with _lock:
        if not getattr(state.StateData, _MARK, False):
            state.StateData = _state_data  # type: ignore[attr-defined,assignment]
        if not getattr(IsTimestamp.string_to_timestamp, _MARK, False):
            IsTimestamp.string_to_timestamp = staticmethod(_string_to_timestamp)  # type: ignore[method-assign,assignment]


def installed() -> bool:
    from moto.stepfunctions.parser.asl.component.state import state
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.is_operator import (
        IsTimestamp,
    )

    return bool(getattr(state.StateData, _MARK, False) and getattr(IsTimestamp.string_to_timestamp, _MARK, False))
