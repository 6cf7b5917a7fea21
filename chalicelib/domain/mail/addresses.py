"""Reply addresses: `support+<token>@<domain>`, where the token names a ticket and proves it.

The token is `<ticket id>-<mac>`: the mac is HMAC-SHA256 over the ticket id with the mail secret,
truncated to 80 bits and written in lowercase base32 (16 characters). It is stateless (no table
of tokens to write or look up), unguessable without the secret (2^80 tries per ticket, and a
wrong guess is just a new ticket), bound to one ticket (a mac never verifies for another id),
and verified in constant time. Rotating the secret: verification accepts every secret in the
ring, addresses are minted with the first. Everything is lowercase because some mail systems
fold the local part's case.

Parsing an address never raises: whatever a sender writes, the answer is a ticket id or None.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

MAILBOX = "support"
MAC_CHARS = 16  # 80 bits of base32
# Ticket ids are uuid4 hex (32 characters); ids up to 39 keep the local part within RFC 5321's
# 64 octets: "support+" (8) + 39 + "-" + 16 = 64.
_TICKET_ID = re.compile(r"[a-z0-9]{1,39}")
_TOKEN = re.compile(r"([a-z0-9]{1,39})-([a-z2-7]{16})")  # MAC_CHARS
MAX_ADDRESS_CHARS = 320  # RFC 3696: 64 + "@" + 255
# A dot-atom local part and a domain of labels (quoted local parts are not accepted: nobody
# needs one, and refusing them keeps `"a@b,c"@d` out of our headers).
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")


def keyed_digest(secret: bytes, purpose: str, value: str) -> str:
    """HMAC-SHA256 of `value` for one purpose (domain-separated), lowercase base32."""
    digest = hmac.new(secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()


@dataclass(frozen=True)
class ReplyAddresses:
    """Mints and reads the reply addresses of one deployment's support domain."""

    domain: str
    secrets: Sequence[bytes]  # the first mints; every one verifies (rotation)

    def __post_init__(self) -> None:
        if not self.secrets or any(len(secret) < 16 for secret in self.secrets):
            raise ValueError("reply addresses need at least one secret of 16 bytes or more")
        object.__setattr__(self, "domain", self.domain.strip().lower())

    @property
    def plain(self) -> str:
        """The support address without a token (`support@<domain>`)."""
        return f"{MAILBOX}@{self.domain}"

    def token_for(self, ticket_id: str) -> str:
        if not _TICKET_ID.fullmatch(ticket_id):
            raise ValueError("a ticket id in a reply token is lowercase letters and digits, at most 39")
        return f"{ticket_id}-{keyed_digest(self.secrets[0], 'reply-token', ticket_id)[:MAC_CHARS]}"

    def address_for(self, ticket_id: str) -> str:
        """`support+<token>@<domain>`: the Reply-To of every message about the ticket."""
        return f"{MAILBOX}+{self.token_for(ticket_id)}@{self.domain}"

    def ticket_of_token(self, token: str) -> str | None:
        """The ticket a token was minted for, or None (unknown shape, wrong mac, old secret gone)."""
        match = _TOKEN.fullmatch(token.strip().lower()) if len(token) <= 64 else None
        if match is None:
            return None
        ticket_id, mac = match.groups()
        # compare_digest on every secret, no early exit: time does not tell which one matched
        valid = [hmac.compare_digest(mac, keyed_digest(secret, "reply-token", ticket_id)[:MAC_CHARS]) for secret in self.secrets]
        return ticket_id if any(valid) else None

    def token_of(self, address: str) -> str | None:
        """The token of `support+<token>@<our domain>` (any case), else None."""
        local, domain = split_address(address)
        if domain != self.domain or not local.startswith(MAILBOX + "+"):
            return None
        token = local[len(MAILBOX) + 1 :]
        return token or None

    def ticket_of(self, address: str) -> str | None:
        token = self.token_of(address)
        return self.ticket_of_token(token) if token is not None else None

    def is_ours(self, address: str) -> bool:
        """Whether the address is at our support domain (plain, tokened or any other mailbox)."""
        return split_address(address)[1] == self.domain


def split_address(address: str) -> tuple[str, str]:
    """(local part, domain), lowercased; ("", "") for anything that is not one bare address."""
    text = address.strip()
    if len(text) > MAX_ADDRESS_CHARS or any(ch.isspace() or ord(ch) < 0x20 for ch in text):
        return "", ""
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    local, at, domain = text.rpartition("@")
    domain = domain.rstrip(".")
    if not at or len(local) > 64 or not _LOCAL.fullmatch(local) or not _DOMAIN.fullmatch(domain):
        return "", ""
    return local.lower(), domain.lower()


def normalize_address(address: str) -> str:
    """The address in the form lookups compare (lowercase, no angle brackets); "" if invalid."""
    local, domain = split_address(address)
    return f"{local}@{domain}" if local else ""
