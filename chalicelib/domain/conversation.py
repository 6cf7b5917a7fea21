"""The conversation on a ticket: replies, internal notes and logged activities.

Rules kept here (pure, no AWS): who a reply counts as, how the activity status moves, what
a stored body may contain (sanitized, bounded), which activities customers may ever see,
what each activity type carries, property-change entries, closing and feedback, and the
quick-reply template language.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import nh3

from chalicelib.domain.errors import Conflict, FieldError, NotAllowed, NotFound, ValidationFailed
from chalicelib.domain.markup import sanitize
from chalicelib.domain.tickets import Change, Ticket, is_blank, stored_bytes
from chalicelib.domain.visibility import Caller, is_end_user_of

ACTIVITY_TYPES = ("comment", "note", "call", "meeting", "task", "email", "chat", "system", "time_entry", "proxy_access")
LOGGABLE_TYPES = ("call", "meeting", "task", "email", "note")
VISIBILITIES = ("public", "internal")
# Types that are agent-only whatever their `visibility` says (defence in depth: the public
# index should never hold them, and the customer view drops them if it ever did).
INTERNAL_TYPES = frozenset({"note", "task", "time_entry", "proxy_access"})
# Ticket properties customers never receive (api/views.AGENT_ONLY is built from this).
AGENT_ONLY_PROPERTIES = frozenset(
    {
        "team_id",
        "followers",
        "tags",
        "activity_status",
        "sentiment",
        "sla",
        "time_spent_minutes",
        "merged_from",
        "merged_staff_only",
    }
)

BODY_MAX = 65_536  # seed 004: "comments over 64K characters are truncated with an ellipsis"
# ...and at most this many bytes as stored JSON (an emoji counts 12, see domain.tickets): the
# activity item holds the body, its search text and its comments within DynamoDB's 400 KB.
BODY_MAX_BYTES = 96 * 1024
ELLIPSIS = "…"
SUBJECT_MAX = 250
MAX_NOTIFY = 10
# Comments on an activity live on its item (400 KB item limit: body + search text + these).
MAX_ACTIVITY_COMMENTS = 50
ACTIVITY_COMMENT_MAX = 2_000
ACTIVITY_COMMENT_MAX_BYTES = 3 * 1024  # x MAX_ACTIVITY_COMMENTS on the activity item
FEEDBACK_COMMENT_MAX = 5_000
FEEDBACK_COMMENT_MAX_BYTES = 16 * 1024  # on the ticket item
RESTORE_WITHIN = timedelta(days=90)

Relation = Literal["agent", "requester"]


@dataclass(frozen=True)
class TimelineFilter:
    """Residual filters of a timeline page (FilterExpressions on the one Query)."""

    type: str | None = None
    actor_id: str | None = None
    team_id: str | None = None
    q: str | None = None  # already lowercased
    deleted: bool = False  # True: only soft-deleted entries (agents restoring them)


# -- safe bodies: chalicelib.domain.markup.sanitize ------------------------------------


@dataclass(frozen=True)
class Body:
    text: str
    truncated: bool


def prepare_body(raw: str, limit: int = BODY_MAX, max_bytes: int = BODY_MAX_BYTES) -> Body:
    """The stored form of a body: sanitized, at most `limit` characters and `max_bytes` bytes as
    stored JSON, ending in `…` if cut (on a character boundary: a code point is never split).

    The cut is re-sanitized (it may split a tag or an entity), which can add closing tags,
    so the budget shrinks until the result fits.
    """
    clean = sanitize(raw)
    if len(clean) <= limit and stored_bytes(clean) <= max_bytes:
        return Body(clean, False)
    budget = _chars_within(clean[: limit - len(ELLIPSIS)], max_bytes - stored_bytes(ELLIPSIS))
    while True:
        cut = sanitize(clean[:budget])
        over_chars = len(cut) + len(ELLIPSIS) - limit
        over_bytes = stored_bytes(cut + ELLIPSIS) - max_bytes
        if over_chars <= 0 and over_bytes <= 0:
            return Body(cut + ELLIPSIS, True)
        budget -= max(1, over_chars, over_bytes // 12)


def _chars_within(text: str, max_bytes: int) -> int:
    """How many leading characters of `text` fit in `max_bytes` bytes of stored JSON."""
    if stored_bytes(text) <= max_bytes:
        return len(text)
    used = 2  # the quotes
    for count, ch in enumerate(text):
        used += len(json.dumps(ch)) - 2
        if used > max_bytes:
            return count
    return len(text)


def plain_text(body: str) -> str:
    """The text of a sanitized body, without tags or character references."""
    return html.unescape(nh3.clean(body, tags=set()))


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


# -- who a reply counts as, and the activity status ----------------------------------------
def author_relation(caller: Caller, ticket: Ticket) -> Relation:
    """Seed 004: a reply counts as the end user's or the technician's by the author's relation
    to the ticket: the assigned agent is staff; the requester or a CC'd user (even an agent
    who opened a ticket for themself) is the end user; other staff are staff."""
    if caller.is_staff and ticket.assignee_id == caller.user_id:
        return "agent"
    if is_end_user_of(caller, ticket):
        return "requester"
    return "agent" if caller.is_staff else "requester"


def activity_status_after_reply(current: str, relation: Relation, visibility: str) -> str:
    """Agent public reply → waiting on contact; end-user reply → waiting on agent; an agent's
    internal note means the ticket was read (unread → read) and waits as before."""
    if relation == "requester":
        return "waiting_on_agent" if visibility == "public" else current
    if visibility == "public":
        return "waiting_on_contact"
    return "read" if current == "unread" else current


def activity_status_on_open(caller: Caller, ticket: Ticket) -> str | None:
    """The new activity status when `caller` opens the ticket, or None (nothing to write)."""
    if caller.is_staff and ticket.assignee_id == caller.user_id and ticket.activity_status == "unread":
        return "read"
    return None


# -- comments --------------------------------------------------------------------------
def closed_notice(ticket: Ticket) -> str:
    """Seed 002: a closed ticket points the customer to a new ticket that references it."""
    return (
        f"Ticket #{ticket.number} is closed. To follow up, open a new ticket and reference "
        f"ticket #{ticket.number} (id {ticket.id})."
    )


def check_comment(
    caller: Caller, ticket: Ticket, *, visibility: str, status: str | None, notify: Sequence[str], cc: Sequence[str] = ()
) -> Relation:
    """Whether the caller may post this comment; the relation it counts as. Of the customers,
    only the requester adds CCs (a CC'd user may not widen who reads the ticket)."""
    if not caller.is_staff:
        cc_by_other = bool(cc) and ticket.requester_id != caller.user_id
        given_fields = (("status", status is not None), ("notify", bool(notify)), ("cc", cc_by_other))
        forbidden = [name for name, given in given_fields if given]
        if visibility != "public":
            forbidden.insert(0, "visibility")
        if forbidden:
            raise NotAllowed.for_fields(forbidden, "customers post public replies only")
        if not is_end_user_of(caller, ticket):
            # Seed 002: a ticket submitted by someone else cannot be replied to (org admins
            # read their organization's tickets but answer only their own or where CC'd).
            raise NotAllowed("only the ticket's requester and CC'd users can reply to it")
    if notify and visibility != "internal":
        raise ValidationFailed([FieldError("notify", "@notify is for internal notes")])
    if len(notify) > MAX_NOTIFY:
        raise ValidationFailed([FieldError("notify", f"at most {MAX_NOTIFY} agents")])
    if ticket.is_closed and visibility == "public":
        raise Conflict(closed_notice(ticket))
    return author_relation(caller, ticket)


def check_cc_by_customer(caller: Caller, organization_id: str | None, cc_orgs: Sequence[tuple[str, str | None]]) -> None:
    """Customers CC only users of the ticket's organization: anyone CC'd reads its public thread.
    `cc_orgs` is each requested user with their organization (None: none, or no such user, one
    answer for both so the check is no directory oracle). Staff CC whom they decide."""
    if caller.is_staff:
        return
    errors = [
        FieldError(f"cc[{i}]", "customers CC users of the ticket's organization only")
        for i, (_, org) in enumerate(cc_orgs)
        if organization_id is None or org != organization_id
    ]
    if errors:
        raise ValidationFailed(errors)


def comment_type(visibility: str) -> str:
    """A public reply is a `comment`; an internal one is a `note` (seed 004)."""
    return "comment" if visibility == "public" else "note"


def merged_cc(ticket: Ticket, added: Sequence[str]) -> list[str]:
    """The ticket's CC list after a comment CCs more users (the requester is never a CC)."""
    merged = list(ticket.cc)
    for user in added:
        if user != ticket.requester_id and user not in merged:
            merged.append(user)
    return merged


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


# -- close and feedback -----------------------------------------------------------------
def check_close(caller: Caller, ticket: Ticket) -> None:
    """Seed 002: the ticket's owner closes it: its requester, their org admin, or staff."""
    if ticket.is_closed:
        raise Conflict(closed_notice(ticket))
    if caller.is_staff or ticket.requester_id == caller.user_id:
        return
    if caller.org_admin and caller.org_id is not None and caller.org_id == ticket.organization_id:
        return
    raise NotAllowed("only the requester, their organization's admin or an agent can close a ticket")


def feedback_record(caller: Caller, ticket: Ticket, rating: int, comment: str, now: datetime) -> dict[str, Any]:
    """The feedback a requester leaves once on a closed ticket."""
    if ticket.requester_id != caller.user_id:
        raise NotAllowed("only the ticket's requester can leave feedback")
    if not ticket.is_closed:
        raise Conflict("feedback is for closed tickets; close the ticket first")
    if ticket.feedback is not None:
        raise Conflict("feedback was already left for this ticket; thank you")
    if not 1 <= rating <= 5:
        raise ValidationFailed([FieldError("rating", "must be 1 to 5")])
    text = prepare_body(comment, FEEDBACK_COMMENT_MAX, FEEDBACK_COMMENT_MAX_BYTES).text
    return {"rating": rating, "comment": text, "created_at": iso(now)}


def with_follower(ticket: Ticket, user_id: str, follow: bool, now: datetime) -> tuple[Ticket, list[Change]]:
    """The ticket after `user_id` follows or unfollows it; no change if already so."""
    following = user_id in ticket.followers
    if following == follow:
        return ticket, []
    followers = [*ticket.followers, user_id] if follow else [u for u in ticket.followers if u != user_id]
    updated = dataclasses.replace(ticket, followers=followers, updated_at=now, version=ticket.version + 1)
    return updated, [Change("followers", list(ticket.followers), followers)]


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


# -- quick-reply templates -----------------------------------------------------------------
# Placeholders are data, never code: `{{ path }}` is looked up in a fixed table of values
# and the value is inserted HTML-escaped, in one pass (a value that itself looks like a
# placeholder stays text). There are no expressions, filters, loops or attribute access.
PLACEHOLDERS = (
    "ticket.id",
    "ticket.number",
    "ticket.subject",
    "ticket.status",
    "ticket.priority",
    "ticket.type",
    "requester.name",
    "requester.email",
    "agent.name",
    "agent.email",
)
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_PATH = re.compile(r"^\s*([a-z_]+(?:\.[a-z_]+)*)\s*$")


def check_template(body: str) -> None:
    """Every `{{ … }}` names a known placeholder (422 at template creation otherwise)."""
    errors = []
    for match in _PLACEHOLDER.finditer(body):
        path = _PATH.match(match.group(1))
        if path is None or path.group(1) not in PLACEHOLDERS:
            errors.append(FieldError("body", f"unknown placeholder {match.group(0)!r}; known: {', '.join(PLACEHOLDERS)}"))
    if errors:
        raise ValidationFailed(errors)


def template_values(ticket: Ticket, requester: Mapping[str, Any], agent: Caller) -> dict[str, str]:
    return {
        "ticket.id": ticket.id,
        "ticket.number": str(ticket.number),
        "ticket.subject": ticket.subject,
        "ticket.status": ticket.status,
        "ticket.priority": ticket.priority,
        "ticket.type": ticket.type,
        "requester.name": str(requester.get("name") or ""),
        "requester.email": str(requester.get("email") or ""),
        "agent.name": agent.name or agent.user_id,
        "agent.email": agent.email,
    }


def render_template(body: str, values: Mapping[str, str]) -> str:
    """The template with each placeholder replaced by its escaped value, then sanitized."""

    def value(match: re.Match[str]) -> str:
        path = _PATH.match(match.group(1))
        if path is None or path.group(1) not in values:
            return match.group(0)
        return html.escape(values[path.group(1)], quote=True)

    return sanitize(_PLACEHOLDER.sub(value, body))


# -- time ------------------------------------------------------------------------------
def iso(value: datetime) -> str:
    """RFC 3339 UTC with milliseconds and `Z` (the API's timestamp format)."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
