"""The support mailbox as its two queue workers see it (inbound mail, outbound notifications).

Both answer and write as the same mailbox: its reply addresses (`ticket+<token>@<support
domain>`) and Message-IDs are derived from the same settings and secrets, so a reply to a
notification threads back to its ticket and our own mail is recognised as ours. Both send
through SES, stamp entries with the clock, count outcomes as metrics and log ids only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.config import MailSettings
from chalicelib.domain.mail.addresses import ReplyAddresses
from chalicelib.domain.mail.message_ids import MessageIds
from chalicelib.storage.mail import SesSender

# Who the timeline names for what the mailbox itself does (a notice sent, a message received).
MAIL_ACTOR = "system"

Count = Callable[[str, int], None]


class MailboxWorker:
    """What both mail workers are built with (chalicelib/composition.py, handlers/notifications.py)."""

    def __init__(self, ses: SesSender, settings: MailSettings, *, clock: Callable[[], datetime], count: Count, log: Any) -> None:
        self._ses = ses
        self._settings = settings
        self._addresses = ReplyAddresses(settings.support_domain, settings.secrets)
        self._ids = MessageIds(settings.support_domain, settings.secrets)
        self._clock = clock
        self._count = count
        self._log = log
