"""Message-IDs of the mail we send, and recognising them when they come back.

An outgoing message's id is `<hd.<mac>@<domain>>`, the mac an HMAC-SHA256 of (event id,
recipient address) with the mail secret, 128 bits in lowercase base32. Deterministic, so a send
retried after a timeout carries the same id and a receiving client shows it once; unique per
(event, recipient); unpredictable without the secret, so nobody can thread a message into a
ticket by guessing the id of a message they never received. A ticket's thread also has a root
id (`<hd.t.<mac>@<domain>>` of the ticket id) that every message references: clients that
thread by References (Gmail, Apple Mail, Thunderbird) keep the whole ticket in one thread even
when a recipient joined late. `is_ours` is the loop guard: it recognises both forms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chalicelib.domain.mail.addresses import keyed_digest

_OURS = re.compile(r"hd\.(?:t\.)?[a-z2-7]{26}")
MAX_ID_CHARS = 998  # a header line's hard limit; a longer "id" is not one
MAX_REFERENCES = 20  # References we write: the root plus the latest 19 (RFC 5322 lets us trim the middle)
MAX_REFERENCES_READ = 100  # ids of an inbound References header we look at (newest kept)
# printable ASCII only: an id we store may later reach our own References header
_ID = re.compile(r"<([\x21-\x3b\x3d\x3f\x41-\x7e]{1,500}@[\x21-\x3b\x3d\x3f\x41-\x7e]{1,255})>")


@dataclass(frozen=True)
class MessageIds:
    domain: str
    secrets: Sequence[bytes]  # the first mints; every one recognises

    def __post_init__(self) -> None:
        if not self.secrets:
            raise ValueError("message ids need a secret")
        object.__setattr__(self, "domain", self.domain.strip().lower())

    def for_message(self, event_id: str, recipient: str) -> str:
        """`<hd.<mac>@domain>` of one message: the same event and recipient give the same id."""
        mac = keyed_digest(self.secrets[0], "message-id", f"{event_id}\x00{recipient.strip().lower()}")[:26]
        return f"<hd.{mac}@{self.domain}>"

    def thread_root(self, ticket_id: str) -> str:
        """The id every message of the ticket references first."""
        return f"<hd.t.{keyed_digest(self.secrets[0], 'thread-root', ticket_id)[:26]}@{self.domain}>"

    def is_ours(self, message_id: str) -> bool:
        """Whether an id has our shape at our domain (loop guard: our own mail coming back)."""
        inner = message_id.strip()
        if inner.startswith("<") and inner.endswith(">"):
            inner = inner[1:-1]
        left, at, right = inner.lower().rpartition("@")
        return bool(at) and right == self.domain and _OURS.fullmatch(left) is not None


def parse_ids(header: str | None, limit: int = MAX_REFERENCES_READ) -> list[str]:
    """The `<id>`s of a Message-ID / In-Reply-To / References value, in order, at most `limit`
    (the newest, i.e. last ones, when there are more), lowercased for comparison.
    Anything between ids (comments, junk) is ignored; a header with no id gives []."""
    if not header:
        return []
    ids = [f"<{m.group(1).lower()}>" for m in _ID.finditer(header[: MAX_ID_CHARS * limit])]
    return list(dict.fromkeys(ids))[-limit:]


def references_for(thread: Iterable[str], root: str, limit: int = MAX_REFERENCES) -> list[str]:
    """The References of a new message: the root, then the thread's latest ids, at most `limit`."""
    rest = [mid for mid in dict.fromkeys(thread) if mid != root]
    keep = rest[-(limit - 1) :] if limit > 1 else []
    return [root, *keep]
