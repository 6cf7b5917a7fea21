"""Inbound mail: a received message (raw MIME in S3) becomes a comment, a new ticket, or nothing.

`receive(bucket, key)` is the whole use case (the SQS handler and the lead's whole-loop test both
call it): read the raw message, parse it (`domain.mail.inbound`), decide where it goes
(`domain.mail.threading`, which also rejects loops, auto-replies and known Message-IDs), check the
sender's rate, find or create the sender's user, and apply through the existing services
(`TicketService.create`, `ConversationService.comment`: same validation, events, SLA, history).
The Message-ID lookup commits in the same transaction, put only if absent, so a redelivery adds
nothing. Every outcome is counted and logged (ids only, never addresses or text):

| outcome | when |
| --- | --- |
| `created` | a new ticket (no thread, a stranger's `[#n]`, a stranger in a known thread, a closed ticket) |
| `commented` | a public comment on the ticket the message threads to |
| `duplicate` | its Message-ID is already on a ticket (redelivery, or sent twice) |
| `loop` | automated mail (our own, bounces, auto-replies, lists): never a ticket, never a reply |
| `parked` | the sender is over `RATE_LIMIT` messages per `RATE_WINDOW`: kept in S3, listed, not processed |
| `suspended` | its verdicts do not let it post as its sender (`domain.mail.screening`): parked with the reason, releasable |
| `quarantined` | a virus: parked for admins to read, never a ticket or a comment, never released |
| `refused` | over 20 MB: no ticket, a bounce notice to a person's address |
| `malformed` | unreadable MIME, no sender, not an SES receipt, the object gone |
| `rejected` | the services refused it for good (e.g. the sender's user is disabled) |

Only transient failures (throttling, an unavailable store) escape `receive`: the SQS record
fails and is retried; after 5 receives it goes to `InboundMailDLQ`.
"""

from __future__ import annotations

import hashlib
import html
import json
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.config import MailSettings
from chalicelib.domain.activities import Activity
from chalicelib.domain.bodies import prepare_body
from chalicelib.domain.errors import (
    Conflict,
    Contention,
    MailTooLarge,
    MalformedMail,
    NotAllowed,
    NotFound,
    Throttled,
    Unavailable,
    ValidationFailed,
)
from chalicelib.domain.mail import inbound, loops, threading, trimming
from chalicelib.domain.mail.addresses import split_address
from chalicelib.domain.mail.cc import cc_candidates
from chalicelib.domain.mail.parsed import ParsedInbound
from chalicelib.domain.mail.refusals import refusal_notice
from chalicelib.domain.mail.screening import Verdicts, dkim_domains, screen
from chalicelib.domain.tickets import MAX_CC, Ticket, is_blank
from chalicelib.domain.visibility import Caller, is_end_user_of
from chalicelib.services.conversation import ConversationService
from chalicelib.services.directory import caller_of
from chalicelib.services.mailbox import MAIL_ACTOR, Count, MailboxWorker
from chalicelib.services.tickets import TicketService
from chalicelib.storage.activities import new_activity_id, to_item
from chalicelib.storage.directory import DirectoryRepository, Entry
from chalicelib.storage.inbound_mail import (
    AlreadyReceived,
    InboundFiles,
    InboundMailRepository,
    Original,
    OriginalMissing,
    RawMailStore,
    RefusalNotices,
)
from chalicelib.storage.mail import MailRejected, SesSender
from chalicelib.storage.tickets import Put, TicketRepository

# A person writes a few mails an hour; a loop with a system we do not recognise as automated
# writes one per notification. 20 in 10 minutes stops such a loop after 20 comments, and no
# person hits it (docs/decisions.md, "Email: inbound").
RATE_LIMIT = 20
RATE_WINDOW = timedelta(minutes=10)
INBOUND_PREFIX = "inbound/"
NO_SUBJECT = "(no subject)"
NO_TEXT = "(no text)"
MAX_ENVELOPE_RECIPIENTS = 50
OUTCOMES = (
    "created",
    "commented",
    "duplicate",
    "loop",
    "parked",
    "suspended",
    "quarantined",
    "refused",
    "malformed",
    "rejected",
)
METRIC_PREFIX = "MailInbound"  # MailInboundCreated, MailInboundDuplicate, ... (+ MailInboundRetried)

LEFT_OUT = {
    "type_not_allowed": "this file type is not accepted",
    "too_large": "over 500 KB",
    "too_many": "more than 5 files in one message",
    "empty": "empty",
}


@dataclass(frozen=True)
class Received:
    outcome: str  # one of OUTCOMES
    reason: str
    ticket_id: str | None = None
    activity_id: str | None = None


class InboundMailService(MailboxWorker):
    """SES "Received" notifications (SQS records) in, the partial batch response out."""

    def __init__(
        self,
        raw: RawMailStore,
        inbound_mail: InboundMailRepository,
        tickets: TicketRepository,
        directory: DirectoryRepository,
        ticket_service: TicketService,
        conversation: ConversationService,
        settings: MailSettings,
        files: InboundFiles,
        refusals: RefusalNotices,
        ses: SesSender,
        *,
        clock: Callable[[], datetime],
        count: Count,
        log: Any,
    ) -> None:
        super().__init__(ses, settings, clock=clock, count=count, log=log)
        self._raw = raw
        self._inbound = inbound_mail
        self._tickets = tickets
        self._directory = directory
        self._ticket_service = ticket_service
        self._conversation = conversation
        self._files = files
        self._refusals = refusals

    # -- the queue ---------------------------------------------------------------------------
    def handle(self, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        failures = []
        outcomes: Counter[str] = Counter()
        for record in records:
            try:
                received = self._handle_one(record)
            except (Throttled, Unavailable, Contention) as exc:
                extra = {"sqs_message_id": record.get("messageId"), "error": f"{type(exc).__name__}: {exc}"}
                self._log.warning("inbound mail not processed; retried", extra=extra)
                failures.append({"itemIdentifier": record.get("messageId")})
                outcomes["retried"] += 1
                continue
            except Exception:  # a bug, not the message: fail the item (to the DLQ after 5 receives, alarmed)
                self._log.exception("inbound mail failed", extra={"sqs_message_id": record.get("messageId")})
                failures.append({"itemIdentifier": record.get("messageId")})
                outcomes["retried"] += 1
                continue
            outcomes[received.outcome] += 1
        for outcome, value in sorted(outcomes.items()):
            self._count(METRIC_PREFIX + outcome.capitalize(), value)
        return {"batchItemFailures": failures}

    def _handle_one(self, record: Mapping[str, Any]) -> Received:
        notification = _notification(record.get("body"))
        if notification is None:
            return self._done(Received("malformed", "not_a_receipt"), None)
        receipt = notification.get("receipt") or {}
        action = receipt.get("action") or {}
        bucket, key = str(action.get("bucketName") or ""), str(action.get("objectKey") or "")
        if action.get("type") != "S3" or not bucket or not key:
            return self._done(Received("malformed", "not_a_receipt"), None)
        envelope = [str(r) for r in (receipt.get("recipients") or [])[:MAX_ENVELOPE_RECIPIENTS] if isinstance(r, str)]
        source = (notification.get("mail") or {}).get("source")
        return self.receive(
            bucket,
            key,
            envelope_recipients=envelope,
            verdicts=Verdicts.from_receipt(receipt),
            envelope_sender=source if isinstance(source, str) else "",
        )

    # -- one message ---------------------------------------------------------------------------
    def receive(
        self,
        bucket: str,
        key: str,
        *,
        envelope_recipients: Sequence[str] = (),
        release: bool = False,
        verdicts: Verdicts | None = None,
        envelope_sender: str = "",
    ) -> Received:
        """Turn the raw message at s3://bucket/key into a comment, a ticket or nothing (see the
        module docstring). `verdicts`: SES's (None: nothing proven, every check GRAY);
        `envelope_sender`: MAIL FROM (`mail.source`). `release`: an admin lets a parked or
        suspended message through its rate and screening (never one quarantined for a virus)."""
        original = Original(bucket, key)
        screening = _Screening(verdicts or Verdicts(), envelope_sender, release)
        if not key.startswith(INBOUND_PREFIX):
            return self._done(Received("malformed", "outside_inbound_prefix"), original)
        try:
            message = inbound.parse(self._raw.read(original))
        except OriginalMissing:
            return self._done(Received("malformed", "original_missing"), original)
        except MailTooLarge:
            return self._done(self._refuse(original, screening.verdicts), original)
        except MalformedMail:
            return self._done(Received("malformed", "unreadable_mime"), original)
        return self._done(self._apply(message, original, envelope_recipients, screening), original)

    def _refuse(self, original: Original, verdicts: Verdicts) -> Received:
        """Over 20 MB: no ticket; a notice to the sender when it is a person (see
        `domain.mail.refusals`), at most once per message and within the sender's rate; none
        for spam, a virus or a failed DMARC check (the From is likely forged: no backscatter)."""
        if "FAIL" in (verdicts.spam, verdicts.virus, verdicts.dmarc):
            return Received("refused", "too_large_not_trusted")
        head = self._raw.head(original)
        end = head.find(b"\r\n\r\n") if b"\r\n\r\n" in head else head.find(b"\n\n")
        try:
            message = inbound.parse(head[: end if end >= 0 else len(head)] + b"\r\n\r\n")
        except (MalformedMail, MailTooLarge):
            return Received("refused", "too_large_unreadable")
        sender = message.sender.address
        if not sender:
            return Received("refused", "too_large_no_sender")
        automated = loops.automated_reason(message, self._ids)
        if automated is not None:
            return Received("refused", f"too_large_{automated}")
        now = self._clock()
        if self._over_rate(sender, original):
            return Received("refused", "too_large_over_rate")
        if not self._refusals.claim(original, now):
            return Received("refused", "too_large_notice_sent_before")
        notice = refusal_notice(
            message_id=self._ids.for_message(f"refused\x00{original.key}", sender),
            to=sender,
            from_name=self._settings.from_name,
            from_address=self._addresses.plain,
            subject=message.subject,
            in_reply_to=message.message_id,
            limit_bytes=inbound.MAX_MESSAGE_BYTES,
            now=now,
        )
        try:
            self._ses.send(notice, self._addresses.plain, [sender])
        except MailRejected:
            return Received("refused", "too_large_notice_rejected")
        except (Throttled, Unavailable):
            self._refusals.release(original)
            raise
        return Received("refused", "too_large")

    def _apply(self, message: ParsedInbound, original: Original, envelope: Sequence[str], screening: _Screening) -> Received:
        sender = message.sender.address
        people: dict[str, list[Entry]] = {}

        def users() -> list[Entry]:
            if "found" not in people:
                people["found"] = self._users_of(sender) if sender else []
            return people["found"]

        lookups = threading.Lookups(
            tickets_for_message_ids=self._inbound.tickets_for_message_ids,
            ticket_for_token=self._ticket_for_token,
            ticket_for_number=lambda number, _: self._ticket_for_number(number, users()),
        )
        decision = threading.decide(message, lookups, ids=self._ids, addresses=self._addresses, envelope_recipients=envelope)
        if decision.action == "ignore":
            return Received("duplicate" if decision.reason == "duplicate" else "loop", decision.reason, decision.ticket_id)
        if not sender:
            return Received("malformed", "no_sender")
        held = self._screen(message, original, screening, bool(users()))
        if held is not None:
            return held
        if not screening.release and self._over_rate(sender, original):
            self._inbound.park(original, "sender_rate", self._clock())
            return Received("parked", "sender_rate")
        message_id = message.message_id or _synthetic_id(original)
        try:
            if decision.action == "comment" and decision.ticket_id is not None:
                return self._comment(message, message_id, original, decision.ticket_id, decision.reason, users())
            return self._new_ticket(message, message_id, original, decision.reason, users())
        except AlreadyReceived:
            return Received("duplicate", "duplicate_race")
        except (NotAllowed, ValidationFailed, Conflict) as exc:
            if isinstance(exc, Contention):
                raise
            self._log.warning("inbound mail refused by the services", extra={"error": type(exc).__name__})
            return Received("rejected", type(exc).__name__)

    def _screen(self, message: ParsedInbound, original: Original, screening: _Screening, known: bool) -> Received | None:
        """Suspend or quarantine what SES's verdicts do not let through (`domain.mail.screening`);
        None: go on. A release skips the screening, except for a message quarantined (a virus)."""
        if screening.release:
            if "virus" in self._inbound.parked_reasons(original):
                return Received("quarantined", "virus_not_released")
            return None
        verdict = screen(
            screening.verdicts,
            from_address=message.sender.address,
            envelope_sender=screening.envelope_sender,
            dkim_domains=dkim_domains(message.headers.get("dkim-signature", ())),
            known_sender=known,
            has_attachments=bool(message.attachments),
        )
        if verdict.action == "accept":
            return None
        self._inbound.park(original, verdict.reason, self._clock())
        return Received("suspended" if verdict.action == "suspend" else "quarantined", verdict.reason)

    def _comment(
        self, message: ParsedInbound, message_id: str, original: Original, ticket_id: str, reason: str, users: list[Entry]
    ) -> Received:
        ticket = self._tickets.get(ticket_id)
        if ticket is not None and ticket.merged_into:
            ticket = self._tickets.get(ticket.merged_into)  # merged since: its thread continues there
        if ticket is None or ticket.is_deleted:
            return self._new_ticket(message, message_id, original, "ticket_gone", users)
        author = _author(ticket, [caller_of(u) for u in users if not u.data.get("disabled")])
        if author is None:
            # Someone the thread reached (forwarded, a list) but who is neither on the ticket nor
            # staff: their own ticket, so they never read or write someone else's conversation.
            return self._new_ticket(message, message_id, original, "stranger_in_thread", users)
        if ticket.is_closed:
            return self._new_ticket(message, message_id, original, "follow_up_of_closed", users)
        now = self._clock()
        activity_id = new_activity_id(now)
        summaries, records = self._attachments(message, ticket.id, activity_id, author.user_id, now)
        # Of the customers only the requester adds CCs (as in the API); room is left within MAX_CC.
        may_cc = author.is_staff or author.user_id == ticket.requester_id
        cc = self._copied(message, ticket.organization_id, author.is_staff) if may_cc else []
        cc = [u for u in cc if u not in ticket.cc and u != ticket.requester_id][: max(0, MAX_CC - len(ticket.cc))]
        posted = self._conversation.comment(
            author,
            ticket.id,
            body=_body(message),
            visibility="public",
            cc=cc,
            notify=[],
            status=None,
            now=now,
            activity_id=activity_id,
            fields={"channel": "email"},
            also_put=[*self._inbound.received(message_id, ticket.id, activity_id, original, now), *records],
            attachments=summaries,
        )
        return Received("commented", reason, ticket.id, posted.activity.id)

    def _new_ticket(
        self, message: ParsedInbound, message_id: str, original: Original, reason: str, users: list[Entry]
    ) -> Received:
        requester = self._requester(message, users)
        if requester is None:
            return Received("rejected", "sender_disabled_or_deleted")
        now = self._clock()
        ticket_id = self._ticket_service.new_ticket_id()
        values: dict[str, Any] = {
            "subject": NO_SUBJECT if is_blank(message.subject) else message.subject,
            "description": prepare_body(_body(message)).text,
            "channel": "email",
        }
        cc = [u for u in self._copied(message, requester.org_id, requester.is_staff) if u != requester.user_id]
        if cc:
            values["cc"] = cc
        _, records = self._attachments(message, ticket_id, None, requester.user_id, now)
        also_put = [*self._inbound.received(message_id, ticket_id, None, original, now), *records]
        ticket = self._ticket_service.create(requester, values, now, also_put=also_put, ticket_id=ticket_id)
        return Received("created", reason, ticket.id)

    def _over_rate(self, sender: str, original: Original) -> bool:
        """This message counted (once, however often it is delivered) toward its sender's rate."""
        return self._inbound.count_sender(sender, original.key, self._clock(), RATE_WINDOW, RATE_LIMIT) > RATE_LIMIT

    # -- attachments -------------------------------------------------------------------------
    def _attachments(
        self, message: ParsedInbound, ticket_id: str, comment_id: str | None, uploader: str, now: datetime
    ) -> tuple[list[dict[str, Any]], list[Put]]:
        """Store the allowed parts (the API's allow-list, 500 KB, 5 per message: the parser
        checked them); answer the message's attachment summaries and the records that commit with
        it: the attachment items, confirmed, and an internal note naming the parts left out."""
        stored = []
        for part in message.attachments:
            attachment_id = uuid.uuid4().hex
            key = self._files.store(ticket_id, attachment_id, part.filename, part.content_type, part.data)
            stored.append((attachment_id, part.filename, part.content_type, len(part.data), key))
        records: list[Put] = [*self._files.records(ticket_id, comment_id, stored, uploader, now)]
        if message.left_out:
            lines = [
                f"- {p.filename or '(no name)'} ({p.content_type}, {p.size} bytes): {LEFT_OUT[p.reason]}"
                for p in message.left_out
            ]
            text = "Left out of the email (not attached to the ticket):\n" + "\n".join(lines)
            note = Activity(
                id=new_activity_id(now),
                ticket_id=ticket_id,
                type="note",
                visibility="internal",
                actor_id=MAIL_ACTOR,
                at=now,
                body=prepare_body(html.escape(text, quote=False)).text,
            )
            records.append(to_item(note))
        summaries = [{"id": i, "filename": f, "content_type": t, "size": n} for i, f, t, n, _ in stored]
        return summaries, records

    # -- people ------------------------------------------------------------------------------
    def _users_of(self, address: str) -> list[Entry]:
        """Every user with this address: the one inbound mail created (read by id, consistent)
        and the others (the email index)."""
        found = {e.id: e for e in self._directory.users_by_email(address)}
        mine = self._directory.get("user", mail_user_id(address))
        if mine is not None:
            found.setdefault(mine.id, mine)
        return sorted(found.values(), key=lambda e: (e.id != mail_user_id(address), e.id))

    def _copied(self, message: ParsedInbound, organization_id: str | None, by_staff: bool) -> list[str]:
        """The users the message's To/Cc add to the ticket's CC (`domain.mail.cc`): an active
        user with the address (staff add anyone; a customer only users of the ticket's
        organization, as `check_cc_by_customer` requires), or for an unknown address at that
        organization's own mail domain a new customer of it; nobody else."""
        added = []
        for address in cc_candidates(message, support_domain=self._settings.support_domain):
            active = [u for u in self._users_of(address) if not u.data.get("disabled")]
            if active:
                user = active[0]
                if by_staff or (organization_id is not None and user.data.get("organization_id") == organization_id):
                    added.append(user.id)
                continue
            if organization_id is None or self._directory.is_deleted_user(mail_user_id(address)):
                continue
            if self._directory.organization_of_domain(split_address(address)[1]) == organization_id:
                added.append(self._create_customer(address, "").id)
        return list(dict.fromkeys(added))

    def _requester(self, message: ParsedInbound, users: list[Entry]) -> Caller | None:
        """The sender as a requester: their user, else a new customer (see `_create_customer`)."""
        active = [u for u in users if not u.data.get("disabled")]
        if users and not active:
            return None
        if active:
            # a customer record over a staff one: mail to the support address asks for help
            chosen = sorted(active, key=lambda u: (u.data.get("role") not in (None, "customer"), u.id))[0]
            return caller_of(chosen)
        if self._directory.is_deleted_user(mail_user_id(message.sender.address)):
            return None  # an admin deleted the user mail created: their mail is not let back in
        return caller_of(self._create_customer(message.sender.address, message.sender.name))

    def _create_customer(self, address: str, name: str) -> Entry:
        """A directory user (role customer) for an unknown sender. Its id is derived from the
        address, so two messages racing create one user."""
        user_id = mail_user_id(address)
        local, _ = split_address(address)
        data: dict[str, Any] = {"email": address, "role": "customer", "source": "email"}
        organization_id = self._directory.organization_of_domain(split_address(address)[1])
        if organization_id is not None:  # API.md: an unknown sender joins the org whose domain matches
            data["organization_id"] = organization_id
        try:
            return self._directory.create_user(user_id, name or local or address, data, self._clock())
        except Conflict:
            existing = self._directory.get("user", user_id)
            if existing is None:
                raise Unavailable("the sender's user is changing; retry shortly") from None
            return existing

    # -- threading lookups -----------------------------------------------------------------------
    def _ticket_for_token(self, token: str) -> str | None:
        ticket_id = self._addresses.ticket_of_token(token)
        if ticket_id is None:
            return None
        return ticket_id if self._tickets.get(ticket_id) is not None else None

    def _ticket_for_number(self, number: int, users: list[Entry]) -> threading.NumberMatch | None:
        ticket_id = self._inbound.ticket_numbered([u.id for u in users], number) if users else None
        return threading.NumberMatch(ticket_id, True) if ticket_id is not None else None

    # -- outcomes ------------------------------------------------------------------------------
    def _done(self, received: Received, original: Original | None) -> Received:
        # ids only: never an address, a subject or a body (personal data)
        extra = {
            "outcome": received.outcome,
            "reason": received.reason,
            "ticket_id": received.ticket_id,
            "activity_id": received.activity_id,
            "object_key": original.key if original is not None else None,
        }
        self._log.info("inbound mail", extra=extra)
        return received


@dataclass(frozen=True)
class _Screening:
    verdicts: Verdicts
    envelope_sender: str
    release: bool


def mail_user_id(address: str) -> str:
    """The id of the user inbound mail creates for an unknown address (stable per address)."""
    return "mail-" + hashlib.sha256(address.encode("utf-8")).hexdigest()[:27]


def _author(ticket: Ticket, candidates: Sequence[Caller]) -> Caller | None:
    """Who a reply is from (seed 004: by their relation to the ticket): the user on the ticket
    (requester or CC'd, even an agent who opened it for themself), else the assignee, else any
    staff; None for anyone else."""
    for caller in candidates:
        if is_end_user_of(caller, ticket):
            return caller
    for caller in candidates:
        if caller.is_staff and ticket.assignee_id == caller.user_id:
            return caller
    for caller in candidates:
        if caller.is_staff:
            return caller
    return None


def _body(message: ParsedInbound) -> str:
    """The new text of the message as a stored body: trimmed of quoted history, escaped (the
    text is plain, so `<b>` in it is text, never markup)."""
    text = trimming.new_text(message.text) if message.text.strip() else ""
    return html.escape(text, quote=False) if text.strip() else NO_TEXT


def _synthetic_id(original: Original) -> str:
    """A Message-ID for a message without one: its stored object, so a redelivery still matches."""
    digest = hashlib.sha256(f"{original.bucket}/{original.key}".encode()).hexdigest()[:32]
    return f"<no-id.{digest}@inbound.invalid>"


def _notification(body: Any) -> Mapping[str, Any] | None:
    """The SES notification of an SQS body (raw delivery, or wrapped in an SNS envelope)."""
    try:
        data = json.loads(body) if isinstance(body, str) else None
        if isinstance(data, Mapping) and isinstance(data.get("Message"), str) and "notificationType" not in data:
            data = json.loads(data["Message"])
    except ValueError:
        return None
    if not isinstance(data, Mapping) or data.get("notificationType") != "Received":
        return None
    return data


ORIGINAL_URL_SECONDS = 5 * 60
TICKET_DESCRIPTION = "description"  # the activity id naming the mail that opened the ticket


class InboundOriginals:
    """Agents read the raw message a comment (or the ticket itself) came from; anyone else, and
    anything not from mail, is 404 (the original names addresses and headers customers never see)."""

    def __init__(self, tickets: TicketService, inbound_mail: InboundMailRepository, s3_client: Callable[[], Any]) -> None:
        self._tickets = tickets
        self._inbound = inbound_mail
        self._s3 = s3_client

    def download(self, caller: Caller, ticket_id: str, activity_id: str) -> tuple[str, int]:
        ticket = self._tickets.get(caller, ticket_id)  # 404 when the caller may not see it
        if not caller.is_staff:
            raise NotFound("no original message")
        original = self._inbound.original(ticket.id, None if activity_id == TICKET_DESCRIPTION else activity_id)
        if original is None:
            raise NotFound("no original message")
        try:
            url = self._s3().generate_presigned_url(
                "get_object",
                Params={"Bucket": original.bucket, "Key": original.key, "ResponseContentType": "message/rfc822"},
                ExpiresIn=ORIGINAL_URL_SECONDS,
            )
        except Exception as exc:  # botocore must not leak above the service
            raise Unavailable("file storage is unavailable; retry") from exc
        return str(url), ORIGINAL_URL_SECONDS
