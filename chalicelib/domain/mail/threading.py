"""Which ticket an inbound message belongs to: a comment on one, a new ticket, or nothing.

The order (API.md "Email channel and notifications"), first match wins:
1. automated mail (`loops.automated_reason`: our own message back, bounces, auto-replies,
   lists) is ignored: it never opens a ticket, adds a comment or triggers mail;
2. a message whose own Message-ID a ticket already knows is a duplicate delivery: ignored;
3. `In-Reply-To`, then `References` newest first, against the Message-IDs tickets know
   (sent and received): the strongest signal, it survives forwarding and subject edits;
4. the reply-address token of any recipient (`support+<token>@domain`), verified;
5. `[#<number>]` in the subject, only when the sender is that ticket's requester or CC'd
   (anyone can type a number; a stranger's mail with one opens a new ticket instead);
6. otherwise a new ticket (channel `email`).
Lookups are plain callables so the caller decides how storage is read. Steps 2 and 3 ask once,
with every id at once (the message's own, In-Reply-To, References newest first: at most
`MAX_IDS_LOOKED_UP`, one BatchGetItem); the token and number lookups are asked only when the
steps before found nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from chalicelib.domain.mail.addresses import ReplyAddresses
from chalicelib.domain.mail.loops import automated_reason
from chalicelib.domain.mail.message_ids import MessageIds
from chalicelib.domain.mail.parsed import ParsedInbound

Action = Literal["comment", "new_ticket", "ignore"]
_SUBJECT_NUMBER = re.compile(r"\[#(\d{1,12})\]")
MAX_TOKEN_RECIPIENTS = 50  # recipients checked for a token (the rest of 10,000 are not ours anyway)
MAX_IDS_LOOKED_UP = 100  # BatchGetItem's limit: the message's own id and its 99 nearest references


@dataclass(frozen=True)
class NumberMatch:
    ticket_id: str
    sender_is_end_user: bool  # the sender is the ticket's requester or CC'd


@dataclass(frozen=True)
class Lookups:
    # Message-IDs tickets sent or received -> ticket id (the ids asked that are known)
    tickets_for_message_ids: Callable[[Sequence[str]], Mapping[str, str]]
    ticket_for_token: Callable[[str], str | None]  # a verified reply token's (existing) ticket
    ticket_for_number: Callable[[int, str], NumberMatch | None]  # (number, sender address)


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str  # comment: in_reply_to | references | reply_token | subject_number
    #              new_ticket: no_thread | subject_number_from_stranger
    #              ignore: duplicate | a loops reason (our_message, auto_submitted, ...)
    ticket_id: str | None = None


def decide(
    message: ParsedInbound,
    lookups: Lookups,
    *,
    ids: MessageIds,
    addresses: ReplyAddresses,
    envelope_recipients: Iterable[str] = (),
) -> Decision:
    """Where the message goes (see the module docstring for the order)."""
    automated = automated_reason(message, ids)
    if automated is not None:
        return Decision("ignore", automated)
    thread = [("in_reply_to", mid) for mid in message.in_reply_to]
    thread += [("references", mid) for mid in reversed(message.references)]
    own = [message.message_id] if message.message_id is not None else []
    asked = list(dict.fromkeys([*own, *(mid for _, mid in thread)]))[:MAX_IDS_LOOKED_UP]
    known = lookups.tickets_for_message_ids(asked) if asked else {}
    if own and own[0] in known:
        return Decision("ignore", "duplicate")
    for reason, message_id in thread:
        ticket_id = known.get(message_id)
        if ticket_id is not None:
            return Decision("comment", reason, ticket_id)

    recipients = [*envelope_recipients, *(box.address for box in message.recipients[:MAX_TOKEN_RECIPIENTS])]
    for address in dict.fromkeys(recipients):
        token = addresses.token_of(address)
        if token is None or addresses.ticket_of_token(token) is None:
            continue
        ticket_id = lookups.ticket_for_token(token)
        if ticket_id is not None:
            return Decision("comment", "reply_token", ticket_id)

    number = subject_number(message.subject)
    if number is not None:
        match = lookups.ticket_for_number(number, message.sender.address)
        if match is not None:
            if match.sender_is_end_user:
                return Decision("comment", "subject_number", match.ticket_id)
            return Decision("new_ticket", "subject_number_from_stranger")
    return Decision("new_ticket", "no_thread")


def subject_number(subject: str) -> int | None:
    """The ticket number in `[#1234]` (the last one: "Re: [#12] Fwd: [#34]" is about #34)."""
    found = _SUBJECT_NUMBER.findall(subject[:2_000])
    return int(found[-1]) if found else None
