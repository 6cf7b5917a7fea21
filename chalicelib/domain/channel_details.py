"""Channel details of a ticket (call, chat transcript, message thread): their schemas, checked and sanitized."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.markup import sanitize

# -- channel details -------------------------------------------------------------------------
CHANNEL_DETAILS_MAX_BYTES = 64_000  # on the ticket item only (list copies leave it out)
CALL_STATES = ("pending", "accepted")
_HTTPS = re.compile(r"^https://[^\s<>\"']{1,2000}$")


def _text(value: Any, limit: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit


def _zoned_time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return parsed.tzinfo is not None


def _messages(value: Any, path: str, required: Mapping[str, Any], optional: Mapping[str, Any]) -> list[FieldError]:
    if not isinstance(value, list) or len(value) > 500:
        return [FieldError(path, "must be a list of at most 500 messages")]
    errors = []
    for i, message in enumerate(value):
        here = f"{path}[{i}]"
        if not isinstance(message, dict):
            errors.append(FieldError(here, "must be an object"))
            continue
        unknown = set(message) - set(required) - set(optional)
        errors += [FieldError(f"{here}.{k}", "unknown field") for k in sorted(unknown)]
        for name, check in required.items():
            if not check(message.get(name)):
                errors.append(FieldError(f"{here}.{name}", "missing or invalid"))
        for name, check in optional.items():
            if name in message and not check(message[name]):
                errors.append(FieldError(f"{here}.{name}", "invalid"))
    return errors


_SCHEMAS: Mapping[str, Mapping[str, tuple[bool, Any]]] = {
    # name -> (required, check). Seed 002: conference tickets show the scheduled time, call
    # state (pending/accepted), meeting link and code; chat the transcript; email the thread.
    "conference": {
        "scheduled_at": (True, _zoned_time),
        "call_state": (True, lambda v: v in CALL_STATES),
        "meeting_link": (False, lambda v: isinstance(v, str) and bool(_HTTPS.fullmatch(v))),
        "meeting_code": (False, lambda v: _text(v, 64)),
    },
    "phone": {
        "phone_number": (False, lambda v: _text(v, 40)),
        "direction": (False, lambda v: v in ("inbound", "outbound")),
        "duration_seconds": (False, lambda v: type(v) is int and 0 <= v <= 86_400),
    },
    "chat": {"transcript": (True, None)},
    "email": {"thread": (True, None), "subject": (False, lambda v: _text(v, 250))},
}


_Checks = Mapping[str, Callable[[Any], bool]]
_TRANSCRIPT: tuple[_Checks, _Checks] = (
    {"author": lambda v: _text(v, 200), "at": _zoned_time, "text": lambda v: _text(v, 10_000)},
    {},
)


_THREAD: tuple[_Checks, _Checks] = (
    {"from": lambda v: _text(v, 254), "at": _zoned_time, "body": lambda v: _text(v, 20_000)},
    {"to": lambda v: isinstance(v, list) and all(_text(x, 254) for x in v) and len(v) <= 50, "subject": lambda v: _text(v, 250)},
)


def validate_channel_details(channel: str, details: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The channel-specific fields of a ticket, checked against its channel (422 per field)."""
    if details is None:
        return None
    schema = _SCHEMAS.get(channel)
    if schema is None:
        raise ValidationFailed([FieldError("channel_details", f"the {channel} channel has no channel details")])
    errors = [FieldError(f"channel_details.{k}", "unknown field") for k in sorted(set(details) - set(schema))]
    for name, (required, check) in schema.items():
        path = f"channel_details.{name}"
        if name not in details:
            if required:
                errors.append(FieldError(path, f"required for {channel} tickets"))
            continue
        if name == "transcript":
            errors += _messages(details[name], path, *_TRANSCRIPT)
        elif name == "thread":
            errors += _messages(details[name], path, *_THREAD)
        elif not check(details[name]):
            errors.append(FieldError(path, "invalid"))
    if errors:
        raise ValidationFailed(errors)
    checked = _sanitized_messages(details)
    # Bytes as stored: JSON with \uXXXX escapes (PynamoDB's JSONAttribute), so a 4-byte emoji is 12.
    if len(json.dumps(checked).encode()) > CHANNEL_DETAILS_MAX_BYTES:
        raise ValidationFailed([FieldError("channel_details", f"at most {CHANNEL_DETAILS_MAX_BYTES} bytes as JSON")])
    return checked


# Rich text inside channel details (rendered like comments): the one sanitizer. Names, addresses
# and subjects stay plain text.
_RICH_MESSAGE_FIELDS = {"thread": "body", "transcript": "text"}


def _sanitized_messages(details: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(details)
    for name, rich in _RICH_MESSAGE_FIELDS.items():
        if name in out:
            out[name] = [{**message, rich: sanitize(message[rich])} for message in out[name]]
    return out
