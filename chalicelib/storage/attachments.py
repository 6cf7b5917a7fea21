"""Attachment metadata (DynamoDB) and their files (S3, through presigned URLs only).

Keys (docs/data-model.md, "Attachments"): `TICKET#<id>` / `ATT#<attachment id>`, and one
counter per message `TICKET#<id>` / `ATTN#<comment id | ticket>`. Files never pass through the
API: the browser POSTs them to S3 with a presigned policy and downloads them with a presigned GET.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from chalicelib.domain.activities import Activity
from chalicelib.domain.errors import Conflict, FieldError, MalformedRequest, Unavailable, ValidationFailed, VersionConflict
from chalicelib.storage import keys
from chalicelib.storage.activities import to_item
from chalicelib.storage.base import Repository
from chalicelib.storage.errors import TransactionCancelled, store_failure, translated
from chalicelib.storage.models import ActivityItem, AttachmentCountItem, AttachmentItem, Record

UPLOAD_URL_SECONDS = 15 * 60
DOWNLOAD_URL_SECONDS = 5 * 60


@dataclasses.dataclass(frozen=True)
class Attachment:
    id: str
    ticket_id: str
    comment_id: str | None
    filename: str
    content_type: str
    size: int
    visibility: str
    object_key: str
    uploaded_by: str
    created_at: datetime
    uploaded_at: datetime | None = None  # None: reserved, the file not yet confirmed in S3


def _to_attachment(item: AttachmentItem) -> Attachment:
    return Attachment(
        id=item.id,
        ticket_id=item.ticket_id,
        comment_id=item.comment_id,
        filename=item.filename,
        content_type=item.content_type,
        size=int(item.size),
        visibility=item.visibility,
        object_key=item.object_key,
        uploaded_by=item.uploaded_by,
        created_at=item.created_at,
        uploaded_at=item.uploaded_at,
    )


class AttachmentRepository(Repository):
    def add(self, attachment: Attachment, per_message: int, also_put: Sequence[Record] = ()) -> None:
        """One transaction: the message's counter goes up by one only while below `per_message`,
        and the attachment is written with it (two racing uploads cannot both take the 5th slot),
        and `also_put` (its event)."""
        counter = AttachmentCountItem(keys.ticket_pk(attachment.ticket_id), keys.attachment_count_sk(attachment.comment_id))
        below_cap = AttachmentCountItem.count.does_not_exist() | (AttachmentCountItem.count < per_message)
        item = AttachmentItem(
            keys.ticket_pk(attachment.ticket_id),
            keys.attachment_sk(attachment.id),
            **{f.name: getattr(attachment, f.name) for f in dataclasses.fields(attachment)},
        )
        try:
            with translated(), self._transaction() as tx:
                tx.update(
                    counter,
                    actions=[AttachmentCountItem.kind.set(AttachmentCountItem), AttachmentCountItem.count.add(1)],
                    condition=below_cap,
                )
                tx.save(item, condition=AttachmentItem.PK.does_not_exist())
                for extra in also_put:
                    tx.save(extra)
        except TransactionCancelled as cancelled:
            if (counter.PK, counter.SK) in cancelled.failed_keys():
                raise ValidationFailed(
                    [FieldError("comment_id", f"a message has at most {per_message} attachments")]
                ) from cancelled
            if cancelled.transient:
                raise Unavailable("the message is being changed by another request; retry", retry_after=1) from cancelled
            raise Conflict("attachment id already exists") from cancelled

    def complete(
        self, attachment: Attachment, now: datetime, message: tuple[Activity, Activity] | None, also_put: Sequence[Record] = ()
    ) -> bool:
        """One transaction: the attachment is marked uploaded (once) and, for a reply or note,
        the message (`(read, with the file listed)`) is written conditioned on the version read.
        Answers False if another request completed it first; a changed message is VersionConflict."""
        item = AttachmentItem(keys.ticket_pk(attachment.ticket_id), keys.attachment_sk(attachment.id))
        try:
            with translated(), self._transaction() as tx:
                if message is not None:
                    old, new = message
                    same = (
                        ActivityItem.version == old.version if old.version is not None else ActivityItem.version.does_not_exist()
                    )
                    tx.save(to_item(new), condition=ActivityItem.PK.exists() & same)
                for extra in also_put:
                    tx.save(extra)
                tx.update(
                    item,
                    actions=[AttachmentItem.uploaded_at.set(now)],
                    condition=AttachmentItem.PK.exists() & AttachmentItem.uploaded_at.does_not_exist(),
                )
        except TransactionCancelled as cancelled:
            failed = cancelled.failed_keys()
            if (item.PK, item.SK) in failed:
                return False
            if failed:
                raise VersionConflict("the message changed meanwhile") from cancelled
            raise Unavailable("the message is being changed by another request; retry", retry_after=1) from cancelled
        return True

    def page(self, ticket_id: str, *, public_only: bool, limit: int, after: str | None) -> tuple[list[Attachment], str | None]:
        """Uploaded files of one ticket, oldest first: one Query on `ATT#` (ids sort by time),
        filtered to uploaded ones (and to public ones for customers)."""
        if after is not None and not after.startswith(keys.ATTACHMENT_PREFIX):
            raise MalformedRequest("cursor does not belong to this list")
        condition = AttachmentItem.SK.startswith(keys.ATTACHMENT_PREFIX)
        if after is not None:
            # Strictly above `after` (ids have no character below " "), still inside `ATT#`.
            condition = AttachmentItem.SK.between(after + " ", keys.ATTACHMENT_PREFIX + "\U0010ffff")
        shown = AttachmentItem.uploaded_at.exists()
        if public_only:
            shown = shown & (AttachmentItem.visibility == "public")
        with translated():
            results = AttachmentItem.query(
                keys.ticket_pk(ticket_id), condition, filter_condition=shown, limit=limit, page_size=limit
            )
            page = next(results.page_iter)
        items = [_to_attachment(AttachmentItem.from_raw_data(raw)) for raw in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return items, (last["SK"]["S"] if last else None)

    def find(self, ticket_ids: Sequence[str], attachment_id: str) -> Attachment | None:
        """The attachment under any of the tickets (a target and what was merged into it):
        one consistent BatchGetItem of every candidate key."""
        wanted = [{"PK": keys.ticket_pk(t), "SK": keys.attachment_sk(attachment_id)} for t in dict.fromkeys(ticket_ids)]
        with translated():
            response = AttachmentItem._get_connection().batch_get_item(wanted[:100], consistent_read=True)
        if response.get("UnprocessedKeys"):
            raise Unavailable("the data store is busy; retry shortly")
        raws = next(iter(response.get("Responses", {}).values()), [])
        return _to_attachment(AttachmentItem.from_raw_data(raws[0])) if raws else None


class FileStore:
    """Presigned S3 URLs for one bucket; the client is built on first use."""

    def __init__(self, s3_client: Callable[[], Any], bucket: Callable[[], str]) -> None:
        self._client = s3_client
        self._bucket = bucket

    def upload_form(self, object_key: str, content_type: str, size: int) -> dict[str, Any]:
        """A browser POST policy for exactly this key, this Content-Type and exactly `size` bytes
        (the declared size is the file's size: what the metadata and the 5-per-message cap count)."""
        try:
            return dict(
                self._client().generate_presigned_post(
                    Bucket=self._bucket(),
                    Key=object_key,
                    Fields={"Content-Type": content_type},
                    Conditions=[{"Content-Type": content_type}, ["content-length-range", size, size]],
                    ExpiresIn=UPLOAD_URL_SECONDS,
                )
            )
        except Exception as exc:  # botocore must not leak above storage
            raise Unavailable("file storage is unavailable; retry") from exc

    def stored(self, object_key: str) -> tuple[int, str] | None:
        """The uploaded file's size and Content-Type (one HeadObject), or None if nothing is there.
        A missing key is a 404 only with s3:ListBucket (the API role has it for `tickets/*`);
        without it S3 answers 403, which stays a failure rather than "not uploaded"."""
        try:
            head = self._client().head_object(Bucket=self._bucket(), Key=object_key)
        except Exception as exc:  # botocore must not leak above storage
            response = getattr(exc, "response", None) or {}
            if response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            raise store_failure(exc, "file storage") from exc  # throttled: 429, else 503
        return int(head["ContentLength"]), str(head.get("ContentType", ""))

    def delete_ticket_files(self, ticket_id: str) -> int:
        """Delete every uploaded file of a purged ticket (`tickets/<id>/…`); answers how many."""
        prefix = keys.attachment_prefix(ticket_id)
        deleted = 0
        try:
            pages = self._client().get_paginator("list_objects_v2").paginate(Bucket=self._bucket(), Prefix=prefix)
            for page in pages:
                objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if objects:
                    self._client().delete_objects(Bucket=self._bucket(), Delete={"Objects": objects, "Quiet": True})
                    deleted += len(objects)
        except Exception as exc:  # botocore must not leak above storage
            raise Unavailable("file storage is unavailable; retry") from exc
        return deleted

    def download_url(self, object_key: str, filename: str, content_type: str) -> str:
        try:
            return str(
                self._client().generate_presigned_url(
                    "get_object",
                    Params={
                        "Bucket": self._bucket(),
                        "Key": object_key,
                        "ResponseContentType": content_type,
                        "ResponseContentDisposition": f'attachment; filename="{filename}"',
                    },
                    ExpiresIn=DOWNLOAD_URL_SECONDS,
                )
            )
        except Exception as exc:
            raise Unavailable("file storage is unavailable; retry") from exc
