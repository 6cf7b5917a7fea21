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

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.imports import (
    DirectoryRecord,
    HistoryRecord,
    Plan,
    Refusal,
    TicketRecord,
    comment_activity,
    directory_id,
    external_ref,
    field_key,
    last_activity_status,
    mail_domains,
    parse_time,
    reason_of,
    resolver,
    subject_of,
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


def _items(export: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    return [item for item in export.get(name) or [] if isinstance(item, Mapping)]


def map_export(export: Mapping[str, Any]) -> Plan:
    plan = Plan(SOURCE)
    for company in _items(export, "companies"):
        created = parse_time(company.get("created_at"))
        if not company.get("name") or created is None:
            plan.refused.append(Refusal("organization", str(company.get("id")), "no name or creation time"))
            continue
        domains = {"domains": mail_domains(company.get("domains") or [])}
        plan.organizations.append(
            DirectoryRecord(
                "organization", directory_id(SOURCE, company["id"]), str(company["id"]), str(company["name"]), domains, created
            )
        )
    for group in _items(export, "groups"):
        created = parse_time(group.get("created_at")) or parse_time(group.get("updated_at"))
        if created is None:
            plan.refused.append(Refusal("team", str(group.get("id")), "no creation time"))
            continue
        description = {"description": str(group.get("description") or "")}
        record = DirectoryRecord(
            "team", directory_id(SOURCE, group["id"]), str(group["id"]), str(group.get("name")), description, created
        )
        plan.teams.append(record)
    organization, team = resolver(SOURCE, plan.organizations), resolver(SOURCE, plan.teams)
    admin_roles = {str(r.get("id")) for r in _items(export, "roles") if str(r.get("name", "")).lower() in ADMIN_ROLES}
    for agent in _items(export, "agents"):
        contact = agent.get("contact") or {}
        created = parse_time(agent.get("created_at"))
        if not contact.get("name") or created is None:
            plan.refused.append(Refusal("user", str(agent.get("id")), "no name or creation time"))
            continue
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
        plan.users.append(
            DirectoryRecord("user", directory_id(SOURCE, agent["id"]), str(agent["id"]), str(contact["name"]), data, created)
        )
    for contact in _items(export, "contacts"):
        source_id, created = str(contact.get("id")), parse_time(contact.get("created_at"))
        if not contact.get("name") or created is None:
            plan.refused.append(Refusal("user", source_id, "no name or creation time"))
            continue
        data = {"role": "customer", "email": str(contact.get("email") or "").lower(), "source": SOURCE}
        if contact.get("company_id") is not None:
            org = organization(contact.get("company_id"))
            if org is None:
                plan.refused.append(Refusal("user", source_id, f"unknown company {contact.get('company_id')}"))
                continue
            data["organization_id"], data["org_admin"] = org, bool(contact.get("view_all_tickets"))
        if contact.get("deleted") or contact.get("active") is False:
            data["disabled"] = True
        plan.users.append(
            DirectoryRecord("user", directory_id(SOURCE, source_id), source_id, str(contact["name"]), data, created)
        )
    users = resolver(SOURCE, plan.users)
    staff = resolver(SOURCE, [u for u in plan.users if u.data["role"] != "customer"])
    by_email = {u.data["email"]: u.id for u in plan.users if u.data.get("email")}
    for raw in _items(export, "tickets"):
        mapped = _ticket(raw, users, staff, organization, team, by_email, plan.refused)
        if isinstance(mapped, Refusal):
            plan.refused.append(mapped)
        else:
            plan.tickets.append(mapped)
    return plan


def _ticket(
    raw: Mapping[str, Any],
    users: Any,
    staff: Any,
    organization: Any,
    team: Any,
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
    for name, value, resolve in (
        ("assignee", raw.get("responder_id"), staff),
        ("team", raw.get("group_id"), team),
        ("organization", raw.get("company_id"), organization),
    ):
        if value is not None and resolve(value) is None:
            return Refusal("ticket", source_id, f"unknown {name} {value}")
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
    activities = []
    for conversation in sorted(_items(raw, "conversations"), key=lambda c: (str(c.get("created_at")), c.get("id") or 0)):
        author = users(conversation.get("user_id"))
        if author is None:
            refused.append(
                Refusal("comment", f"{source_id}/{conversation.get('id')}", f"unknown author {conversation.get('user_id')}")
            )
            continue
        files = [
            {
                "filename": str(a.get("name") or ""),
                "content_type": str(a.get("content_type") or ""),
                "size": int(a.get("size") or 0),
                "url": str(a.get("attachment_url") or ""),
            }
            for a in conversation.get("attachments") or []
        ]
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
