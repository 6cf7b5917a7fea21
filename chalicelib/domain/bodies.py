"""A stored message body: sanitized markup (chalicelib.domain.markup) cut to the stored limits, and its plain text."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

import nh3

from chalicelib.domain.markup import sanitize
from chalicelib.domain.tickets import stored_bytes

BODY_MAX = 65_536  # seed 004: "comments over 64K characters are truncated with an ellipsis"
# ...and at most this many bytes as stored JSON (an emoji counts 12, see domain.tickets): the
# activity item holds the body, its search text and its comments within DynamoDB's 400 KB.
BODY_MAX_BYTES = 96 * 1024
ELLIPSIS = "…"


@dataclass(frozen=True)
class Body:
    text: str
    truncated: bool


def prepare_body(raw: str, limit: int = BODY_MAX, max_bytes: int = BODY_MAX_BYTES) -> Body:
    """The stored form of a body: sanitized, at most `limit` characters and `max_bytes` bytes as
    stored JSON, ending in `…` if cut (on a character boundary: a code point is never split).

    The cut is re-sanitized (it may split a tag or an entity), which can add closing tags,
    so the budget shrinks until the result fits.
    """
    clean = sanitize(raw)
    if len(clean) <= limit and stored_bytes(clean) <= max_bytes:
        return Body(clean, False)
    budget = _chars_within(clean[: limit - len(ELLIPSIS)], max_bytes - stored_bytes(ELLIPSIS))
    while True:
        cut = sanitize(clean[:budget])
        over_chars = len(cut) + len(ELLIPSIS) - limit
        over_bytes = stored_bytes(cut + ELLIPSIS) - max_bytes
        if over_chars <= 0 and over_bytes <= 0:
            return Body(cut + ELLIPSIS, True)
        budget -= max(1, over_chars, over_bytes // 12)


def _chars_within(text: str, max_bytes: int) -> int:
    """How many leading characters of `text` fit in `max_bytes` bytes of stored JSON."""
    if stored_bytes(text) <= max_bytes:
        return len(text)
    used = 2  # the quotes
    for count, ch in enumerate(text):
        used += len(json.dumps(ch)) - 2
        if used > max_bytes:
            return count
    return len(text)


def plain_text(body: str) -> str:
    """The text of a sanitized body, without tags or character references."""
    return html.unescape(nh3.clean(body, tags=set()))
