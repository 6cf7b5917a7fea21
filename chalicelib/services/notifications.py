"""Outbound notifications: each bus event that can concern someone becomes one mail per recipient.

Per event: the ticket, the comment (for `notify`, visibility and body) and the people involved are
read (one GetItem, one BatchGetItem of the comment's two keys, one BatchGetItem of users, one of
the suppression list); `recipients` decides who gets which version; the ticket's thread ids are
read once (one Query). Per recipient: a conditional put claims (event, address), SES
SendRawEmail sends, one transaction records it (claim sent, thread id, Message-ID lookup,
`email` timeline entry). A record fails as a batch item when any of its recipients could not be
sent (SES throttled, a claim held by an attempt still within its lease): the retry claims only
what is not sent yet.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.config import MailSettings
from chalicelib.domain.activities import Activity
from chalicelib.domain.errors import Throttled, Unavailable
from chalicelib.domain.events import COMMENT_CREATED, TICKET_UPDATED, Event
from chalicelib.domain.mail import notifications as content
from chalicelib.domain.mail.addresses import normalize_address
from chalicelib.domain.mail.outbound import Outbound, Recipient, build_bytes, subject_line
from chalicelib.domain.mail.recipients import CommentFacts, Delivery, Person, recipients
from chalicelib.domain.tickets import Ticket
from chalicelib.services.mailbox import MAIL_ACTOR, Count, MailboxWorker
from chalicelib.services.statuses import StatusCatalogCache
from chalicelib.storage.activities import ActivityRepository, new_activity_id
from chalicelib.storage.directory import DirectoryRepository
from chalicelib.storage.mail import Claim, MailRejected, MailRepository, SesSender
from chalicelib.storage.tickets import TicketRepository

# A claim in state `sending` blocks other attempts this long; then a retry may send again (same
# Message-ID). Shorter than the queue's visibility timeout (360 s), so a record that failed
# because of a held claim finds it lapsed when it comes back.
CLAIM_LEASE = timedelta(minutes=5)


@dataclass
class Outcome:
    sent: int = 0
    skipped: int = 0  # already sent or rejected before (a redelivery)
    rejected: int = 0
    pending: int = 0  # to be retried: SES failed or a claim is held


class NotificationSender(MailboxWorker):
    """SQS records of bus events in, the partial batch response out."""

    def __init__(
        self,
        tickets: TicketRepository,
        directory: DirectoryRepository,
        activities: ActivityRepository,
        mail: MailRepository,
        ses: SesSender,
        statuses: StatusCatalogCache,
        settings: MailSettings,
        *,
        clock: Callable[[], datetime],
        count: Count,
        log: Any,
    ) -> None:
        super().__init__(ses, settings, clock=clock, count=count, log=log)
        self._tickets = tickets
        self._directory = directory
        self._activities = activities
        self._mail = mail
        self._statuses = statuses

    def handle(self, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        failures = []
        totals = Outcome()
        for record in records:
            try:
                outcome = self._handle_one(record)
            except Exception:
                self._log.exception("notification message not processed", extra={"message_id": record.get("messageId")})
                failures.append({"itemIdentifier": record.get("messageId")})
                continue
            for name in ("sent", "skipped", "rejected", "pending"):
                setattr(totals, name, getattr(totals, name) + getattr(outcome, name))
            if outcome.pending:
                failures.append({"itemIdentifier": record.get("messageId")})
        for name, value in (("MailSent", totals.sent), ("MailRejected", totals.rejected), ("MailRetried", totals.pending)):
            if value:
                self._count(name, value)
        return {"batchItemFailures": failures}

    def _handle_one(self, record: Mapping[str, Any]) -> Outcome:
        event = content.event_from_bus(json.loads(record.get("body") or "null") or {})
        outcome = Outcome()
        ticket = self._tickets.get(event.ticket_id)
        if ticket is None:
            return outcome  # purged: nobody to tell
        comment = self._comment(event, ticket)
        facts = CommentFacts(comment.visibility, tuple(comment.notify)) if comment is not None else None
        people = self._people(event, ticket, facts)
        deliveries = recipients(
            event,
            ticket,
            people,
            comment=facts,
            status_categories=self._status_categories(event),
            support_domain=self._settings.support_domain,
        )
        if not deliveries:
            return outcome
        thread = self._mail.thread(ticket.id)
        actor = people.get(str(event.detail.get("actor_id") or ""))
        for delivery in deliveries:
            message_id = self._ids.for_message(event.id, delivery.address)
            now = self._clock()
            state, claim = self._mail.claim(ticket.id, event.id, delivery.address, message_id, now, CLAIM_LEASE)
            if state == "done":
                outcome.skipped += 1
                continue
            if state == "held" or claim is None:
                outcome.pending += 1
                continue
            subject = subject_line(ticket.number, ticket.subject)
            raw = build_bytes(
                Outbound(
                    message_id=message_id,
                    to=Recipient(delivery.name, delivery.address),
                    from_name=self._settings.from_name,
                    from_address=self._addresses.plain,
                    reply_to=self._addresses.address_for(ticket.id),
                    ticket_number=ticket.number,
                    subject=ticket.subject,
                    text=content.text(
                        event,
                        delivery.audience,
                        actor_name=actor.name if actor is not None else "",
                        ticket_subject=ticket.subject,
                        comment_body=comment.body if comment is not None else None,
                        comment_visibility=comment.visibility if comment is not None else "public",
                    ),
                    html=None,
                    thread_root=self._ids.thread_root(ticket.id),
                    now=now,
                    # mail this person got, and mail the ticket received: In-Reply-To names one they have
                    thread=[t.message_id for t in thread if t.address in (None, delivery.address)],
                )
            )
            try:
                self._ses.send(raw, self._addresses.plain, [delivery.address])
            except MailRejected:
                self._mail.reject(claim)
                outcome.rejected += 1
                self._log.error("notification rejected by SES", extra=_log_extra(event, delivery))
                continue
            except (Throttled, Unavailable):
                self._mail.release(claim)
                outcome.pending += 1
                self._log.warning("notification not sent; retried with the batch", extra=_log_extra(event, delivery))
                break  # SES is throttling or failing: the rest wait for the retry too
            self._record(claim, delivery, subject, event)
            outcome.sent += 1
        return outcome

    def _record(self, claim: Claim, delivery: Delivery, subject: str, event: Event) -> None:
        now = self._clock()
        activity = Activity(
            id=new_activity_id(now),
            ticket_id=claim.ticket_id,
            type="email",
            visibility="internal",  # agents only (API.md): recipients and ids are not for customers
            actor_id=MAIL_ACTOR,
            at=now,
            subject=subject,
            fields={
                "direction": "outbound",
                "to": [delivery.address],
                "recipient_ids": [delivery.user_id],
                "message_id": claim.message_id,
                "event_id": event.id,
                "event_type": event.type,
                "audience": delivery.audience,
            },
        )
        if not self._mail.record_sent(claim, activity, now):
            self._log.info("notification recorded by a later attempt", extra=_log_extra(event, delivery))

    def _comment(self, event: Event, ticket: Ticket) -> Activity | None:
        if event.type != COMMENT_CREATED:
            return None
        comment_id = event.detail.get("comment_id")
        comment = self._activities.find(ticket.id, str(comment_id)) if comment_id else None
        if comment is None or comment.is_deleted:
            visibility = str(event.detail.get("visibility") or "internal")  # unknown: the safe side
            return Activity(
                id=str(comment_id or ""), ticket_id=ticket.id, type="note", visibility=visibility, actor_id="", at=self._clock()
            )
        return comment

    def _people(self, event: Event, ticket: Ticket, facts: CommentFacts | None) -> dict[str, Person]:
        actor = str(event.detail.get("actor_id") or "")
        ids = [ticket.requester_id, *ticket.cc, *ticket.followers, ticket.assignee_id or "", actor]
        ids += list(facts.notify) if facts is not None else []
        users = self._directory.get_many("user", ids)
        suppressed = self._mail.suppressed(normalize_address(str(u.data.get("email") or "")) for u in users.values())
        return {
            user_id: Person(
                id=user_id,
                role=str(entry.data.get("role") or "customer"),
                email=str(entry.data.get("email") or ""),
                name=entry.name,
                notifications=bool(entry.data.get("notifications", True)),
                suppressed=normalize_address(str(entry.data.get("email") or "")) in suppressed,
            )
            for user_id, entry in users.items()
        }

    def _status_categories(self, event: Event) -> dict[str, str]:
        if event.type != TICKET_UPDATED:
            return {}
        changes = [c for c in event.detail.get("changes") or [] if isinstance(c, Mapping)]
        names = [str(c.get("new")) for c in changes if c.get("property") == "status"]
        if not names:
            return {}
        catalog = self._statuses.catalog(must_know=names[-1])
        return {name: status.category for name in names if (status := catalog.get(name)) is not None}


def _log_extra(event: Event, delivery: Delivery) -> dict[str, Any]:
    # ids only: never the address or the body (personal data)
    return {"event_id": event.id, "ticket_id": event.ticket_id, "user_id": delivery.user_id}
