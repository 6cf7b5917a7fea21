"""The timeline's entries: activity types and what each carries, who may see and edit them,
search text, comments on an activity, restoring, and property-change entries."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.bodies import plain_text, prepare_body
from chalicelib.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from chalicelib.domain.tickets import Change, is_blank
from chalicelib.domain.timestamps import iso
from chalicelib.domain.visibility import AGENT_ONLY_PROPERTIES, Caller

ACTIVITY_TYPES = ("comment", "note", "call", "meeting", "task", "email", "chat", "system", "time_entry", "proxy_access")
LOGGABLE_TYPES = ("call", "meeting", "task", "email", "note")
VISIBILITIES = ("public", "internal")
# Types that are agent-only whatever their `visibility` says (defence in depth: the public
# index should never hold them, and the customer view drops them if it ever did).
INTERNAL_TYPES = frozenset({"note", "task", "time_entry", "proxy_access"})
SUBJECT_MAX = 250
# Comments on an activity live on its item (400 KB item limit: body + search text + these).
MAX_ACTIVITY_COMMENTS = 50
ACTIVITY_COMMENT_MAX = 2_000
ACTIVITY_COMMENT_MAX_BYTES = 3 * 1024  # x MAX_ACTIVITY_COMMENTS on the activity item
RESTORE_WITHIN = timedelta(days=90)


@dataclass(frozen=True)
class TimelineFilter:
    """Residual filters of a timeline page (FilterExpressions on the one Query)."""

    type: str | None = None
    actor_id: str | None = None
    team_id: str | None = None
    q: str | None = None  # already lowercased
    deleted: bool = False  # True: only soft-deleted entries (agents restoring them)


# -- activities ------------------------------------------------------------------------
@dataclass
class Activity:
    """One timeline entry. `version` is None for entries written by workflows (never edited)."""

    id: str
    ticket_id: str
    type: str
    visibility: str
    actor_id: str
    at: datetime
    subject: str | None = None
    body: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    pinned: bool = False
    truncated: bool = False
    team_ids: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    notify: list[str] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    # Uploaded files of a reply or note, [{id, filename, content_type, size}] (the bytes are in S3).
    attachments: list[dict[str, Any]] = field(default_factory=list)
    edited_at: datetime | None = None
    deleted_at: datetime | None = None
    version: int | None = 1

    @property
    def is_public(self) -> bool:
        return self.visibility == "public" and self.type not in INTERNAL_TYPES

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def search_text(self) -> str | None:
        return search_text(self.type, self.subject, self.body)


# Seed 000: search covers task subject/body, note body, call body, email subject and meeting
# body; public replies (comments) are searchable by body too.
_SEARCHED: Mapping[str, tuple[bool, bool]] = {  # type -> (subject, body)
    "task": (True, True),
    "note": (False, True),
    "call": (False, True),
    "email": (True, False),
    "meeting": (False, True),
    "comment": (False, True),
}


def search_text(activity_type: str, subject: str | None, body: str | None) -> str | None:
    """Lowercased text `q` matches against (a `contains` filter), or None if not searchable."""
    with_subject, with_body = _SEARCHED.get(activity_type, (False, False))
    parts = []
    if with_subject and subject:
        parts.append(subject)
    if with_body and body:
        parts.append(plain_text(body))
    text = "\n".join(parts).lower()
    return text or None


def normalize_query(q: str) -> str:
    return q.strip().lower()


def visible_to(caller: Caller, activity: Activity) -> bool:
    """Staff see every activity of a ticket they see; others only public, undeleted ones."""
    if caller.is_staff:
        return True
    return activity.is_public and not activity.is_deleted


# -- property-change entries -----------------------------------------------------------------
def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    return value


def system_entries(changes: Sequence[Change]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Timeline entries for property changes: (visibility, changes) pairs.

    Changes of properties customers see on the ticket anyway (status, priority, assignee,
    subject, …) form one public entry, so a customer reads "status changed to pending";
    changes of agent-only properties (team, tags, followers) form one internal entry.
    """
    public = [c for c in changes if c.property not in AGENT_ONLY_PROPERTIES]
    internal = [c for c in changes if c.property in AGENT_ONLY_PROPERTIES]
    entries = []
    for visibility, group in (("public", public), ("internal", internal)):
        if group:
            rows = [{"property": c.property, "old": _json_safe(c.old), "new": _json_safe(c.new)} for c in group]
            entries.append((visibility, rows))
    return entries


def property_change_activities(
    ticket_id: str,
    changes: Sequence[Change],
    caller: Caller,
    at: datetime,
    new_id: Callable[[], str],
    event: str = "properties_changed",
) -> list[Activity]:
    """System timeline entries for a write's property changes (see `system_entries`)."""
    return [
        Activity(
            id=new_id(),
            ticket_id=ticket_id,
            type="system",
            visibility=visibility,
            actor_id=caller.user_id,
            at=at,
            fields={"event": event, "changes": rows},
            team_ids=actor_teams(caller),
        )
        for visibility, rows in system_entries(changes)
    ]


def actor_teams(caller: Caller) -> list[str]:
    """The teams an activity is filed under for the timeline's `team_id` filter."""
    return sorted(caller.teams) if caller.is_staff else []


# -- logged activities: the fields each type carries ---------------------------------------------
CALL_OUTCOMES = ("connected", "busy", "no_answer", "left_voicemail", "left_live_message", "wrong_number")
DIRECTIONS = ("inbound", "outbound")
MEETING_STATES = ("pending", "accepted", "declined", "cancelled")
TASK_STATUSES = ("not_started", "in_progress", "completed")
# type -> (required, optional) type-specific fields (`fields` of the activity).
TYPE_FIELDS: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    "call": (frozenset({"duration_seconds", "outcome"}), frozenset({"direction", "phone"})),
    "meeting": (frozenset({"start_at"}), frozenset({"end_at", "link", "code", "state"})),
    "task": (frozenset({"due_at"}), frozenset({"task_status"})),
    "email": (frozenset(), frozenset({"direction", "to"})),
    "note": (frozenset(), frozenset()),
    "comment": (frozenset(), frozenset()),
}


ALL_TYPE_FIELDS = frozenset().union(*(req | opt for req, opt in TYPE_FIELDS.values()))
_NEEDS_SUBJECT = frozenset({"task", "email"})
_NEEDS_BODY = frozenset({"note", "comment"})
_ALWAYS_INTERNAL = frozenset({"note", "task"})


def validate_activity(
    activity_type: str, visibility: str, subject: str | None, body: str | None, values: Mapping[str, Any]
) -> dict[str, Any]:
    """The type-specific `fields` of an activity, or ValidationFailed naming each bad field."""
    if activity_type not in TYPE_FIELDS:
        raise ValidationFailed([FieldError("type", "this activity type cannot be logged or edited")])
    required, optional = TYPE_FIELDS[activity_type]
    errors = [FieldError(name, f"is required for a {activity_type}") for name in sorted(required) if values.get(name) is None]
    errors += [
        FieldError(name, f"is not a field of a {activity_type}")
        for name in sorted(values)
        if name not in required | optional and values[name] is not None
    ]
    if activity_type in _NEEDS_SUBJECT and is_blank(subject):
        errors.append(FieldError("subject", f"is required for a {activity_type}"))
    if activity_type in _NEEDS_BODY and not (body or "").strip():
        errors.append(FieldError("body", f"is required for a {activity_type}"))
    if activity_type in _ALWAYS_INTERNAL and visibility != "internal":
        errors.append(FieldError("visibility", f"a {activity_type} is always internal"))
    start, end = values.get("start_at"), values.get("end_at")
    if isinstance(start, datetime) and isinstance(end, datetime) and end < start:
        errors.append(FieldError("end_at", "must not be before start_at"))
    if errors:
        raise ValidationFailed(errors)
    return {name: _json_safe(value) for name, value in values.items() if value is not None and name in required | optional}


def can_edit(caller: Caller, activity: Activity) -> bool:
    """Content is edited by its author (or an admin); workflow and system entries never."""
    if activity.type in ("system", "chat") or activity.version is None:
        return False
    return caller.is_admin or activity.actor_id == caller.user_id


def edit_activity(
    activity: Activity, *, subject: str | None, body: str | None, values: Mapping[str, Any], now: datetime
) -> tuple[Activity, dict[str, dict[str, Any]]]:
    """The activity after an edit, and {field: {"old", "new"}} of what changed (its revision)."""
    new_subject = activity.subject if subject is None else subject
    new_body = activity.body
    truncated = activity.truncated
    if body is not None:
        prepared = prepare_body(body)
        new_body, truncated = prepared.text, prepared.truncated
    merged = {**activity.fields, **{k: v for k, v in values.items() if v is not None}}
    fields = validate_activity(activity.type, activity.visibility, new_subject, new_body, merged)
    changed: dict[str, dict[str, Any]] = {}
    if new_subject != activity.subject:
        changed["subject"] = {"old": activity.subject, "new": new_subject}
    if new_body != activity.body:
        changed["body"] = {"old": activity.body, "new": new_body}
    for name in sorted(set(fields) | set(activity.fields)):
        if fields.get(name) != activity.fields.get(name):
            changed[name] = {"old": activity.fields.get(name), "new": fields.get(name)}
    if not changed:
        return activity, {}
    edited = dataclasses.replace(activity, subject=new_subject, body=new_body, truncated=truncated, fields=fields, edited_at=now)
    return edited, changed


def activity_comment(comment_id: str, caller: Caller, body: str, now: datetime, activity: Activity) -> dict[str, Any]:
    """A comment on an activity (agents' discussion of it; never shown to customers)."""
    if len(activity.comments) >= MAX_ACTIVITY_COMMENTS:
        raise Conflict(f"an activity holds at most {MAX_ACTIVITY_COMMENTS} comments")
    text = prepare_body(body, ACTIVITY_COMMENT_MAX, ACTIVITY_COMMENT_MAX_BYTES).text
    if not text.strip():
        raise ValidationFailed([FieldError("body", "is empty once unsafe markup is removed")])
    return {"id": comment_id, "actor_id": caller.user_id, "at": iso(now), "body": text}


def check_restorable(activity: Activity, now: datetime) -> None:
    if activity.deleted_at is not None and now - activity.deleted_at > RESTORE_WITHIN:
        raise NotFound("the activity was deleted more than 90 days ago and is purged")
