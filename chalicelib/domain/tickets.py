"""The ticket record: its properties, creation, and property changes with their history."""

from __future__ import annotations

import dataclasses
import json
import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.domain.errors import Conflict, FieldError, ValidationFailed
from chalicelib.domain.markup import sanitize
from chalicelib.domain.pipelines import DEFAULT_PIPELINE, map_status, pipeline_of, require_in, start_status
from chalicelib.domain.statuses import StatusCatalog, check_move

PRIORITIES = ("low", "normal", "high", "urgent")
TYPES = ("incident", "problem", "request", "change")
CHANNELS = ("email", "chat", "phone", "conference", "web", "api")
ACTIVITY_STATUSES = ("unread", "read", "waiting_on_contact", "waiting_on_agent")
SENTIMENTS = ("positive", "neutral", "negative")

# Each CC and tag is one index entry, written in the ticket's own transaction (100 items
# at most), so their number is bounded; see docs/data-model.md.
MAX_TAGS = 15
MAX_CC = 15
SUBJECT_MAX = 250
DESCRIPTION_MAX = 65_536
# DynamoDB limits bytes (400 KB an item, 4 MB a transaction), the API counts characters. A text
# is stored in UTF-8 on its item and JSON-escaped (PynamoDB's JSONAttribute: \uXXXX, so a 4-byte
# emoji is 12 bytes) in history entries and system timeline entries, which hold it twice (old and
# new). So stored sizes are measured as escaped JSON, the largest of the copies (docs/data-model.md,
# "Sizes in bytes"): a description's history entry is at most 2 x 96 KiB.
DESCRIPTION_MAX_BYTES = 96 * 1024
# custom_fields is copied onto every list entry of the ticket (up to ~40 in one transaction).
MAX_CUSTOM_FIELDS = 50
CUSTOM_FIELDS_MAX_BYTES = 8 * 1024
# DynamoDB numbers carry 38 significant digits; JSON clients lose integers past 2**53 anyway.
CUSTOM_NUMBER_MAX = 10**38 - 1

# Properties a PATCH may change, in the order history entries are written.
EDITABLE = (
    "subject",
    "description",
    "pipeline_id",
    "status",
    "priority",
    "type",
    "channel",
    "requester_id",
    "organization_id",
    "assignee_id",
    "team_id",
    "cc",
    "tags",
    "custom_fields",
    "channel_details",
)
# Properties only agents and admins may set when creating a ticket.
# channel_details is what the channel recorded (the email thread, the chat transcript with
# support's side of it): customers writing it could forge "from support" entries.
AGENT_ONLY_ON_CREATE = (
    "requester_id", "organization_id", "assignee_id", "team_id", "status", "priority", "tags", "channel_details",
    "pipeline_id",
)  # fmt: skip


@dataclass(frozen=True)
class Change:
    property: str
    old: Any
    new: Any


@dataclass
class Ticket:
    id: str
    number: int
    subject: str
    description: str
    requester_id: str
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    status: str = "open"
    status_category: str = "open"
    # The pipeline whose statuses the ticket takes (domain.pipelines); stored only when not the default.
    pipeline_id: str = DEFAULT_PIPELINE
    priority: str = "normal"
    type: str = "request"
    channel: str = "api"
    organization_id: str | None = None
    assignee_id: str | None = None
    team_id: str | None = None
    cc: list[str] = field(default_factory=list)
    followers: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    custom_fields: dict[str, Any] = field(default_factory=dict)
    activity_status: str = "unread"
    sentiment: str | None = None
    escalation: dict[str, Any] | None = None
    sla: dict[str, Any] | None = None
    proxy_access: bool = False
    feedback: dict[str, Any] | None = None
    merged_into: str | None = None
    # Record actions (issue 3): related tickets, tickets merged into this one, time worked
    # (agent-only) and the channel's own fields (conference call, chat transcript, email thread).
    links: list[str] = field(default_factory=list)
    merged_from: list[str] = field(default_factory=list)
    # Of merged_from: tickets of another organization (an admin's forced merge), whose public
    # entries and files stay hidden from this ticket's customers.
    merged_staff_only: list[str] = field(default_factory=list)
    time_spent_minutes: int = 0
    channel_details: dict[str, Any] | None = None
    closed_at: datetime | None = None
    deleted_at: datetime | None = None
    # Display names as the directory had them when the person was set (list entries show them
    # without a second request; issue 11). Not properties: no history, not editable.
    requester_name: str | None = None
    assignee_name: str | None = None
    # `<source>:<number there>` on a ticket an import wrote (domain.imports): the ticket stream
    # routes nothing for it. None for tickets created here.
    imported_from: str | None = None
    version: int = 1

    @property
    def is_closed(self) -> bool:
        return self.status_category == "closed"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


def normalize_tags(tags: list[str]) -> list[str]:
    """Lowercased, trimmed, de-duplicated in first-seen order."""
    seen: dict[str, None] = {}
    for tag in tags:
        cleaned = tag.strip().lower()
        if cleaned:
            seen.setdefault(cleaned, None)
    return list(seen)


# Characters that show nothing: separators, controls, format characters (zero-width, bidi
# marks), surrogates, private use and unassigned code points.
_INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"})


def is_blank(text: str | None) -> bool:
    """True when no character of the text would show: empty, spaces, controls, zero-width marks."""
    return not text or all(unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in text)


def stored_bytes(value: Any) -> int:
    """Size of a value as the store's JSON copies hold it (ASCII, non-ASCII escaped)."""
    return len(json.dumps(value, ensure_ascii=True))


def _storable_number(value: float) -> bool:
    if isinstance(value, int):
        return abs(value) <= CUSTOM_NUMBER_MAX  # exact: never converted to a float
    return math.isfinite(value) and abs(value) <= CUSTOM_NUMBER_MAX


def _check_custom_fields(values: Mapping[str, Any]) -> None:
    errors = [
        FieldError(f"custom_fields.{key}", f"numbers are finite and at most {len(str(CUSTOM_NUMBER_MAX))} digits")
        for key, value in values.items()
        if not isinstance(value, bool) and isinstance(value, (int, float)) and not _storable_number(value)
    ]
    if len(values) > MAX_CUSTOM_FIELDS:
        errors.append(FieldError("custom_fields", f"at most {MAX_CUSTOM_FIELDS} fields"))
    elif not errors and stored_bytes(values) > CUSTOM_FIELDS_MAX_BYTES:
        errors.append(FieldError("custom_fields", f"at most {CUSTOM_FIELDS_MAX_BYTES} bytes as JSON (non-ASCII escaped)"))
    if errors:
        raise ValidationFailed(errors)


def _dedupe(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _check_bounds(values: Mapping[str, Any]) -> None:
    errors = []
    if len(values.get("tags") or []) > MAX_TAGS:
        errors.append(FieldError("tags", f"at most {MAX_TAGS} tags"))
    if len(values.get("cc") or []) > MAX_CC:
        errors.append(FieldError("cc", f"at most {MAX_CC} CC'd users"))
    if errors:
        raise ValidationFailed(errors)


def _normalized(values: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(values)
    if "subject" in out and is_blank(out["subject"]):
        raise ValidationFailed([FieldError("subject", "must contain visible text, not only spaces or control characters")])
    # The description is rich text shown to agents and customers: stored sanitized, like
    # comments. The subject is plain text and stays verbatim (clients escape it).
    if out.get("description") is not None:
        out["description"] = sanitize(out["description"])
        if stored_bytes(out["description"]) > DESCRIPTION_MAX_BYTES:
            message = f"at most {DESCRIPTION_MAX_BYTES} bytes once sanitized and JSON-escaped (an emoji counts 12)"
            raise ValidationFailed([FieldError("description", message)])
    if "tags" in out and out["tags"] is not None:
        out["tags"] = normalize_tags(out["tags"])
    if "cc" in out and out["cc"] is not None:
        out["cc"] = _dedupe(out["cc"])
    _check_bounds(out)
    return out


def _with_auto_follow(followers: list[str], assignee_id: str | None) -> list[str]:
    # The assignee follows the ticket by default (seed 000: "owners follow by default").
    if assignee_id and assignee_id not in followers:
        return [*followers, assignee_id]
    return followers


def create_ticket(
    *,
    ticket_id: str,
    number: int,
    values: Mapping[str, Any],
    requester_id: str,
    organization_id: str | None,
    catalog: StatusCatalog,
    now: datetime,
) -> tuple[Ticket, list[Change]]:
    """A new ticket and the history of its initial properties (old value None)."""
    fields = _normalized(values)
    pipeline = pipeline_of(catalog, fields.get("pipeline_id") or DEFAULT_PIPELINE)
    status = catalog.require(fields["status"]) if fields.get("status") else start_status(pipeline, catalog)
    require_in(pipeline, status)
    ticket = Ticket(
        id=ticket_id,
        number=number,
        subject=fields["subject"],
        description=fields["description"],
        requester_id=requester_id,
        organization_id=organization_id,
        created_at=now,
        updated_at=now,
        last_activity_at=now,
        status=status.name,
        status_category=status.category,
        pipeline_id=pipeline.id,
        priority=fields.get("priority") or "normal",
        type=fields.get("type") or "request",
        channel=fields.get("channel") or "api",
        assignee_id=fields.get("assignee_id"),
        team_id=fields.get("team_id"),
        cc=[c for c in fields.get("cc") or [] if c != requester_id],
        tags=fields.get("tags") or [],
        custom_fields=dict(fields.get("custom_fields") or {}),
        channel_details=fields.get("channel_details"),
        closed_at=now if status.category == "closed" else None,
    )
    _check_custom_fields(ticket.custom_fields)
    ticket.followers = _with_auto_follow([], ticket.assignee_id)
    history = [
        Change(name, None, getattr(ticket, name))
        for name in EDITABLE
        if getattr(ticket, name) not in (None, [], {}) and not (name == "pipeline_id" and pipeline.builtin)
    ]
    if ticket.followers:  # the assignee's auto-follow is a change like any follow (history entry)
        history.append(Change("followers", [], list(ticket.followers)))
    return ticket, history


def apply_patch(
    ticket: Ticket, values: Mapping[str, Any], *, catalog: StatusCatalog, now: datetime
) -> tuple[Ticket, list[Change]]:
    """The ticket after a property change, and one Change per property whose value moved."""
    unknown = [name for name in values if name not in EDITABLE]
    if unknown:
        raise ValidationFailed([FieldError(name, "is not an editable property") for name in unknown])
    if ticket.is_closed:
        raise Conflict("a closed ticket is read-only; open a new ticket that references it")
    fields = _normalized(values)
    if "requester_id" in fields and not fields["requester_id"]:
        raise ValidationFailed([FieldError("requester_id", "a ticket always has a requester")])
    if fields.get("pipeline_id") and fields["pipeline_id"] != ticket.pipeline_id:
        # A move between pipelines maps the status (the request's, or by category); one write.
        target_pipeline = pipeline_of(catalog, fields["pipeline_id"])
        fields["status"] = map_status(catalog.require(ticket.status), target_pipeline, catalog, fields.get("status")).name

    updated = dataclasses.replace(
        ticket,
        cc=list(ticket.cc),
        followers=list(ticket.followers),
        tags=list(ticket.tags),
        custom_fields=dict(ticket.custom_fields),
    )
    changes: list[Change] = []
    for name in EDITABLE:
        if name not in fields:
            continue
        new = fields[name]
        old = getattr(ticket, name)
        if name == "custom_fields":
            new = {**old, **new}
            new = {k: v for k, v in new.items() if v is not None}  # null removes a custom field
            _check_custom_fields(new)  # the merged fields are what is stored and copied
        if name == "cc":  # the requester is never also a CC
            new = [user for user in new if user != fields.get("requester_id", ticket.requester_id)]
        if new == old:
            continue
        if name == "status":
            target = catalog.require(new)
            require_in(pipeline_of(catalog, fields.get("pipeline_id") or ticket.pipeline_id, "status"), target)
            check_move(catalog.require(ticket.status), target)
            updated.status_category = target.category
            if target.category == "closed":
                updated.closed_at = now
        setattr(updated, name, new)
        changes.append(Change(name, old, new))

    if "requester_id" in fields and updated.requester_id in updated.cc and "cc" not in fields:
        old_cc = list(updated.cc)
        updated.cc = [user for user in old_cc if user != updated.requester_id]
        changes.append(Change("cc", old_cc, updated.cc))
    if not changes:
        return ticket, []
    if any(change.property == "assignee_id" for change in changes):
        # Only a new assignee follows by default; an assignee who unfollowed stays unfollowed.
        updated.followers = _with_auto_follow(updated.followers, updated.assignee_id)
        if updated.followers != ticket.followers:  # recorded like a follow (history entry)
            changes.append(Change("followers", list(ticket.followers), list(updated.followers)))
    updated.updated_at = now
    updated.version = ticket.version + 1
    return updated, changes
