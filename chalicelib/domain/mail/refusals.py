"""The notice a sender gets when their message is refused (over 20 MB): no ticket was opened.

Sent only to a person: never to automated mail (`loops.automated_reason`: our own messages,
mailer-daemons, `Auto-Submitted`, null return paths, lists), so two systems cannot bounce notices
at each other. The notice is itself `Auto-Submitted: auto-replied` (RFC 3834) and asks other
systems not to answer it; its Message-ID has our shape, so if it comes back it is ignored.
"""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from chalicelib.domain.mail.outbound import header_text, mailbox, one_id

MAX_QUOTED_SUBJECT = 120


def refusal_notice(
    *,
    message_id: str,
    to: str,
    from_name: str,
    from_address: str,
    subject: str,
    in_reply_to: str | None,
    limit_bytes: int,
    now: datetime,
) -> bytes:
    """The raw notice (policy SMTP) telling `to` that their message was not accepted."""
    if now.tzinfo is None:
        raise ValueError("the Date of a message is a tz-aware time")
    own = one_id(message_id)
    if own is None:
        raise ValueError("the notice needs one <id@domain>")
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = mailbox(from_name, from_address)
    mail["To"] = mailbox("", to)
    quoted = header_text(subject, MAX_QUOTED_SUBJECT)
    mail["Subject"] = f"Not delivered: {quoted}" if quoted else "Not delivered: your message"
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = own
    original = one_id(in_reply_to) if in_reply_to else None
    if original is not None:
        mail["In-Reply-To"] = original
        mail["References"] = original
    mail["Auto-Submitted"] = "auto-replied"
    mail["X-Auto-Response-Suppress"] = "All"
    megabytes = limit_bytes // (1024 * 1024)
    mail.set_content(
        f"Your message was not accepted: it is larger than {megabytes} MB, so no ticket was opened.\n\n"
        "Please send it again without the large attachments; share big files through a link instead.\n"
    )
    return mail.as_bytes()
