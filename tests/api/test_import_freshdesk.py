"""`python -m chalicelib.cli import freshdesk PATH`: Freshdesk's API v2 export (tickets with
`conversations`, contacts, agents with their `contact`, roles, companies with `domains`, groups)."""

from __future__ import annotations

from chalicelib.domain.imports import ticket_id
from tests.conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "imports" / "freshdesk"


def run_import():
    from chalicelib import composition
    from chalicelib.services.imports import plan_of, read_export

    export, digest = read_export(FIXTURE)
    return composition.import_service().run(plan_of("freshdesk", export), digest)


def test_a_freshdesk_ticket_and_its_conversation_arrive_once_with_roles_mapped(login):
    first, second = run_import(), run_import()
    assert dict(first.created) == {"organization": 1, "team": 1, "user": 3, "ticket": 1, "comment": 2, "history entry": 13}
    assert dict(second.created) == {}
    assert [(r.kind, r.source_id, r.reason) for r in first.refused] == [("ticket", "21", "unknown requester 6999999")]

    admin = login("freshdesk-5000000", "admin")
    assert admin.get("/v1/users/freshdesk-5000000").data["role"] == "admin"  # Account Administrator
    agent = admin.get("/v1/users/freshdesk-5000001").data
    assert (agent["role"], agent["access"], agent["team_ids"]) == ("agent", "team", ["freshdesk-9000001"])
    ticket = admin.get(f"/v1/tickets/{ticket_id('freshdesk', 20)}").data
    assert (ticket["status"], ticket["priority"], ticket["type"], ticket["channel"]) == ("resolved", "high", "incident", "email")
    assert (ticket["requester_id"], ticket["assignee_id"], ticket["organization_id"]) == (
        "freshdesk-6000001",
        "freshdesk-5000001",
        "freshdesk-8000001",
    )
    assert ticket["custom_fields"] == {"order_number": "SO-4411"} and ticket["imported_from"] == "freshdesk:20"
    timeline = admin.get(f"/v1/tickets/{ticket['id']}/timeline").data["items"]
    assert [(a["type"], a["visibility"]) for a in reversed(timeline)] == [("note", "internal"), ("comment", "public")]
    assert timeline[0]["fields"]["files"][0]["filename"] == "fix.png"
