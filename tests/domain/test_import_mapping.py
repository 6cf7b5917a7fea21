"""The pure mapping of a Zendesk export (chalicelib/domain/imports): what is created, what is refused and why."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from chalicelib.domain.imports import ticket_id, zendesk
from tests.conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "imports" / "zendesk"


def export() -> dict[str, Any]:
    return {path.stem: json.loads(path.read_text())[path.stem] for path in FIXTURE.glob("*.json")}


def ticket_of(plan: Any, source_id: str) -> Any:
    return next(t for t in plan.tickets if t.source_id == source_id)


def test_roles_and_ticket_restrictions_map_to_roles_and_access():
    users = {u.source_id: u.data for u in zendesk.map_export(export()).users}
    assert users["900000"]["role"] == "admin"
    assert (users["900001"]["role"], users["900001"]["access"], users["900001"]["team_ids"]) == (
        "agent",
        "team",
        ["zendesk-360002926638"],
    )
    assert (users["900002"]["access"], len(users["900002"]["team_ids"])) == ("assigned", 2)
    assert (users["700001"]["role"], users["700001"]["org_admin"]) == ("customer", True)  # restriction: organization
    assert users["700002"]["org_admin"] is False
    assert users["700003"]["disabled"] is True  # suspended


STATUSES = [("new", "open"), ("open", "open"), ("pending", "pending"), ("hold", "pending"), ("solved", "resolved")]


@pytest.mark.parametrize(("zendesk_status", "ours"), [*STATUSES, ("closed", "closed")])
def test_each_zendesk_status_has_one_of_ours(zendesk_status, ours):
    data = export()
    data["tickets"] = [dict(data["tickets"][1], status=zendesk_status)]
    assert zendesk.map_export(data).tickets[0].ticket.status == ours


def test_every_refused_record_says_why():
    data = export()
    big = copy.deepcopy(data["tickets"][1])
    big["id"], big["comments"][0]["html_body"] = 105, "😀" * 9_000  # 108 KB as stored JSON
    tagged = dict(copy.deepcopy(data["tickets"][1]), id=106, tags=[f"t{i}" for i in range(16)])
    data["tickets"] += [big, tagged]
    refused = {(r.kind, r.source_id): r.reason for r in zendesk.map_export(data).refused}
    assert refused[("user", "700004")] == "unknown role 'light-agent'"
    assert refused[("ticket", "103")] == "unknown requester 123456789"
    assert refused[("comment", "104/5303")] == "unknown author 123456789"
    assert refused[("ticket", "105")].startswith("description: at most 98304 bytes")
    assert refused[("ticket", "106")] == "tags: at most 15 tags"


def test_comments_follow_the_description_in_order_public_as_replies_private_as_notes():
    record = ticket_of(zendesk.map_export(export()), "101")
    conversation = [(a.type, a.visibility, a.actor_id, a.at.isoformat()) for a in record.activities if a.type != "system"]
    assert conversation == [
        ("note", "internal", "zendesk-900001", "2023-03-01T10:15:00+00:00"),
        ("comment", "public", "zendesk-900001", "2023-03-02T16:30:00+00:00"),
    ]
    assert "<script>" not in record.activities[-1].body
    assert record.ticket.id == ticket_id("zendesk", 101) and record.ticket.imported_from == "zendesk:101"


def test_audits_become_history_with_their_authors_and_times_and_automations_act_as_system():
    plan = zendesk.map_export(export())
    changes = [(h.property, h.old, h.new, h.actor_id) for h in ticket_of(plan, "101").history if h.old not in (None, [], {})]
    assert changes == [
        ("priority", "normal", "high", "zendesk-900001"),
        ("status", "open", "resolved", "zendesk-900001"),
        ("tags", ["csv", "export"], ["csv", "export", "fixed"], "zendesk-900001"),
    ]
    closed = ticket_of(plan, "104")
    assert [(h.old, h.new, h.actor_id) for h in closed.history if h.property == "status"][-1] == ("resolved", "closed", "system")
    assert closed.ticket.closed_at is not None and closed.ticket.closed_at.isoformat() == "2022-12-01T09:00:00+00:00"


def test_the_same_export_maps_to_the_same_ids_every_time():
    first, second = zendesk.map_export(export()), zendesk.map_export(export())
    assert [t.ticket.id for t in first.tickets] == [t.ticket.id for t in second.tickets]
    assert [a.id for t in first.tickets for a in t.activities] == [a.id for t in second.tickets for a in t.activities]


FRESHDESK = ROOT / "tests" / "fixtures" / "imports" / "freshdesk"


def freshdesk_export() -> dict[str, Any]:
    return {path.stem: json.loads(path.read_text())[path.stem] for path in FRESHDESK.glob("*.json")}


def test_a_freshdesk_descriptions_attachments_are_kept_as_metadata_with_their_url():
    from chalicelib.domain.imports import freshdesk

    source = freshdesk_export()
    attachment = {"id": 12, "name": "log.txt", "content_type": "text/plain", "size": 300, "attachment_url": "https://x/12"}
    source["tickets"][0]["attachments"] = [attachment]
    record = next(t for t in freshdesk.map_export(source).tickets if t.source_id == "20")
    entry = record.activities[0]
    assert (entry.type, entry.visibility, entry.fields["event"]) == ("system", "internal", "imported_files")
    assert entry.fields["files"] == [{"filename": "log.txt", "content_type": "text/plain", "size": 300, "url": "https://x/12"}]


def test_an_address_the_directory_has_is_that_user_with_its_role_and_the_tickets_name_it():
    directory = {"sam@acme.example": ("sam", "agent"), "carol@globex.example": ("carol", "customer")}
    plan = zendesk.map_export(export(), directory.get)
    matched = {u.source_id: (u.id, u.data["role"]) for u in plan.users if u.matched}
    assert matched == {"900001": ("sam", "agent"), "700001": ("carol", "customer")}
    assert plan.counts()["users"] == len(plan.users) - 2
    ticket = ticket_of(plan, "101").ticket
    assert (ticket.requester_id, ticket.assignee_id) == ("carol", "sam")


def test_an_imported_agent_whose_address_is_an_existing_customer_cannot_be_an_assignee():
    plan = zendesk.map_export(export(), {"bea@acme.example": ("bea", "customer")}.get)
    assert [(r.source_id, r.reason) for r in plan.refused if r.kind == "ticket" and r.source_id == "104"] == [
        ("104", "assignee 900002 is not an agent here")
    ]


def test_a_rerun_finding_its_own_user_by_address_is_not_a_match():
    plan = zendesk.map_export(export(), {"sam@acme.example": ("zendesk-900001", "agent")}.get)
    assert not any(u.matched for u in plan.users)


def test_a_freshdesk_contact_with_an_agents_address_is_that_agent():
    from chalicelib.domain.imports import freshdesk

    source = freshdesk_export()
    source["contacts"].append({**source["contacts"][0], "id": 6000002, "email": "SAM@acme.example", "company_id": None})
    users = {u.source_id: u for u in freshdesk.map_export(source).users}
    assert (users["6000002"].id, users["6000002"].matched, users["6000002"].data["role"]) == ("freshdesk-5000001", True, "agent")
