"""Parsed inbound messages for pure tests, built field by field."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.mail.parsed import Mailbox, ParsedInbound


def inbound(
    *,
    sender: str = "ann@customer.example",
    subject: str = "Printer on fire",
    message_id: str | None = "<m1@customer.example>",
    in_reply_to: tuple[str, ...] = (),
    references: tuple[str, ...] = (),
    to: tuple[str, ...] = ("support@helpdesk.local",),
    cc: tuple[str, ...] = (),
    headers: dict[str, str] | None = None,
    return_path: str | None = "<ann@customer.example>",
    content_type: str = "text/plain",
    **overrides: Any,
) -> ParsedInbound:
    return ParsedInbound(
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        subject=subject,
        sender=Mailbox("Ann", sender),
        return_path=return_path,
        to=tuple(Mailbox("", a) for a in to),
        cc=tuple(Mailbox("", a) for a in cc),
        recipient_count=len(to) + len(cc),
        content_type=content_type,
        headers={k.lower(): (v,) for k, v in (headers or {}).items()},
        **overrides,
    )
