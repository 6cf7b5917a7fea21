"""Freshdesk's export (API v2 JSON: tickets with `conversations`, contacts, agents, roles,
companies, groups) mapped to our records.

Tables (docs/decisions.md, "Import from Zendesk and Freshdesk"): status 2 open, 3 pending,
4 resolved, 5 closed (other, custom numbers: pending); priority 1 low, 2 normal, 3 high,
4 urgent; source 1 and 10 email, 2 and 9 web, 3 phone, 7 chat, else api; an agent whose roles
include an administrator role is an admin; `ticket_scope` 1 -> access `all`, 2 -> `team`,
3 -> `assigned`; a contact with `view_all_tickets` is their company's org admin. Freshdesk has no
audit trail in its API: history is the initial properties, at the ticket's creation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.domain.activities import Activity
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.imports import (
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
from chalicelib.domain.tickets import create_ticket

SOURCE = "freshdesk"
STATUSES = {2: "open", 3: "pending", 4: "resolved", 5: "closed"}
PRIORITIES = {1: "low", 2: "normal", 3: "high", 4: "urgent"}
CHANNELS = {1: "email", 10: "email", 2: "web", 9: "web", 3: "phone", 7: "chat"}
TYPES = {"incident": "incident", "problem": "problem", "question": "request", "feature request": "change"}
ACCESS = {1: "all", 2: "team", 3: "assigned"}
ADMIN_ROLES = frozenset({"account administrator", "administrator"})


def map_export(export: Mapping[str, Any], existing: ExistingUser | None = None) -> Plan:
    """The whole plan of an export; `existing` finds the directory's user of an address."""
    plan = Plan(SOURCE)
    keep(
        plan, plan.organizations, (organization_record(SOURCE, c, c.get("domains") or []) for c in items_of(export, "companies"))
    )
    keep(plan, plan.teams, (_team(g) for g in items_of(export, "groups")))
    organization, team = resolver(SOURCE, plan.organizations), resolver(SOURCE, plan.teams)
    admin_roles = {str(r.get("id")) for r in items_of(export, "roles") if str(r.get("name", "")).lower() in ADMIN_ROLES}
    book = UserBook(plan, existing)
    # Agents first: an agent who is also a contact (one address) is the agent.
    for mapped in [
        *(_agent(a, team, admin_roles) for a in items_of(export, "agents")),
        *(_contact(c, organization) for c in items_of(export, "contacts")),
    ]:
        if isinstance(mapped, Refusal):
            plan.refused.append(mapped)
        else:
            book.add(mapped)
    users, staff = book.users(), book.staff()
    by_email = {u.data["email"]: u.id for u in plan.users if u.data.get("email")}
    keep(
        plan,
        plan.tickets,
        (_ticket(raw, users, staff, organization, team, by_email, plan.refused) for raw in items_of(export, "tickets")),
    )
    return plan


def _team(group: Mapping[str, Any]) -> DirectoryRecord | Refusal:
    created = parse_time(group.get("created_at")) or parse_time(group.get("updated_at"))
    if created is None:
        return Refusal("team", str(group.get("id")), "no creation time")
    return team_record(SOURCE, group, created)


def _agent(agent: Mapping[str, Any], team: Resolver, admin_roles: set[str]) -> DirectoryRecord | Refusal:
    """An agent with their `contact`: an administrator role makes an admin."""
    contact = agent.get("contact") or {}
    created = parse_time(agent.get("created_at"))
    if not contact.get("name") or created is None:
        return Refusal("user", str(agent.get("id")), "no name or creation time")
    admin = any(str(r) in admin_roles for r in agent.get("role_ids") or [])
    data: dict[str, Any] = {
        "role": "admin" if admin else "agent",
        "email": str(contact.get("email") or "").lower(),
        "source": SOURCE,
    }
    if not admin:
        data["team_ids"] = sorted({t for t in (team(g) for g in agent.get("group_ids") or []) if t})
        data["access"] = ACCESS.get(int(agent.get("ticket_scope") or 3), "assigned")
    if contact.get("active") is False:
        data["disabled"] = True
    return DirectoryRecord("user", directory_id(SOURCE, agent["id"]), str(agent["id"]), str(contact["name"]), data, created)


def _contact(contact: Mapping[str, Any], organization: Resolver) -> DirectoryRecord | Refusal:
    """A contact, a customer; `view_all_tickets` makes their company's org admin."""
    source_id, created = str(contact.get("id")), parse_time(contact.get("created_at"))
    if not contact.get("name") or created is None:
        return Refusal("user", source_id, "no name or creation time")
    data: dict[str, Any] = {"role": "customer", "email": str(contact.get("email") or "").lower(), "source": SOURCE}
    if contact.get("company_id") is not None:
        org = organization(contact.get("company_id"))
        if org is None:
            return Refusal("user", source_id, f"unknown company {contact.get('company_id')}")
        data["organization_id"], data["org_admin"] = org, bool(contact.get("view_all_tickets"))
    if contact.get("deleted") or contact.get("active") is False:
        data["disabled"] = True
    return DirectoryRecord("user", directory_id(SOURCE, source_id), source_id, str(contact["name"]), data, created)


def _ticket(
    raw: Mapping[str, Any],
    users: Resolver,
    staff: Resolver,
    organization: Resolver,
    team: Resolver,
    by_email: Mapping[str, str],
    refused: list[Refusal],
) -> TicketRecord | Refusal:
    source_id = str(raw.get("id"))
    created, updated = parse_time(raw.get("created_at")), parse_time(raw.get("updated_at"))
    if created is None or updated is None:
        return Refusal("ticket", source_id, "no creation or update time")
    requester = users(raw.get("requester_id"))
    if requester is None:
        return Refusal("ticket", source_id, f"unknown requester {raw.get('requester_id')}")
    unknown_reference = check_references(
        source_id,
        raw.get("responder_id"),
        users,
        staff,
        [
            ("team", raw.get("group_id"), team),
            ("organization", raw.get("company_id"), organization),
        ],
    )
    if unknown_reference is not None:
        return unknown_reference
    unknown = [e for e in raw.get("cc_emails") or [] if str(e).lower() not in by_email]
    if unknown:
        return Refusal("ticket", source_id, f"unknown CC {unknown[0]}")
    our_id = ticket_id(SOURCE, source_id)
    values = {
        "subject": subject_of(raw.get("subject")),
        "description": raw.get("description") or raw.get("description_text") or "",
        "status": STATUSES.get(int(raw.get("status") or 0), "pending"),
        "priority": PRIORITIES.get(int(raw.get("priority") or 0), "normal"),
        "type": TYPES.get(str(raw.get("type") or "").lower(), "request"),
        "channel": CHANNELS.get(int(raw.get("source") or 0), "api"),
        "assignee_id": staff(raw.get("responder_id")),
        "team_id": team(raw.get("group_id")),
        "cc": [by_email[str(e).lower()] for e in raw.get("cc_emails") or []],
        "tags": list(raw.get("tags") or []),
        "custom_fields": {
            field_key(k.removeprefix("cf_"), k): v for k, v in (raw.get("custom_fields") or {}).items() if v not in (None, "")
        },
    }
    try:
        ticket, initial = create_ticket(
            ticket_id=our_id,
            number=0,
            values=values,
            requester_id=requester,
            organization_id=organization(raw.get("company_id")),
            catalog=StatusCatalog(),
            now=created,
        )
    except ValidationFailed as error:
        return Refusal("ticket", source_id, reason_of(error))
    ticket.imported_from = external_ref(SOURCE, source_id)
    ticket.updated_at = ticket.last_activity_at = updated
    if ticket.status_category == "closed":
        ticket.closed_at = updated
    activities: list[Activity] = []
    description_files = [_file(a) for a in items_of(raw, "attachments")]
    if description_files:  # the description's attachments, as Zendesk's first comment's
        activities.append(files_entry(our_id, SOURCE, source_id, created, description_files))
    for conversation in sorted(items_of(raw, "conversations"), key=lambda c: (str(c.get("created_at")), c.get("id") or 0)):
        author = users(conversation.get("user_id"))
        if author is None:
            refused.append(
                Refusal("comment", f"{source_id}/{conversation.get('id')}", f"unknown author {conversation.get('user_id')}")
            )
            continue
        files = [_file(a) for a in items_of(conversation, "attachments")]
        fields: dict[str, Any] = {"source": SOURCE, "source_id": str(conversation.get("id"))}
        if files:
            fields["files"] = files
        activities.append(
            comment_activity(
                ticket_id=our_id,
                source=SOURCE,
                source_id=conversation.get("id"),
                author_id=author,
                public=not conversation.get("private"),
                html=str(conversation.get("body") or conversation.get("body_text") or ""),
                at=parse_time(conversation.get("created_at")) or created,
                fields=fields,
            )
        )
    ticket.activity_status = last_activity_status(ticket, activities)
    history = tuple(HistoryRecord(c.property, c.old, c.new, requester, created, seq) for seq, c in enumerate(initial))
    return TicketRecord(source_id, ticket, history, tuple(activities))


def _file(attachment: Mapping[str, Any]) -> dict[str, Any]:
    return file_metadata(
        attachment.get("name"), attachment.get("content_type"), attachment.get("size"), attachment.get("attachment_url")
    )
