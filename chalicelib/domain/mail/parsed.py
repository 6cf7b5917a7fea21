"""What an inbound message says once parsed (`inbound.parse`), as plain typed data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Mailbox:
    name: str  # display name, decoded, control characters removed ("" if none)
    address: str  # normalized: lowercase, no brackets ("" if the header held no valid address)


@dataclass(frozen=True)
class Attachment:
    filename: str  # sanitized to the ticket attachment alphabet
    content_type: str
    data: bytes


@dataclass(frozen=True)
class LeftOut:
    """A part that did not become an attachment, and why (shown as a note on the ticket)."""

    filename: str
    content_type: str
    size: int
    reason: str  # type_not_allowed | too_large | too_many | empty


@dataclass(frozen=True)
class ParsedInbound:
    message_id: str | None  # "<id>" lowercased, None when missing or unreadable
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    sender: Mailbox
    return_path: str | None  # None: no header; "": the null path `<>` (bounces)
    to: tuple[Mailbox, ...]
    cc: tuple[Mailbox, ...]
    recipient_count: int  # every To/Cc address seen, also those past the cap
    content_type: str  # of the whole message, lowercased ("multipart/report" is a bounce)
    headers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # lowercase name -> values
    text: str = ""  # the body as text (text/plain, or the HTML converted), whole, not trimmed
    html: str | None = None  # the HTML part, sanitized, when there was one
    attachments: tuple[Attachment, ...] = ()
    left_out: tuple[LeftOut, ...] = ()

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def recipients(self) -> tuple[Mailbox, ...]:
        return self.to + self.cc
