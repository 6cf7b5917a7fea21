"""Building the MIME message of one notification with the standard library's `email` package.

Every message is plain text plus an HTML alternative (sanitized by `markup.sanitize_for_mail`:
no images, nothing remote), and threads: its own Message-ID, `In-Reply-To` the thread's latest
id, `References` the thread root plus the latest ids (bounded), `[#<number>]` in the Subject,
`Reply-To` the ticket's reply address. Notifications carry `Auto-Submitted: auto-generated`
(RFC 3834: other systems must not auto-reply) and `X-Auto-Response-Suppress: All` (Exchange's
way of saying the same).

Header injection is impossible by construction: every text that reaches a header (names,
subjects) has CR, LF and every other control character replaced by a space first, addresses
are checked to be one bare address, and names are encoded by `email.headerregistry.Address`
(RFC 2047 when not ASCII), never pasted into a header string.
"""

from __future__ import annotations

import html as html_lib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.mail.addresses import split_address
from chalicelib.domain.mail.message_ids import parse_ids, references_for
from chalicelib.domain.markup import sanitize_for_mail

SUBJECT_MAX = 250
NAME_MAX = 120
MAX_THREAD_IDS = 1_000
_SPACES = re.compile(r"\s+")
# SMTP's policy with 7-bit bodies: text that is not ASCII (or has lines over 78 octets) goes as
# quoted-printable or base64, whichever the stdlib finds shorter, never as raw 8bit. SES's
# SendRawEmail takes 7-bit mail, relays without 8BITMIME would mangle 8-bit, and every encoded
# line stays far below RFC 5322's 998 octets.
MAIL_POLICY = policy.SMTP.clone(cte_type="7bit")


@dataclass(frozen=True)
class Recipient:
    name: str
    address: str


@dataclass(frozen=True)
class Outbound:
    """One message to one recipient (one message per (event, recipient): the Message-ID says so)."""

    message_id: str
    to: Recipient
    from_name: str
    from_address: str  # the plain support address
    reply_to: str  # the ticket's reply address
    ticket_number: int
    subject: str  # the ticket's subject; the number is added
    text: str
    html: str | None  # rich body (sanitized here), None: the text is rendered as HTML
    thread_root: str
    now: datetime  # the Date header; tz-aware
    thread: Sequence[str] = ()  # the ticket's known Message-IDs, oldest first
    auto_submitted: bool = True


def header_text(value: str, limit: int) -> str:
    """Text safe in a header: controls (CR, LF, NUL, ...) and line separators become spaces,
    runs of white space one space, at most `limit` characters."""
    cleaned = "".join(" " if unicodedata.category(ch)[0] in ("C", "Z") else ch for ch in value)
    return _SPACES.sub(" ", cleaned).strip()[:limit].strip()


def subject_line(number: int, subject: str) -> str:
    """`[#<number>] <subject>`, the tag not doubled when the subject already carries it."""
    tag = f"[#{number}]"
    text = header_text(subject, SUBJECT_MAX)
    return text if tag in text else f"{tag} {text}".strip()


def mailbox(name: str, address: str) -> Address:
    local, domain = split_address(address)
    if not local:
        raise ValidationFailed([FieldError("address", "is not one email address")])
    try:
        return Address(display_name=header_text(name, NAME_MAX), username=local, domain=domain)
    except (ValueError, IndexError) as exc:  # headerregistry refuses what RFC 5322 does
        raise ValidationFailed([FieldError("address", "is not one email address")]) from exc


def one_id(value: str) -> str | None:
    """The value as one Message-ID (lowercased), or None when it is anything else."""
    ids = parse_ids(value, limit=2)
    return ids[0] if len(ids) == 1 and ids[0] == value.strip().lower() else None


def build(message: Outbound) -> EmailMessage:
    """The notification as an `EmailMessage` (policy SMTP: CRLF, folded at 78, 7-bit bodies)."""
    mail = EmailMessage(policy=MAIL_POLICY)
    mail["From"] = mailbox(message.from_name, message.from_address)
    mail["To"] = mailbox(message.to.name, message.to.address)
    mail["Reply-To"] = mailbox("", message.reply_to)
    mail["Subject"] = subject_line(message.ticket_number, message.subject)
    if message.now.tzinfo is None:
        raise ValueError("the Date of a message is a tz-aware time")
    mail["Date"] = format_datetime(message.now)
    own, root = one_id(message.message_id), one_id(message.thread_root)
    if own is None or root is None:
        raise ValidationFailed([FieldError("message_id", "is not one <id@domain>")])
    mail["Message-ID"] = own
    # stored ids pass the same filter as inbound ones (printable ASCII, one <...@...>); others are dropped
    thread = [mid for mid in map(one_id, list(message.thread)[-MAX_THREAD_IDS:]) if mid is not None]
    references = references_for(thread, root)
    mail["In-Reply-To"] = references[-1]
    mail["References"] = " ".join(references)
    if message.auto_submitted:
        mail["Auto-Submitted"] = "auto-generated"
        mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content(message.text)
    body = message.html if message.html is not None else "<p>" + html_lib.escape(message.text).replace("\n", "<br>") + "</p>"
    mail.add_alternative(f"<!DOCTYPE html><html><body>{sanitize_for_mail(body)}</body></html>", subtype="html")
    return mail


def build_bytes(message: Outbound) -> bytes:
    """The raw message as SES SendRawEmail and an `.eml` file take it."""
    return build(message).as_bytes()
