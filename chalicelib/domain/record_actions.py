"""Record actions on a ticket (issue 3): links, merge, proxy-login access, attachments, time
entries and channel details. Pure rules: no AWS, and `now` is passed in."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from chalicelib.domain.activities import Activity, actor_teams
from chalicelib.domain.errors import Conflict, FieldError, NotAllowed, ValidationFailed
from chalicelib.domain.markup import sanitize
from chalicelib.domain.tickets import MAX_CC, Change, Ticket
from chalicelib.domain.timestamps import iso
from chalicelib.domain.visibility import Caller

# -- links --------------------------------------------------------------------------------
# Each link is one id on both tickets, and both tickets are rewritten (with their list entries)
# when one is added: bounded so a ticket item and its copies stay small.
MAX_LINKS = 50


def _check_pair(a: Ticket, b: Ticket, action: str) -> None:
    if a.id == b.id:
        raise Conflict(f"a ticket cannot {action} itself")
    for ticket in (a, b):
        if ticket.merged_into is not None:
            raise Conflict(f"ticket {ticket.id} was merged into {ticket.merged_into}; use that ticket")


def with_link(ticket: Ticket, other_id: str, link: bool, now: datetime) -> tuple[Ticket, list[Change]]:
    """The ticket with `other_id` added to (or removed from) its links; no change if already so."""
    present = other_id in ticket.links
    if present == link:
        return ticket, []
    links = [*ticket.links, other_id] if link else [t for t in ticket.links if t != other_id]
    if len(links) > MAX_LINKS:
        raise Conflict(f"a ticket has at most {MAX_LINKS} links")
    updated = dataclasses.replace(ticket, links=links, updated_at=now, version=ticket.version + 1)
    return updated, [Change("links", list(ticket.links), links)]


def check_link(ticket: Ticket, other: Ticket) -> None:
    _check_pair(ticket, other, "be linked to")


# -- merge --------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Merge:
    target: Ticket
    target_changes: list[Change]
    source: Ticket
    source_changes: list[Change]


def crosses_organizations(target: Ticket, source: Ticket) -> bool:
    """Whether merging would put one organization's thread under another's (or no one's) ticket."""
    return target.organization_id != source.organization_id


def check_organizations(caller: Caller, target: Ticket, source: Ticket, *, force: bool) -> None:
    """A merge across organizations would show the source's replies and files to the target's
    customers: refused (409) unless an admin forces it, and then the source's thread stays
    staff-only on the target (`merge`)."""
    if not crosses_organizations(target, source):
        return
    if not force:
        raise Conflict("the tickets belong to different organizations; an admin can merge them with force")
    if not caller.is_admin:
        raise NotAllowed.for_fields(["force"], "only admins merge tickets of different organizations")


def merge(target: Ticket, source: Ticket, now: datetime) -> Merge:
    """The source merged into the target: the source is closed with `merged_into`; the target
    gains `merged_from` (the source and whatever was merged into it), its followers and CCs
    (the source's requester becomes a CC, so they keep receiving updates), its links and its
    time worked. Deleted tickets never reach here (they are not found).

    Across organizations (forced by an admin, `check_organizations`) nobody of the source gains
    the target: its CCs, requester and followers are not carried over, and the source with
    everything merged into it is `merged_staff_only` on the target."""
    _check_pair(target, source, "be merged into")
    if target.is_closed:
        raise Conflict("a closed ticket cannot receive a merge; it is read-only")
    apart = crosses_organizations(target, source)
    cc = list(dict.fromkeys([*target.cc, *([] if apart else [*source.cc, source.requester_id])]))
    cc = [user for user in cc if user != target.requester_id]
    if len(cc) > MAX_CC:
        raise ValidationFailed([FieldError("source_id", f"the merged ticket would have more than {MAX_CC} CC'd users")])
    followers = list(dict.fromkeys([*target.followers, *([] if apart else source.followers)]))
    links = [t for t in dict.fromkeys([*target.links, *source.links]) if t not in (target.id, source.id)]
    merged_from = list(dict.fromkeys([*target.merged_from, source.id, *source.merged_from]))
    staff_only = [*target.merged_staff_only, *([source.id, *source.merged_from] if apart else source.merged_staff_only)]
    new_target = dataclasses.replace(
        target,
        cc=cc,
        followers=followers,
        links=links[:MAX_LINKS],
        merged_from=merged_from,
        merged_staff_only=list(dict.fromkeys(staff_only)),
        time_spent_minutes=target.time_spent_minutes + source.time_spent_minutes,
        updated_at=now,
        last_activity_at=now,
        version=target.version + 1,
    )
    target_changes = [
        Change(name, getattr(target, name), getattr(new_target, name))
        for name in ("cc", "followers", "links", "merged_from", "merged_staff_only", "time_spent_minutes")
        if getattr(target, name) != getattr(new_target, name)
    ]
    new_source = dataclasses.replace(
        source,
        status="closed",
        status_category="closed",
        closed_at=source.closed_at or now,
        merged_into=target.id,
        updated_at=now,
        last_activity_at=now,
        version=source.version + 1,
    )
    source_changes = [
        Change(name, _plain(getattr(source, name)), _plain(getattr(new_source, name)))
        for name in ("status", "merged_into", "closed_at")
        if getattr(source, name) != getattr(new_source, name)
    ]
    return Merge(new_target, target_changes, new_source, source_changes)


def _plain(value: Any) -> Any:
    return iso(value) if isinstance(value, datetime) else value


def merge_activities(result: Merge, caller: Caller, now: datetime, target_entry_id: str, source_entry_id: str) -> list[Activity]:
    """One system entry on each timeline: customers of both tickets read that they merged, unless
    the tickets belong to different organizations (then the entries are internal: neither
    organization learns the other's ticket)."""
    target, source = result.target, result.source
    visibility = "internal" if source.id in target.merged_staff_only else "public"
    common = {"type": "system", "visibility": visibility, "actor_id": caller.user_id, "at": now, "team_ids": actor_teams(caller)}
    return [
        Activity(
            id=target_entry_id,
            ticket_id=target.id,
            fields={"event": "merged", "source_id": source.id, "source_number": source.number},
            **common,  # type: ignore[arg-type]
        ),
        Activity(
            id=source_entry_id,
            ticket_id=source.id,
            fields={"event": "merged_into", "target_id": target.id, "target_number": target.number},
            **common,  # type: ignore[arg-type]
        ),
    ]


# -- proxy-login access -------------------------------------------------------------------
def set_proxy_access(caller: Caller, ticket: Ticket, enabled: bool, now: datetime) -> tuple[Ticket, list[Change]]:
    """Seed 002: the requester toggles support's proxy login for this ticket. Turning it off
    stops future proxy logins; it does not end a session already open."""
    if ticket.requester_id != caller.user_id:
        raise NotAllowed("only the ticket's requester can change support's proxy-login access")
    if ticket.proxy_access == enabled:
        return ticket, []
    updated = dataclasses.replace(ticket, proxy_access=enabled, updated_at=now, version=ticket.version + 1)
    return updated, [Change("proxy_access", ticket.proxy_access, enabled)]


def proxy_audit_entry(ticket: Ticket, caller: Caller, enabled: bool, now: datetime, entry_id: str) -> Activity:
    """The audit entry of one toggle: type `proxy_access`, internal (agents only, never public)."""
    return Activity(
        id=entry_id,
        ticket_id=ticket.id,
        type="proxy_access",
        visibility="internal",
        actor_id=caller.user_id,
        at=now,
        fields={"event": "proxy_access_changed", "enabled": enabled},
    )


# -- time entries -------------------------------------------------------------------------
MAX_MINUTES = 24 * 60
TIME_NOTE_MAX = 2_000


def time_entry(caller: Caller, ticket: Ticket, minutes: int, note: str, billable: bool, now: datetime, entry_id: str) -> Activity:
    """Time worked: an internal `time_entry` activity (never public, whatever is asked)."""
    if not caller.is_staff:
        raise NotAllowed("only agents and admins log time")
    if not 1 <= minutes <= MAX_MINUTES:
        raise ValidationFailed([FieldError("minutes", f"must be 1 to {MAX_MINUTES}")])
    return Activity(
        id=entry_id,
        ticket_id=ticket.id,
        type="time_entry",
        visibility="internal",
        actor_id=caller.user_id,
        at=now,
        body=note or None,
        fields={"minutes": minutes, "billable": billable},
        team_ids=actor_teams(caller),
    )


def with_time(ticket: Ticket, minutes: int, now: datetime) -> tuple[Ticket, list[Change]]:
    total = ticket.time_spent_minutes + minutes
    updated = dataclasses.replace(ticket, time_spent_minutes=total, updated_at=now, version=ticket.version + 1)
    return updated, [Change("time_spent_minutes", ticket.time_spent_minutes, total)]


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


# -- channel details -------------------------------------------------------------------------
CHANNEL_DETAILS_MAX_BYTES = 64_000  # on the ticket item only (list copies leave it out)
CALL_STATES = ("pending", "accepted")
_HTTPS = re.compile(r"^https://[^\s<>\"']{1,2000}$")


def _text(value: Any, limit: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit


def _zoned_time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return parsed.tzinfo is not None


def _messages(value: Any, path: str, required: Mapping[str, Any], optional: Mapping[str, Any]) -> list[FieldError]:
    if not isinstance(value, list) or len(value) > 500:
        return [FieldError(path, "must be a list of at most 500 messages")]
    errors = []
    for i, message in enumerate(value):
        here = f"{path}[{i}]"
        if not isinstance(message, dict):
            errors.append(FieldError(here, "must be an object"))
            continue
        unknown = set(message) - set(required) - set(optional)
        errors += [FieldError(f"{here}.{k}", "unknown field") for k in sorted(unknown)]
        for name, check in required.items():
            if not check(message.get(name)):
                errors.append(FieldError(f"{here}.{name}", "missing or invalid"))
        for name, check in optional.items():
            if name in message and not check(message[name]):
                errors.append(FieldError(f"{here}.{name}", "invalid"))
    return errors


_SCHEMAS: Mapping[str, Mapping[str, tuple[bool, Any]]] = {
    # name -> (required, check). Seed 002: conference tickets show the scheduled time, call
    # state (pending/accepted), meeting link and code; chat the transcript; email the thread.
    "conference": {
        "scheduled_at": (True, _zoned_time),
        "call_state": (True, lambda v: v in CALL_STATES),
        "meeting_link": (False, lambda v: isinstance(v, str) and bool(_HTTPS.fullmatch(v))),
        "meeting_code": (False, lambda v: _text(v, 64)),
    },
    "phone": {
        "phone_number": (False, lambda v: _text(v, 40)),
        "direction": (False, lambda v: v in ("inbound", "outbound")),
        "duration_seconds": (False, lambda v: type(v) is int and 0 <= v <= 86_400),
    },
    "chat": {"transcript": (True, None)},
    "email": {"thread": (True, None), "subject": (False, lambda v: _text(v, 250))},
}
_Checks = Mapping[str, Callable[[Any], bool]]
_TRANSCRIPT: tuple[_Checks, _Checks] = (
    {"author": lambda v: _text(v, 200), "at": _zoned_time, "text": lambda v: _text(v, 10_000)},
    {},
)
_THREAD: tuple[_Checks, _Checks] = (
    {"from": lambda v: _text(v, 254), "at": _zoned_time, "body": lambda v: _text(v, 20_000)},
    {"to": lambda v: isinstance(v, list) and all(_text(x, 254) for x in v) and len(v) <= 50, "subject": lambda v: _text(v, 250)},
)


def validate_channel_details(channel: str, details: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The channel-specific fields of a ticket, checked against its channel (422 per field)."""
    if details is None:
        return None
    schema = _SCHEMAS.get(channel)
    if schema is None:
        raise ValidationFailed([FieldError("channel_details", f"the {channel} channel has no channel details")])
    errors = [FieldError(f"channel_details.{k}", "unknown field") for k in sorted(set(details) - set(schema))]
    for name, (required, check) in schema.items():
        path = f"channel_details.{name}"
        if name not in details:
            if required:
                errors.append(FieldError(path, f"required for {channel} tickets"))
            continue
        if name == "transcript":
            errors += _messages(details[name], path, *_TRANSCRIPT)
        elif name == "thread":
            errors += _messages(details[name], path, *_THREAD)
        elif not check(details[name]):
            errors.append(FieldError(path, "invalid"))
    if errors:
        raise ValidationFailed(errors)
    checked = _sanitized_messages(details)
    # Bytes as stored: JSON with \uXXXX escapes (PynamoDB's JSONAttribute), so a 4-byte emoji is 12.
    if len(json.dumps(checked).encode()) > CHANNEL_DETAILS_MAX_BYTES:
        raise ValidationFailed([FieldError("channel_details", f"at most {CHANNEL_DETAILS_MAX_BYTES} bytes as JSON")])
    return checked


# Rich text inside channel details (rendered like comments): the one sanitizer. Names, addresses
# and subjects stay plain text.
_RICH_MESSAGE_FIELDS = {"thread": "body", "transcript": "text"}


def _sanitized_messages(details: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(details)
    for name, rich in _RICH_MESSAGE_FIELDS.items():
        if name in out:
            out[name] = [{**message, rich: sanitize(message[rich])} for message in out[name]]
    return out
