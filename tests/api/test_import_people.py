"""An import meets people the help desk already has: one address is one person (issue 13).

A user of the export whose address is already a user's (created here, or by an earlier import
from another help desk) is that user: no second record, and the imported tickets, comments and
CCs name the existing one."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.imports import ticket_id
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "imports"


def run_import(source: str) -> Any:
    from chalicelib import composition
    from chalicelib.services.imports import read_export

    export, digest = read_export(FIXTURES / source)
    service = composition.import_service()
    return service.run(service.plan(source, export), digest)


def test_an_imported_user_whose_address_exists_is_that_user_not_a_duplicate(admin):
    sam = {"id": "sam", "name": "Sam Here", "email": "Sam@Acme.example", "role": "agent", "team_ids": []}
    assert admin.post("/v1/users", sam).status_code == 201
    carol = {"id": "carol", "name": "Carol Here", "email": "carol@globex.example", "role": "customer"}
    assert admin.post("/v1/users", carol).status_code == 201

    first, second = run_import("zendesk"), run_import("zendesk")

    assert first.created["user matched by address"] == 2 and second.created == {}
    for duplicate in ("zendesk-900001", "zendesk-700001"):
        assert admin.get(f"/v1/users/{duplicate}").status_code == 404
    assert admin.get("/v1/users/sam").data["name"] == "Sam Here"  # the existing record is kept as it is
    ticket = admin.get(f"/v1/tickets/{ticket_id('zendesk', 101)}").data
    assert (ticket["requester_id"], ticket["assignee_id"]) == ("carol", "sam")
    timeline = admin.get(f"/v1/tickets/{ticket['id']}/timeline").data["items"]
    assert {a["actor_id"] for a in timeline if a["type"] in ("comment", "note")} == {"sam"}
    mine = admin.get("/v1/tickets?requester_id=carol").data["items"]
    assert {t["id"] for t in mine} >= {ticket_id("zendesk", 101), ticket_id("zendesk", 104)}


def test_a_person_in_two_help_desks_exports_is_one_user(admin):
    run_import("zendesk")
    report = run_import("freshdesk")

    assert report.created["user matched by address"] == 3 and "user" not in report.created
    for duplicate in ("freshdesk-5000000", "freshdesk-5000001", "freshdesk-6000001"):
        assert admin.get(f"/v1/users/{duplicate}").status_code == 404
    ticket = admin.get(f"/v1/tickets/{ticket_id('freshdesk', 20)}").data
    assert (ticket["requester_id"], ticket["assignee_id"]) == ("zendesk-700001", "zendesk-900001")
