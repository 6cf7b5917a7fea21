"""Attachments: allowed files, who may attach and see them, and the message that lists them."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from chalicelib.domain.activities import Activity
from chalicelib.domain.errors import Conflict, FieldError, NotAllowed, ValidationFailed
from chalicelib.domain.tickets import Ticket
from chalicelib.domain.visibility import Caller

# -- attachments ----------------------------------------------------------------------------
MAX_ATTACHMENT_BYTES = 512_000  # seed 002: "each at most 500 KB"
MAX_ATTACHMENTS_PER_MESSAGE = 5
# Seed 002's list. Each extension names the content types a browser sends for it.
ALLOWED_TYPES: Mapping[str, frozenset[str]] = {
    "csv": frozenset({"text/csv"}),
    "tsv": frozenset({"text/tab-separated-values"}),
    "xlsx": frozenset({"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}),
    "doc": frozenset({"application/msword"}),
    "docx": frozenset({"application/vnd.openxmlformats-officedocument.wordprocessingml.document"}),
    "pdf": frozenset({"application/pdf"}),
    "txt": frozenset({"text/plain"}),
    "jpg": frozenset({"image/jpeg"}),
    "jpeg": frozenset({"image/jpeg"}),
    "png": frozenset({"image/png"}),
    "gif": frozenset({"image/gif"}),
    "mp4": frozenset({"video/mp4"}),
    "mov": frozenset({"video/quicktime"}),
    "har": frozenset({"application/json", "application/har+json"}),
}


_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,199}$")


@dataclasses.dataclass(frozen=True)
class AttachmentRequest:
    filename: str
    content_type: str
    size: int


def validate_attachment(filename: str, content_type: str, size: int) -> AttachmentRequest:
    """422 per field: a safe file name with an allowed extension, a content type matching it,
    and 1 byte to 500 KB. The name becomes part of the S3 key, hence the narrow alphabet."""
    errors = []
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if not _FILENAME.fullmatch(filename) or ".." in filename:
        errors.append(FieldError("filename", "letters, digits, spaces and . _ - ( ) only, at most 200 characters"))
    elif extension not in ALLOWED_TYPES:
        errors.append(FieldError("filename", "allowed types: CSV TSV XLSX DOC DOCX PDF TXT JPG PNG GIF MP4 MOV HAR"))
    elif content_type.lower() not in ALLOWED_TYPES[extension]:
        errors.append(FieldError("content_type", f"a .{extension} file is {' or '.join(sorted(ALLOWED_TYPES[extension]))}"))
    if not 1 <= size <= MAX_ATTACHMENT_BYTES:
        errors.append(FieldError("size", f"must be 1 to {MAX_ATTACHMENT_BYTES} bytes (500 KB)"))
    if errors:
        raise ValidationFailed(errors)
    return AttachmentRequest(filename, content_type.lower(), size)


def check_attach(caller: Caller, ticket: Ticket, message: Activity | None) -> str:
    """Who may attach to which message; answers the visibility the file inherits.

    A file belongs to a message: the ticket's own first message (no `comment_id`) or a comment
    or note. Staff attach to any message; customers only to their own public replies, or to the
    ticket's first message if they requested it. Closed tickets take no new files.
    """
    if ticket.is_closed:
        raise Conflict("a closed ticket takes no new attachments; open a new ticket that references it")
    if message is None:
        if not caller.is_staff and ticket.requester_id != caller.user_id:
            raise NotAllowed("only the requester or staff attach files to the ticket itself")
        return "public"
    if message.type not in ("comment", "note") or message.is_deleted:
        raise ValidationFailed([FieldError("comment_id", "files attach to a reply or a note")])
    if not caller.is_staff and message.actor_id != caller.user_id:
        raise NotAllowed("customers attach files to their own replies")
    return "public" if message.is_public else "internal"


def attachment_visible(caller: Caller, visibility: str) -> bool:
    return caller.is_staff or visibility == "public"


def check_complete(caller: Caller, uploaded_by: str) -> None:
    """The uploader confirms their own upload; staff may confirm any they can see."""
    if not caller.is_staff and caller.user_id != uploaded_by:
        raise NotAllowed("only the uploader confirms an upload")


def check_uploaded(declared: tuple[int, str], stored: tuple[int, str] | None) -> None:
    """The file in storage is the one the slot was reserved for (size, content type)."""
    if stored is None:
        raise Conflict("the file is not uploaded yet: POST it to upload_url with upload_fields, then confirm")
    if stored != declared:
        raise Conflict(
            f"the uploaded file ({stored[0]} bytes, {stored[1]}) is not the declared one ({declared[0]} bytes, {declared[1]})"
        )


def with_attachment(message: Activity, summary: Mapping[str, Any]) -> Activity:
    """The reply or note listing one more uploaded file (once: a repeated confirm lists it once)."""
    if any(listed.get("id") == summary["id"] for listed in message.attachments):
        return message
    return dataclasses.replace(message, attachments=[*message.attachments, dict(summary)], version=(message.version or 0) + 1)
