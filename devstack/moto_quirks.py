"""moto's Step Functions made to behave like AWS where our definitions depend on it (local stack
and tests only; the deployable definitions in statemachines/ are written for AWS).

- `$$.State.EnteredTime`: AWS writes `2026-01-01T00:00:00.123Z` (milliseconds, `Z`); moto writes
  Python's `isoformat()` (`…00:00:00.123456+00:00`). Our definitions store the entered time as
  an instant and in sort keys, next to the API's `Z` stamps: moto gets AWS's format.
- Choice timestamp comparisons: AWS accepts RFC 3339 timestamps with fractional seconds (such
  as `$$.State.EnteredTime`); moto parses `%Y-%m-%dT%H:%M:%SZ` only and answers False for
  anything else, which would make the SLA timer's "due yet?" check pass early.
- `States.Format` escapes: AWS reads `\\{`, `\\}`, `\\'` and `\\\\` in the template as literal
  characters (how the escalation workflow writes JSON event details); moto hands the template
  to `str.format` and fails on the first literal brace.

Never shipped in the Lambda package. tests/workflows/test_moto_quirks.py checks each.
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


def format_template(template: str, values: list[str]) -> str:
    """`States.Format` as AWS evaluates it: `{}` takes the next value, a backslash escapes the
    character after it."""
    out, taken, i = [], iter(values), 0
    while i < len(template):
        char = template[i]
        if char == "\\" and i + 1 < len(template):
            out.append(template[i + 1])
            i += 2
            continue
        if template.startswith("{}", i):
            out.append(next(taken))
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _format_eval_body(self: Any, env: Any) -> None:
    self.argument_list.eval(env=env)
    args = env.stack.pop()
    # moto's parser hands over the definition's raw JSON text: `\\{` in the file arrives as two
    # backslashes and a brace, where AWS's JSON decoding left one backslash.
    template = str(args[0]).replace("\\\\", "\\")
    env.stack.append(format_template(template, [self._to_str_repr(value) for value in args[1:]]))


setattr(_format_eval_body, _MARK, True)
setattr(_state_data, _MARK, True)
setattr(_string_to_timestamp, _MARK, True)


def install() -> None:
    """Idempotent: patches moto once per process."""
    from moto.stepfunctions.parser.asl.component.intrinsic.function.statesfunction.generic.string_format import (
        StringFormat,
    )
    from moto.stepfunctions.parser.asl.component.state import state
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.is_operator import (
        IsTimestamp,
    )

    with _lock:
        if not getattr(StringFormat._eval_body, _MARK, False):
            StringFormat._eval_body = _format_eval_body  # type: ignore[method-assign]
        if not getattr(state.StateData, _MARK, False):
            state.StateData = _state_data  # type: ignore[attr-defined,assignment]
        if not getattr(IsTimestamp.string_to_timestamp, _MARK, False):
            IsTimestamp.string_to_timestamp = staticmethod(_string_to_timestamp)  # type: ignore[method-assign,assignment]


def installed() -> bool:
    from moto.stepfunctions.parser.asl.component.intrinsic.function.statesfunction.generic.string_format import (
        StringFormat,
    )
    from moto.stepfunctions.parser.asl.component.state import state
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.is_operator import (
        IsTimestamp,
    )

    return all(
        getattr(patched, _MARK, False) for patched in (state.StateData, IsTimestamp.string_to_timestamp, StringFormat._eval_body)
    )
