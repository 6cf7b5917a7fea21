"""Inbound mail storage: the raw message in S3, Message-ID lookups, the received-once claim, the
per-sender rate, parked messages and where each original is kept.

A received message becomes its comment or ticket in ONE transaction with its `MSGID#` lookup,
put only if absent (`ConditionalPut`): a redelivered SQS record, or the same mail delivered twice,
finds the lookup there and the whole write is refused (`AlreadyReceived`), so nothing is added
twice and nothing is half-written (docs/decisions.md, "Email: inbound").
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException
from pynamodb.expressions.condition import size

from chalicelib.domain.errors import Conflict, MailTooLarge, Throttled, Unavailable
from chalicelib.domain.mail.inbound import MAX_MESSAGE_BYTES
from chalicelib.storage import keys
from chalicelib.storage.base import Repository
from chalicelib.storage.errors import THROTTLING, translated
from chalicelib.storage.models import (
    AttachmentCountItem,
    AttachmentItem,
    InboundOriginalItem,
    MailRateItem,
    MailThreadItem,
    MessageIdItem,
    ParkedMailItem,
    Record,
    TicketEntry,
)
from chalicelib.storage.tickets import ConditionalPut

PARKED_RETENTION = timedelta(days=30)  # as long as the inbound bucket keeps the raw message


class AlreadyReceived(Conflict):
    """The message's Message-ID is already on a ticket: this delivery adds nothing."""


class OriginalMissing(Exception):
    """The notification names an object that is not (or no longer) in the bucket."""


@dataclass(frozen=True)
class Original:
    bucket: str
    key: str


class InboundMailRepository(Repository):
    # -- threading lookups ------------------------------------------------------------------
    def tickets_for_message_ids(self, message_ids: Sequence[str]) -> dict[str, str]:
        """Message-ID -> ticket id for the ids some ticket sent or received: one consistent
        BatchGetItem (at most 100 ids, `threading.MAX_IDS_LOOKED_UP`)."""
        wanted = list(dict.fromkeys(message_ids))[:100]
        if not wanted:
            return {}
        chunk = [{"PK": keys.message_id_pk(mid), "SK": keys.MESSAGE_ID_SK} for mid in wanted]
        with translated():
            response = MessageIdItem._get_connection().batch_get_item(chunk, consistent_read=True)
        if response.get("UnprocessedKeys"):
            raise Unavailable("the data store is busy; retry shortly")
        found: dict[str, str] = {}
        for raws in response.get("Responses", {}).values():
            for raw in raws:
                item = MessageIdItem.from_raw_data(raw)
                found[item.PK.removeprefix("MSGID#")] = item.ticket_id
        return found

    def ticket_numbered(self, user_ids: Sequence[str], number: int) -> str | None:
        """The ticket numbered `number` among those the users requested or are CC'd on (their
        `USER#` list partition, GSI1), or None: one Query per user, filtered on the number."""
        for user_id in user_ids:
            with translated():
                found = list(
                    TicketEntry.by_activity.query(f"USER#{user_id}", filter_condition=TicketEntry.number == number, limit=1)
                )
            if found:
                return str(found[0].id)
        return None

    # -- the received-once claim and the thread ------------------------------------------------
    @staticmethod
    def received(
        message_id: str, ticket_id: str, activity_id: str | None, original: Original, now: datetime
    ) -> list[Record | ConditionalPut]:
        """What commits with the comment or ticket a message became: its Message-ID lookup (only
        if absent: a duplicate refuses the whole write), the ticket's thread id, the original."""
        lookup = MessageIdItem(
            keys.message_id_pk(message_id),
            keys.MESSAGE_ID_SK,
            ticket_id=ticket_id,
            direction="inbound",
            at=keys.stamp(now),
            activity_id=activity_id,
            original_bucket=original.bucket,
            original_key=original.key,
        )
        pk = keys.ticket_pk(ticket_id)
        thread = MailThreadItem(pk, keys.mail_thread_sk(now, message_id), message_id=message_id, address=None, at=keys.stamp(now))
        kept = InboundOriginalItem(
            keys.ticket_pk(ticket_id),
            keys.inbound_original_sk(activity_id),
            message_id=message_id,
            bucket=original.bucket,
            object_key=original.key,
            at=keys.stamp(now),
        )
        refused = AlreadyReceived("this message was already received")
        return [ConditionalPut(lookup, MessageIdItem.PK.does_not_exist(), refused), thread, kept]

    def original(self, ticket_id: str, activity_id: str | None) -> Original | None:
        """Where the raw message of an inbound comment (or of the ticket's first mail) is kept."""
        with translated():
            try:
                item = InboundOriginalItem.get(keys.ticket_pk(ticket_id), keys.inbound_original_sk(activity_id))
            except InboundOriginalItem.DoesNotExist:
                return None
        return Original(item.bucket, item.object_key)

    # -- the per-sender rate and parking ------------------------------------------------------
    def count_sender(self, address: str, message_key: str, now: datetime, window: timedelta, limit: int) -> int:
        """Count the message stored at `message_key` toward `address`'s messages in the current
        window; how many distinct messages it has now, or `limit + 1` once it is over the limit.
        A redelivered message (a retry after a failure) counts once. One UpdateItem ADD to a set
        of object keys, conditioned on the set being under the limit or holding this key, so the
        set stays at most `limit` keys however many messages a loop sends; the item expires two
        windows later."""
        seconds = int(window.total_seconds())
        start = datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, tz=now.tzinfo)
        item = MailRateItem(keys.mail_rate_pk(address), keys.stamp(start))
        room = (
            MailRateItem.messages.does_not_exist()
            | (size(MailRateItem.messages) < limit)
            | MailRateItem.messages.contains(message_key)
        )
        over = _OverRate()
        try:
            with translated(on_condition_failed=lambda: over):
                item.update(
                    actions=[MailRateItem.messages.add({message_key}), MailRateItem.ttl.set(start + 2 * window)],
                    condition=room,
                )
        except _OverRate:
            return limit + 1
        return len(item.messages or ())

    def park(self, original: Original, reason: str, now: datetime) -> None:
        """Record a message left unprocessed (idempotent per object: a redelivery rewrites it)."""
        item = ParkedMailItem(
            keys.MAIL_PARKED_PK,
            f"{keys.stamp(now)[:10]}#{original.key}",
            bucket=original.bucket,
            object_key=original.key,
            reason=reason,
            at=keys.stamp(now),
            ttl=now + PARKED_RETENTION,
        )
        with translated():
            item.save()

    def parked_reasons(self, original: Original) -> set[str]:
        """Why the message at `original` was parked (each time it was): one Query of the
        `MAIL#PARKED` partition filtered on the key (an admin's release, never a hot path)."""
        condition = ParkedMailItem.object_key == original.key
        with translated():
            return {str(item.reason) for item in ParkedMailItem.query(keys.MAIL_PARKED_PK, filter_condition=condition)}

    def parked(self, limit: int, after: str | None = None) -> tuple[list[dict[str, str]], str | None]:
        """Parked and suspended messages, oldest first: (bucket, key, reason, at) each, and the
        sort key to continue after (None: no more). One Query page of `MAIL#PARKED`."""
        start = {"PK": {"S": keys.MAIL_PARKED_PK}, "SK": {"S": after}} if after else None
        with translated():
            page = ParkedMailItem.query(keys.MAIL_PARKED_PK, limit=limit, last_evaluated_key=start)
            items = [{"bucket": i.bucket, "key": i.object_key, "reason": i.reason, "at": i.at, "position": i.SK} for i in page]
            last = page.last_evaluated_key
        return items, (last["SK"]["S"] if last else None)


class _OverRate(Conflict):
    """The sender's window holds `limit` other messages (count_sender's refused condition)."""


class _Taken(Conflict):
    """A conditional put found the item there (internal)."""


class RefusalNotices:
    """At most one refusal notice per stored message: a conditional put on `MAIL#REFUSED` before
    SES is called (a redelivered record sends none; a notice lost in a crash is not re-sent:
    one missing notice beats a bounce storm)."""

    def claim(self, original: Original, now: datetime) -> bool:
        item = ParkedMailItem(
            keys.MAIL_REFUSED_PK,
            original.key,
            bucket=original.bucket,
            object_key=original.key,
            reason="too_large",
            at=keys.stamp(now),
            ttl=now + PARKED_RETENTION,
        )
        try:
            with translated(on_condition_failed=_Taken):
                item.save(condition=ParkedMailItem.PK.does_not_exist())
        except _Taken:
            return False
        return True

    def release(self, original: Original) -> None:
        """SES failed before sending: the retry may claim it again (best effort)."""
        with contextlib.suppress(PynamoDBException):
            ParkedMailItem(keys.MAIL_REFUSED_PK, original.key).delete()


class RawMailStore:
    """The inbound bucket, read only under `inbound/` (the receipt rule's prefix and the role's)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def read(self, original: Original) -> bytes:
        """The raw message; MailTooLarge past 20 MB (without reading it), OriginalMissing when
        the object is gone; Throttled/Unavailable when a retry may work."""
        try:
            response = self._client.get_object(Bucket=original.bucket, Key=original.key)
            size = int(response.get("ContentLength") or 0)
            if size > MAX_MESSAGE_BYTES:
                response["Body"].close()
                raise MailTooLarge(f"the message is {size} bytes; at most {MAX_MESSAGE_BYTES} are accepted")
            return bytes(response["Body"].read(MAX_MESSAGE_BYTES + 1))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NoSuchBucket"):
                raise OriginalMissing(code) from exc
            if code in THROTTLING or code in ("SlowDown", "Throttling"):
                raise Throttled("S3 is throttling reads; retry shortly") from exc
            raise Unavailable(f"S3 refused the read ({code}); retry shortly") from exc
        except BotoCoreError as exc:
            raise Unavailable(f"S3 could not be reached ({type(exc).__name__})") from exc

    def head(self, original: Original, size: int = 64 * 1024) -> bytes:
        """The first `size` bytes (a refused message's headers: who to tell)."""
        try:
            response = self._client.get_object(Bucket=original.bucket, Key=original.key, Range=f"bytes=0-{size - 1}")
            return bytes(response["Body"].read(size))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NoSuchBucket"):
                raise OriginalMissing(code) from exc
            raise Unavailable(f"S3 refused the read ({code}); retry shortly") from exc
        except BotoCoreError as exc:
            raise Unavailable(f"S3 could not be reached ({type(exc).__name__})") from exc


class InboundFiles:
    """Attachments of inbound mail: the bytes go to the attachments bucket before the message's
    transaction; the records (`records`) commit in it. If the transaction fails, the objects stay
    without records (never listed, never downloadable): swept with the ticket's prefix when it is
    purged, or by listing `tickets/<id>/<attachment id>/` against its `ATT#` items."""

    def __init__(self, client: Any, bucket: Callable[[], str]) -> None:
        self._client = client
        self._bucket = bucket

    def store(self, ticket_id: str, attachment_id: str, filename: str, content_type: str, data: bytes) -> str:
        key = keys.attachment_object_key(ticket_id, attachment_id, filename)
        try:
            self._client.put_object(Bucket=self._bucket(), Key=key, Body=data, ContentType=content_type)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in THROTTLING or code in ("SlowDown", "Throttling"):
                raise Throttled("S3 is throttling writes; retry shortly") from exc
            raise Unavailable(f"S3 refused the write ({code}); retry shortly") from exc
        except BotoCoreError as exc:
            raise Unavailable(f"S3 could not be reached ({type(exc).__name__})") from exc
        return key

    @staticmethod
    def records(
        ticket_id: str, comment_id: str | None, files: Sequence[tuple[str, str, str, int, str]], uploader: str, now: datetime
    ) -> list[Record]:
        """Confirmed attachment items of one new message and its per-message count.
        `files`: (attachment id, filename, content type, size, object key)."""
        pk = keys.ticket_pk(ticket_id)
        items: list[Record] = [
            AttachmentItem(
                pk,
                keys.attachment_sk(attachment_id),
                id=attachment_id,
                ticket_id=ticket_id,
                comment_id=comment_id,
                filename=filename,
                content_type=content_type,
                size=size,
                visibility="public",
                object_key=object_key,
                uploaded_by=uploader,
                created_at=now,
                uploaded_at=now,
            )
            for attachment_id, filename, content_type, size, object_key in files
        ]
        if files:
            items.append(AttachmentCountItem(pk, keys.attachment_count_sk(comment_id), count=len(files)))
        return items
