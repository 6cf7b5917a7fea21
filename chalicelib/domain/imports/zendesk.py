"""Zendesk's export (the Support API's JSON: tickets with `comments` and `audits`, users,
organizations, groups, group memberships, ticket fields) mapped to our records.

Tables (docs/decisions.md, "Import from Zendesk and Freshdesk"): statuses `new`/`open` -> open,
`pending` and `hold` -> pending, `solved` -> resolved, `closed` -> closed; roles `end-user` ->
customer, `agent` -> agent, `admin` -> admin; an agent's `ticket_restriction` null -> access
`all`, `groups` -> `team`, anything else -> `assigned`; types `question` and `task` -> request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from chalicelib.domain.activities import Activity
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.imports import (
    SYSTEM_ACTOR,
    DirectoryRecord,
    ExistingUser,
    HistoryRecord,
    Plan,
    Refusal,
    Resolver,
    TicketRecord,
    UserBook,
    check_references,
    comment_activity,
    directory_id,
    external_ref,
    field_key,
    file_metadata,
    files_entry,
    items_of,
    keep,
    last_activity_status,
    organization_record,
    parse_time,
    reason_of,
    resolver,
    subject_of,
    team_record,
    ticket_id,
)
from chalicelib.domain.statuses import StatusCatalog
from chalicelib.domain.tickets import create_ticket, normalize_tags

SOURCE = "zendesk"

STATUSES = {"new": "open", "open": "open", "pending": "pending", "hold": "pending", "solved": "resolved", "closed": "closed"}
ROLES = {"end-user": "customer", "agent": "agent", "admin": "admin"}
ACCESS = {None: "all", "groups": "team"}  # any other restriction: the agent's assigned tickets
TYPES = {"question": "request", "incident": "incident", "problem": "problem", "task": "request"}
CHANNELS = {
    "email": "email",
    "web": "web",
    "web_form": "web",
    "web_widget": "web",
    "api": "api",
    "voice": "phone",
    "chat": "chat",
    "native_messaging": "chat",
}
PRIORITIES = ("low", "normal", "high", "urgent")
# Ticket fields that are properties of the ticket itself, not custom fields.
SYSTEM_FIELD_TYPES = frozenset({"subject", "description", "status", "tickettype", "priority", "group", "assignee"})


def map_export(export: Mapping[str, Any], existing: ExistingUser | None = None) -> Plan:
    """The whole plan of an export: `export` holds each endpoint's list under its own key;
    `existing` finds the directory's user of an address (one person per address)."""
    plan = Plan(SOURCE)
    keep(
        plan,
        plan.organizations,
        (organization_record(SOURCE, o, o.get("domain_names") or []) for o in items_of(export, "organizations")),
    )
    keep(plan, plan.teams, (_team(g) for g in items_of(export, "groups")))
    organization, team = resolver(SOURCE, plan.organizations), resolver(SOURCE, plan.teams)
    memberships: dict[str, list[str]] = {}
    for membership in items_of(export, "group_memberships"):
        team_id = team(membership.get("group_id"))
        if team_id is not None:
            memberships.setdefault(str(membership.get("user_id")), []).append(team_id)
    book = UserBook(plan, existing)
    for user in items_of(export, "users"):
        mapped = _user(user, organization, team, memberships)
        if isinstance(mapped, Refusal):
            plan.refused.append(mapped)
        else:
            book.add(mapped)
    users, staff = book.users(), book.staff()
    fields = {str(f.get("id")): f for f in items_of(export, "ticket_fields")}
    keep(
        plan,
        plan.tickets,
        (_ticket(raw, users, staff, organization, team, fields, plan.refused) for raw in items_of(export, "tickets")),
    )
    return plan


def _team(group: Mapping[str, Any]) -> DirectoryRecord | Refusal:
    created = parse_time(group.get("created_at"))
    if group.get("deleted") or created is None:
        return Refusal("team", str(group.get("id")), "deleted in Zendesk")
    return team_record(SOURCE, group, created)


def _user(
    user: Mapping[str, Any], organization: Resolver, team: Resolver, memberships: Mapping[str, list[str]]
) -> DirectoryRecord | Refusal:
    source_id = str(user.get("id"))
    role = ROLES.get(str(user.get("role")))
    created = parse_time(user.get("created_at"))
    if role is None:
        return Refusal("user", source_id, f"unknown role {user.get('role')!r}")
    if created is None or not user.get("name"):
        return Refusal("user", source_id, "no name or creation time")
    data: dict[str, Any] = {"role": role, "email": str(user.get("email") or "").lower(), "source": SOURCE}
    org = organization(user.get("organization_id"))
    if user.get("organization_id") is not None and org is None:
        return Refusal("user", source_id, f"unknown organization {user.get('organization_id')}")
    if org is not None:
        data["organization_id"] = org
        data["org_admin"] = role == "customer" and user.get("ticket_restriction") == "organization"
    if role == "agent":
        teams = memberships.get(source_id) or [t for t in [team(user.get("default_group_id"))] if t]
        data["team_ids"] = sorted(set(teams))
        data["access"] = ACCESS.get(user.get("ticket_restriction"), "assigned")
    if user.get("suspended") or user.get("active") is False:
        data["disabled"] = True
    return DirectoryRecord("user", directory_id(SOURCE, source_id), source_id, str(user["name"]), data, created)


def _custom_fields(raw: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for entry in raw.get("custom_fields") or []:
        definition = fields.get(str(entry.get("id")), {})
        if definition.get("type") in SYSTEM_FIELD_TYPES or entry.get("value") in (None, ""):
            continue
        values[field_key(definition.get("title"), entry.get("id"))] = entry["value"]
    return values


def _ticket(
    raw: Mapping[str, Any],
    users: Resolver,
    staff: Resolver,
    organization: Resolver,
    team: Resolver,
    fields: Mapping[str, Mapping[str, Any]],
    refused: list[Refusal],
) -> TicketRecord | Refusal:
    source_id = str(raw.get("id"))
    created, updated = parse_time(raw.get("created_at")), parse_time(raw.get("updated_at"))
    if created is None or updated is None:
        return Refusal("ticket", source_id, "no creation or update time")
    status = STATUSES.get(str(raw.get("status")))
    if status is None:
        return Refusal("ticket", source_id, f"unknown status {raw.get('status')!r}")
    requester = users(raw.get("requester_id"))
    if requester is None:
        return Refusal("ticket", source_id, f"unknown requester {raw.get('requester_id')}")
    unknown = check_references(
        source_id,
        raw.get("assignee_id"),
        users,
        staff,
        [
            ("team", raw.get("group_id"), team),
            ("organization", raw.get("organization_id"), organization),
        ],
    )
    if unknown is not None:
        return unknown
    cc_sources = list(dict.fromkeys([*(raw.get("collaborator_ids") or []), *(raw.get("email_cc_ids") or [])]))
    unknown_cc = [c for c in cc_sources if users(c) is None]
    if unknown_cc:
        return Refusal("ticket", source_id, f"unknown CC {unknown_cc[0]}")
    comments = sorted(items_of(raw, "comments"), key=lambda c: (parse_time(c.get("created_at")) or created, c.get("id") or 0))
    first = comments[0] if comments else None
    our_id = ticket_id(SOURCE, source_id)
    values = {
        "subject": subject_of(raw.get("subject") or raw.get("raw_subject")),
        "description": (first or {}).get("html_body") or raw.get("description") or "",
        "status": status,
        "priority": raw.get("priority") if raw.get("priority") in PRIORITIES else "normal",
        "type": TYPES.get(str(raw.get("type")), "request"),
        "channel": CHANNELS.get(str((raw.get("via") or {}).get("channel")), "api"),
        "assignee_id": staff(raw.get("assignee_id")),
        "team_id": team(raw.get("group_id")),
        "cc": [users(c) for c in cc_sources],
        "tags": list(raw.get("tags") or []),
        "custom_fields": _custom_fields(raw, fields),
    }
    try:
        ticket, initial = create_ticket(
            ticket_id=our_id,
            number=0,
            values=values,
            requester_id=requester,
            organization_id=organization(raw.get("organization_id")),
            catalog=StatusCatalog(),
            now=created,
        )
    except ValidationFailed as error:
        return Refusal("ticket", source_id, reason_of(error))
    followers = [f for f in (staff(f) for f in raw.get("follower_ids") or []) if f]
    ticket.followers = list(dict.fromkeys([*ticket.followers, *followers]))
    ticket.imported_from = external_ref(SOURCE, source_id)
    ticket.updated_at = ticket.last_activity_at = updated
    activities: list[Activity] = []
    if first is not None and first.get("attachments"):
        activities.append(files_entry(our_id, SOURCE, first.get("id"), created, _files(first)))
    for comment in comments[1:]:
        mapped = _comment(our_id, comment, users, created)
        if isinstance(mapped, Refusal):
            refused.append(replace(mapped, source_id=f"{source_id}/{mapped.source_id}"))
        else:
            activities.append(mapped)
    history = _history(raw, users, staff, organization, team, fields)
    if not history:  # no audit trail: the initial properties, as our own create records them
        history = [HistoryRecord(c.property, c.old, c.new, requester, created, 0) for c in initial]
    if ticket.status_category == "closed":
        ticket.closed_at = _closed_at(history) or updated
    ticket.activity_status = last_activity_status(ticket, activities)
    return TicketRecord(source_id, ticket, tuple(history), tuple(activities))


def _files(comment: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        file_metadata(a.get("file_name"), a.get("content_type"), a.get("size"), a.get("content_url"))
        for a in items_of(comment, "attachments")
        if not a.get("deleted")
    ]


def _comment(ticket: str, comment: Mapping[str, Any], users: Resolver, fallback: datetime) -> Activity | Refusal:
    source_id = str(comment.get("id"))
    author = users(comment.get("author_id"))
    if author is None:
        return Refusal("comment", source_id, f"unknown author {comment.get('author_id')}")
    fields: dict[str, Any] = {"source": SOURCE, "source_id": source_id}
    channel = (comment.get("via") or {}).get("channel")
    if channel:
        fields["channel"] = str(channel)
    files = _files(comment)
    if files:
        fields["files"] = files
    return comment_activity(
        ticket_id=ticket,
        source=SOURCE,
        source_id=source_id,
        author_id=author,
        public=bool(comment.get("public", True)),
        html=str(comment.get("html_body") or comment.get("body") or ""),
        at=parse_time(comment.get("created_at")) or fallback,
        fields=fields,
    )


def _history(
    raw: Mapping[str, Any],
    users: Resolver,
    staff: Resolver,
    organization: Resolver,
    team: Resolver,
    fields: Mapping[str, Mapping[str, Any]],
) -> list[HistoryRecord]:
    """The property history the audits carry: `Create` (old None) and `Change` events."""
    out: list[HistoryRecord] = []
    audits = sorted(items_of(raw, "audits"), key=lambda a: (str(a.get("created_at")), a.get("id") or 0))
    for index, audit in enumerate(audits):
        at = parse_time(audit.get("created_at"))
        if at is None:
            continue
        actor = users(audit.get("author_id")) or SYSTEM_ACTOR
        for seq, event in enumerate(items_of(audit, "events")):
            if event.get("type") not in ("Create", "Change"):
                continue
            mapped = _property(str(event.get("field_name")), event, users, staff, organization, team, fields)
            if mapped is None:
                continue
            name, old, new = mapped
            if old != new:
                out.append(HistoryRecord(name, old, new, actor, at, index * 1000 + seq))
    return out


def _property(
    name: str,
    event: Mapping[str, Any],
    users: Resolver,
    staff: Resolver,
    organization: Resolver,
    team: Resolver,
    fields: Mapping[str, Mapping[str, Any]],
) -> tuple[str, Any, Any] | None:
    """(our property, old, new) of one audit event; None for fields we do not keep."""
    new, old = event.get("value"), event.get("previous_value") if event.get("type") == "Change" else None
    simple: dict[str, Callable[[Any], Any]] = {
        "status": lambda v: STATUSES.get(str(v)),
        "priority": lambda v: v if v in PRIORITIES else None,
        "type": lambda v: TYPES.get(str(v)) if v else None,
        "subject": lambda v: v,
        "assignee_id": staff,
        "requester_id": users,
        "group_id": team,
        "organization_id": organization,
        "tags": lambda v: normalize_tags(_tag_list(v)) if v is not None else [],
    }
    ours = {"group_id": "team_id"}.get(name, name)
    if name in simple:
        convert = simple[name]
        return (
            ours,
            (convert(old) if old not in (None, "") else _empty(name)),
            (convert(new) if new not in (None, "") else _empty(name)),
        )
    definition = fields.get(name)
    if definition is not None and definition.get("type") not in SYSTEM_FIELD_TYPES:
        key = field_key(definition.get("title"), name)
        return "custom_fields", ({key: old} if old is not None else {}), ({key: new} if new is not None else {})
    return None


def _empty(name: str) -> Any:
    return [] if name == "tags" else None


def _tag_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    return [str(v) for v in value]


def _closed_at(history: Sequence[HistoryRecord]) -> datetime | None:
    closes = [h.at for h in history if h.property == "status" and h.new == "closed"]
    return closes[-1] if closes else None
