"""Opaque, tamper-proof pagination cursors: HMAC-signed and bound to the query they continue."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from chalicelib.domain.errors import MalformedRequest


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fingerprint(*parts: Any) -> str:
    """A short digest of what a cursor continues (route, caller, filters, sort)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def encode(position: str, query: str, secret: str) -> str:
    payload = _b64(json.dumps({"p": position, "q": query}, separators=(",", ":")).encode())
    signature = _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()[:16])
    return f"{payload}.{signature}"


def decode(cursor: str, query: str, secret: str) -> str:
    """The position in a cursor we issued for this very query; MalformedRequest (400) otherwise."""
    try:
        payload, signature = cursor.split(".")
        expected = _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()[:16])
        if not hmac.compare_digest(signature, expected):
            raise ValueError("signature")
        data = json.loads(_unb64(payload))
        position, bound_to = data["p"], data["q"]
        if not isinstance(position, str):
            raise ValueError("position")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise MalformedRequest("the cursor is invalid or was tampered with") from exc
    if bound_to != query:
        raise MalformedRequest("the cursor belongs to a different query")
    return position
