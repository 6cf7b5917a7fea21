"""The API's timestamp format."""

from __future__ import annotations

from datetime import UTC, datetime


# -- time ------------------------------------------------------------------------------
def iso(value: datetime) -> str:
    """RFC 3339 UTC with milliseconds and `Z` (the API's timestamp format)."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
