"""Mail storage: notification claims, thread ids, the suppression list, and the SES sender.

A notification is one (event, recipient address). Before SES is called the sender claims it
with a conditional put (`attribute_not_exists`, or a `sending` claim whose lease ran out); after
SES accepted it one transaction marks the claim sent, adds the Message-ID to the ticket's thread
(and to the Message-ID lookup inbound threading uses) and records the `email` timeline entry.
A retried batch finds the claim sent and mails nobody twice (docs/decisions.md, "Email: outbound
notifications").
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from chalicelib.domain.activities import Activity
from chalicelib.domain.errors import DomainError, Throttled, Unavailable
from chalicelib.storage import keys
from chalicelib.storage.activities import to_item
from chalicelib.storage.base import Repository
from chalicelib.storage.errors import THROTTLING, TransactionCancelled, translated
from chalicelib.storage.models import MailClaimItem, MailThreadItem, MessageIdItem, SuppressionItem

CLAIM_RETENTION = timedelta(days=30)  # longer than any redelivery (SQS keeps messages 4 days)
THREAD_READ = 100  # the newest thread ids read per event (References keeps the root + 19)
ClaimState = Literal["claimed", "done", "held"]


@dataclass(frozen=True)
class Claim:
    ticket_id: str
    event_id: str
    address: str
    message_id: str
    token: str


@dataclass(frozen=True)
class ThreadId:
    message_id: str
    address: str | None  # the recipient of mail we sent; None for mail we received


class _Taken(DomainError):
    """A conditional write found the item already there (internal to this module)."""


class MailRejected(Exception):
    """SES refused this one message for good (MessageRejected): retrying cannot help."""


class MailRepository(Repository):
    # -- suppression --------------------------------------------------------------------------
    def suppressed(self, addresses: Iterable[str]) -> set[str]:
        """Which of the addresses are suppressed: one consistent BatchGetItem per 100."""
        wanted = list(dict.fromkeys(a for a in addresses if a))
        found: set[str] = set()
        connection = SuppressionItem._get_connection()
        for start in range(0, len(wanted), 100):
            chunk = [{"PK": keys.SUPPRESSION_PK, "SK": a} for a in wanted[start : start + 100]]
            with translated():
                response = connection.batch_get_item(chunk, consistent_read=True, attributes_to_get=["SK"])
            if response.get("UnprocessedKeys"):
                raise Unavailable("the data store is busy; retry shortly")
            for raws in response.get("Responses", {}).values():
                found.update(raw["SK"]["S"] for raw in raws)
        return found

    def suppress(self, address: str, reason: str, now: datetime) -> None:
        """Mark the address suppressed (idempotent: the first reason and time are kept)."""
        item = SuppressionItem(keys.SUPPRESSION_PK, address, address=address, reason=reason, at=keys.stamp(now))
        try:
            with translated(on_condition_failed=_Taken):
                item.save(condition=SuppressionItem.PK.does_not_exist())
        except _Taken:
            pass

    # -- thread ----------------------------------------------------------------------------------
    def thread(self, ticket_id: str) -> list[ThreadId]:
        """The ticket's newest thread ids, oldest first (one Query)."""
        with translated():
            items = list(
                MailThreadItem.query(
                    keys.ticket_pk(ticket_id),
                    MailThreadItem.SK.startswith(keys.MAIL_THREAD_PREFIX),
                    scan_index_forward=False,
                    limit=THREAD_READ,
                    page_size=THREAD_READ,
                )
            )
        return [ThreadId(item.message_id, item.address) for item in reversed(items)]

    # -- claims ----------------------------------------------------------------------------------
    def claim(
        self, ticket_id: str, event_id: str, address: str, message_id: str, now: datetime, lease: timedelta
    ) -> tuple[ClaimState, Claim | None]:
        """Take the notification: `claimed` (send it), `done` (sent or rejected before) or `held`
        (another attempt is sending it and its lease runs: retry later)."""
        token = uuid.uuid4().hex
        sk = keys.mail_claim_sk(event_id, address)
        item = MailClaimItem(
            keys.ticket_pk(ticket_id),
            sk,
            event_id=event_id,
            address=address,
            message_id=message_id,
            state="sending",
            token=token,
            lease_until=keys.stamp(now + lease),
            ttl=now + CLAIM_RETENTION,
        )
        lapsed = (MailClaimItem.state == "sending") & (MailClaimItem.lease_until < keys.stamp(now))
        try:
            with translated(on_condition_failed=_Taken):
                item.save(condition=MailClaimItem.PK.does_not_exist() | lapsed)
        except _Taken:
            with translated():
                try:
                    existing = MailClaimItem.get(keys.ticket_pk(ticket_id), sk, consistent_read=True)
                except MailClaimItem.DoesNotExist:
                    return "held", None  # released between the put and the read: the retry takes it
            return ("held" if existing.state == "sending" else "done"), None
        return "claimed", Claim(ticket_id, event_id, address, message_id, token)

    def release(self, claim: Claim) -> None:
        """Give the claim back after SES failed, so the retry sends at once (best effort: if this
        fails too, the lease runs out)."""
        item = MailClaimItem(keys.ticket_pk(claim.ticket_id), keys.mail_claim_sk(claim.event_id, claim.address))
        with contextlib.suppress(PynamoDBException):
            item.delete(condition=(MailClaimItem.token == claim.token) & (MailClaimItem.state == "sending"))

    def reject(self, claim: Claim) -> None:
        """SES refused the message for good: never try this notification again."""
        item = MailClaimItem(keys.ticket_pk(claim.ticket_id), keys.mail_claim_sk(claim.event_id, claim.address))
        try:
            with translated(on_condition_failed=_Taken):
                item.update(actions=[MailClaimItem.state.set("rejected")], condition=MailClaimItem.token == claim.token)
        except _Taken:
            pass  # taken over after the lease: the other attempt decides

    def record_sent(self, claim: Claim, activity: Activity, now: datetime) -> bool:
        """One transaction: the claim is sent, the id joins the thread and the lookup, the timeline
        gets the `email` entry. False when the claim was taken over meanwhile (its lease ran out
        and another attempt sent the same message, with the same Message-ID): that one records."""
        pk = keys.ticket_pk(claim.ticket_id)
        claim_item = MailClaimItem(pk, keys.mail_claim_sk(claim.event_id, claim.address))
        thread_item = MailThreadItem(
            pk, keys.mail_thread_sk(now, claim.message_id), message_id=claim.message_id, address=claim.address, at=keys.stamp(now)
        )
        lookup = MessageIdItem(
            keys.message_id_pk(claim.message_id),
            keys.MESSAGE_ID_SK,
            ticket_id=claim.ticket_id,
            direction="outbound",
            at=keys.stamp(now),
        )
        try:
            with translated(), self._transaction() as tx:
                tx.update(
                    claim_item,
                    actions=[MailClaimItem.state.set("sent")],
                    condition=(MailClaimItem.token == claim.token) & (MailClaimItem.state == "sending"),
                )
                tx.save(thread_item)
                tx.save(lookup)
                tx.save(to_item(activity))
        except TransactionCancelled as exc:
            if exc.failed_keys() == {(claim_item.PK, claim_item.SK)}:
                return False
            raise Unavailable("the data store refused the sent-mail record; retry shortly") from exc
        return True


# -- SES -------------------------------------------------------------------------------------
class SesSender:
    """SendRawEmail under the deployment's configuration set (bounces and complaints reach SNS)."""

    def __init__(self, client: Any, configuration_set: str) -> None:
        self._client = client
        self._configuration_set = configuration_set

    def send(self, raw: bytes, source: str, destinations: Sequence[str]) -> str:
        """SES's message id; Throttled or Unavailable when a retry may work, MailRejected if not."""
        arguments: dict[str, Any] = {"Source": source, "Destinations": list(destinations), "RawMessage": {"Data": raw}}
        if self._configuration_set:
            arguments["ConfigurationSetName"] = self._configuration_set
        try:
            response = self._client.send_raw_email(**arguments)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "MessageRejected":
                raise MailRejected(code) from exc
            if code in THROTTLING or code == "Throttling":
                raise Throttled("SES is throttling sends; retry shortly") from exc
            raise Unavailable(f"SES refused the send ({code}); retry shortly") from exc
        except BotoCoreError as exc:
            raise Unavailable(f"SES could not be reached ({type(exc).__name__})") from exc
        return str(response.get("MessageId", ""))
