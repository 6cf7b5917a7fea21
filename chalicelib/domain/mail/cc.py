"""Who of a message's To and Cc may join the ticket's CC list (inbound mail).

Zendesk's "CCs from email": the people a customer copies on their mail follow the ticket. The
pure part picks the candidates: valid addresses from To, then Cc, in order, without our own
support domain (the support address and reply tokens), the sender, or duplicates, at most
`MAX_MAIL_CC` a message (a mail to 10,000 people adds 5 at most). Whether a candidate is added
is the service's: a user of ours, or an unknown address at the ticket organization's own mail
domain (a new customer of it); never anyone else (docs/decisions.md, "Email: Cc on inbound mail").
"""

from __future__ import annotations

from collections.abc import Iterable

from chalicelib.domain.mail.addresses import normalize_address, split_address
from chalicelib.domain.mail.parsed import ParsedInbound

MAX_MAIL_CC = 5


def cc_candidates(message: ParsedInbound, *, support_domain: str, exclude: Iterable[str] = ()) -> list[str]:
    """The To/Cc addresses that may join the ticket's CC (see the module docstring)."""
    skipped = {normalize_address(a) for a in [message.sender.address, *exclude]}
    ours = support_domain.lower()
    found: list[str] = []
    for box in message.recipients:
        address = normalize_address(box.address)
        if not address or address in skipped or address in found:
            continue
        _, domain = split_address(address)
        if domain == ours or domain.endswith("." + ours):
            continue
        found.append(address)
        if len(found) == MAX_MAIL_CC:
            break
    return found
