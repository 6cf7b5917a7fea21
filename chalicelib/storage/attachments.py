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

from chalicelib.domain.errors import Conflict, FieldError, Unavailable, ValidationFailed
from chalicelib.storage import keys
from chalicelib.storage.base import Repository
from chalicelib.storage.errors import TransactionCancelled, translated
from chalicelib.storage.models import AttachmentCountItem, AttachmentItem

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
    )


class AttachmentRepository(Repository):
    def add(self, attachment: Attachment, per_message: int) -> None:
        """One transaction: the message's counter goes up by one only while below `per_message`,
        and the attachment is written with it (two racing uploads cannot both take the 5th slot)."""
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
        except TransactionCancelled as cancelled:
            # PynamoDB sends puts before updates: the attachment is item 0, the counter item 1.
            if 1 in cancelled.failed_indexes():
                raise ValidationFailed(
                    [FieldError("comment_id", f"a message has at most {per_message} attachments")]
                ) from cancelled
            if cancelled.transient:
                raise Unavailable("the message is being changed by another request; retry", retry_after=1) from cancelled
            raise Conflict("attachment id already exists") from cancelled

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
