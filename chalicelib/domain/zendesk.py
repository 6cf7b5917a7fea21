"""The Zendesk API's vocabulary, translated to ours and back (issue 13, "A Zendesk-compatible
API subset"). Pure: the `/api/v2/` routes call the same services as `/v1` and only rename here.

Zendesk numbers its tickets; a ticket's Zendesk `id` is our ticket `number` (the one in mail
subjects, `[#n]`). Users, organizations and groups keep our string ids (docs/decisions.md,
"Zendesk compatibility"). Statuses map through the status *category*, so custom statuses show
as the Zendesk status of their category, except a pending-category status named `hold` or
`on_hold`, which is Zendesk's `hold`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.errors import FieldError, ValidationFailed

# Our status category → Zendesk's status.
STATUS_OUT = {"open": "open", "pending": "pending", "resolved": "solved", "closed": "closed"}
HOLD_NAMES = frozenset({"hold", "on_hold"})
# Zendesk's status → the status we write (`hold` needs a custom pending status named `hold`).
STATUS_IN: Mapping[str, str] = {
    "new": "open",
    "open": "open",
    "pending": "pending",
    "hold": "hold",
    "solved": "resolved",
    "closed": "closed",
}
# Zendesk's status → the status category a search filters on (`hold`: by its status name).
CATEGORY_IN: Mapping[str, str] = {"new": "open", "open": "open", "pending": "pending", "solved": "resolved", "closed": "closed"}
# Zendesk's ticket types and ours (a Zendesk "question" is our "request", a "task" our "change").
TYPE_OUT = {"incident": "incident", "problem": "problem", "request": "question", "change": "task"}
TYPE_IN = {value: key for key, value in TYPE_OUT.items()}
PRIORITIES = ("low", "normal", "high", "urgent")
CHANNEL_OUT = {"email": "email", "chat": "chat", "phone": "voice", "web": "web", "api": "api", "conference": "api"}


def zendesk_time(value: datetime | str | None) -> str | None:
    """Zendesk's timestamps: ISO 8601 in UTC, to the second (`2026-12-01T16:42:58Z`)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def zendesk_status(status: str, category: str) -> str:
    if category == "pending" and status in HOLD_NAMES:
        return "hold"
    return STATUS_OUT.get(category, "open")


def status_in(value: str, field_name: str = "status") -> str:
    """The status name to write for a Zendesk status (`hold` needs a custom status of that name)."""
    if value not in STATUS_IN:
        raise ValidationFailed([FieldError(field_name, f"must be one of {', '.join(STATUS_IN)}")])
    return STATUS_IN[value]


def type_in(value: str | None) -> str | None:
    if value is None:
        return None
    if value not in TYPE_IN:
        raise ValidationFailed([FieldError("type", f"must be one of {', '.join(TYPE_IN)}")])
    return TYPE_IN[value]


def ticket_shape(ticket: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """A ticket as Zendesk's Tickets API shows it, from our ticket's fields (as `/v1` shows them
    to this caller: agent-only fields are absent for customers and stay absent here)."""
    number = ticket["number"]
    custom = ticket.get("custom_fields") or {}
    return {
        "id": number,
        "url": f"{base_url}/api/v2/tickets/{number}.json",
        "external_id": ticket["id"],
        "subject": ticket.get("subject"),
        "raw_subject": ticket.get("subject"),
        "description": ticket.get("description"),
        "status": zendesk_status(ticket.get("status", "open"), ticket.get("status_category", "open")),
        "priority": ticket.get("priority"),
        "type": TYPE_OUT.get(ticket.get("type", "")),
        "requester_id": ticket.get("requester_id"),
        "submitter_id": ticket.get("requester_id"),
        "assignee_id": ticket.get("assignee_id"),
        "organization_id": ticket.get("organization_id"),
        "group_id": ticket.get("team_id"),
        "collaborator_ids": list(ticket.get("cc") or []),
        "email_cc_ids": list(ticket.get("cc") or []),
        "follower_ids": list(ticket.get("followers") or []),
        "tags": list(ticket.get("tags") or []),
        "custom_fields": [{"id": key, "value": value} for key, value in sorted(custom.items())],
        "via": {"channel": CHANNEL_OUT.get(ticket.get("channel", "api"), "api")},
        "created_at": zendesk_time(ticket.get("created_at")),
        "updated_at": zendesk_time(ticket.get("updated_at")),
    }


def comment_shape(activity: Mapping[str, Any]) -> dict[str, Any]:
    """A reply or internal note as a Zendesk comment."""
    body = activity.get("body") or ""
    return {
        "id": activity["id"],
        "type": "Comment",
        "author_id": activity.get("actor_id"),
        "body": activity.get("text") or body,
        "html_body": body,
        "plain_body": activity.get("text") or body,
        "public": activity.get("visibility") == "public",
        "attachments": [],
        "created_at": zendesk_time(activity.get("created_at")),
    }


def user_shape(user: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    role = user.get("role", "customer")
    return {
        "id": user["id"],
        "url": f"{base_url}/api/v2/users/{user['id']}.json",
        "name": user.get("name"),
        "email": user.get("email"),
        "role": {"customer": "end-user", "agent": "agent", "admin": "admin"}.get(role, "end-user"),
        "organization_id": user.get("organization_id"),
        "active": not user.get("disabled", False),
        "suspended": bool(user.get("disabled", False)),
        "time_zone": user.get("time_zone"),
        "created_at": zendesk_time(user.get("created_at")),
        "updated_at": zendesk_time(user.get("updated_at")),
    }


def organization_shape(org: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    return {
        "id": org["id"],
        "url": f"{base_url}/api/v2/organizations/{org['id']}.json",
        "name": org.get("name"),
        "domain_names": list(org.get("domains") or []),
        "created_at": zendesk_time(org.get("created_at")),
        "updated_at": zendesk_time(org.get("updated_at")),
    }


# -- search ----------------------------------------------------------------------------
# `key:value` or `key>value`/`key<value`; values may be quoted.
_TERM = re.compile(r'(?P<key>[a-z_]+)(?P<op>[:<>]=?)(?P<value>"[^"]*"|\S+)')
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?)?$")
SEARCH_KEYS = ("type", "status", "priority", "requester", "assignee", "tags", "tag", "created", "group", "organization")
MAX_QUERY_CHARS = 1024


@dataclass(frozen=True)
class TicketSearch:
    """A `search.json` query as our list filters: every key is served by an index partition or
    a residual filter of `GET /v1/tickets` (domain.listing), `created>` by a key condition."""

    filters: dict[str, str] = field(default_factory=dict)
    created_after: datetime | None = None


def parse_search(query: str) -> TicketSearch:
    """`type:ticket status:open priority:high requester:alice assignee:none tags:vip
    created>2026-11-01`. Free text and other keys are refused (422), never silently dropped: a
    client asking for something we do not filter on must not get a wider result than it asked."""
    if len(query) > MAX_QUERY_CHARS:
        raise ValidationFailed([FieldError("query", f"at most {MAX_QUERY_CHARS} characters")])
    filters: dict[str, str] = {}
    created_after: datetime | None = None
    seen_type = False
    position = 0
    errors: list[FieldError] = []
    for token in query.split():
        position += 1
        match = _TERM.fullmatch(token)
        if match is None:
            errors.append(FieldError("query", f"full-text search is not supported: {token[:40]!r}"))
            continue
        key, op, value = match["key"], match["op"], match["value"].strip('"')
        if key not in SEARCH_KEYS:
            errors.append(FieldError("query", f"unsupported search key {key!r}; supported: {', '.join(SEARCH_KEYS)}"))
            continue
        if key == "created":
            if op not in (">", ">=") or not _DATE.fullmatch(value):
                errors.append(FieldError("query", "created supports only created>DATE or created>=DATE (ISO 8601)"))
                continue
            try:
                created_after = _parse_date(value)
            except ValueError:
                errors.append(FieldError("query", f"created: {value[:40]!r} is not a date"))
            continue
        if op != ":":
            errors.append(FieldError("query", f"{key} supports only {key}:value"))
            continue
        if key == "type":
            if value != "ticket":
                errors.append(FieldError("query", "only type:ticket is searchable"))
            seen_type = True
        elif key == "status":
            if value not in STATUS_IN:
                errors.append(FieldError("query", f"status must be one of {', '.join(STATUS_IN)}"))
                continue
            if value in CATEGORY_IN:
                filters["status_category"] = CATEGORY_IN[value]
            else:
                filters["status"] = STATUS_IN[value]
        elif key == "priority":
            if value not in PRIORITIES:
                errors.append(FieldError("query", f"priority must be one of {', '.join(PRIORITIES)}"))
                continue
            filters["priority"] = value
        elif key == "requester":
            filters["requester_id"] = value
        elif key == "assignee":
            filters["assignee_id"] = "-" if value == "none" else value
        elif key in ("tags", "tag"):
            filters["tag"] = value
        elif key == "group":
            filters["team_id"] = "-" if value == "none" else value
        elif key == "organization":
            filters["organization_id"] = value
    if not seen_type and position:
        errors.append(FieldError("query", "start the query with type:ticket (only tickets are searchable)"))
    if position == 0:
        errors.append(FieldError("query", "must not be empty"))
    if errors:
        raise ValidationFailed(errors)
    return TicketSearch(filters, created_after)


def _parse_date(value: str) -> datetime:
    if len(value) == 10:
        value += "T00:00:00"
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- errors ------------------------------------------------------------------------------
ERROR_TITLES = {
    400: ("InvalidEndpoint", "Bad request"),
    401: ("Couldn't authenticate you", None),
    403: ("Forbidden", "You do not have access to this page"),
    404: ("RecordNotFound", "Not found"),
    409: ("Conflict", "The record changed or is being changed; retry"),
    412: ("Conflict", "The record changed since you read it"),
    413: ("RequestEntityTooLarge", "The request is too large"),
    415: ("UnsupportedMediaType", "Send JSON"),
    422: ("RecordInvalid", "Record validation errors"),
    429: ("TooManyRequests", "Rate limit exceeded; retry after the Retry-After seconds"),
    503: ("ServiceUnavailable", "Try again shortly"),
}


def error_shape(status: int, detail: str | None, fields: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """Zendesk's error body: `{"error": ..., "description": ..., "details": {field: [...]}}`."""
    title, description = ERROR_TITLES.get(status, ("InternalError", "Something went wrong"))
    if status == 401:
        return {"error": title}
    body: dict[str, Any] = {"error": title, "description": detail or description}
    if fields:
        details: dict[str, list[dict[str, str]]] = {}
        for name, message in fields:
            details.setdefault(name, []).append({"description": message, "error": "InvalidValue"})
        body["details"] = details
    return body
