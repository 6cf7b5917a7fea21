"""`python -m chalicelib.cli import zendesk PATH`: Zendesk's export becomes our records, once.

The fixture (tests/fixtures/imports/zendesk/) is shaped as Zendesk's Support API answers: list
endpoints `{"<endpoint>": [...], "next_page", "previous_page", "count"}`, tickets with the
`comments` (`/api/v2/tickets/{id}/comments`) and `audits` (`/api/v2/tickets/{id}/audits`, events
`Create` / `Change` / `Comment` / `Notification`) they have in Zendesk.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3
import pytest

from chalicelib.domain.imports import ticket_id
from tests.api.test_routing import Stream, rule
from tests.conftest import ROOT, TABLE, table_definition

FIXTURE = ROOT / "tests" / "fixtures" / "imports" / "zendesk"
EXPORT_TICKET = ticket_id("zendesk", 101)  # solved, three comments, three audits
OPEN_TICKET = ticket_id("zendesk", 102)  # new, no team, no assignee
CLOSED_TICKET = ticket_id("zendesk", 104)


def run_import(path: Any = FIXTURE) -> Any:
    from chalicelib import composition
    from chalicelib.services.imports import plan_of, read_export

    export, digest = read_export(path)
    return composition.import_service().run(plan_of("zendesk", export), digest)


def items() -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(TABLE)
    out, start = [], None
    while True:
        page = table.scan(**({"ExclusiveStartKey": start} if start else {}))
        out += page["Items"]
        start = page.get("LastEvaluatedKey")
        if start is None:
            return out


def item_keys() -> set[tuple[str, str]]:
    return {(i["PK"], i["SK"]) for i in items()}


def fresh_table() -> None:
    from chalicelib import composition

    client = boto3.client("dynamodb")
    client.delete_table(TableName=TABLE)
    client.create_table(**table_definition())
    composition.reset()


def test_a_zendesk_ticket_keeps_its_people_properties_times_and_original_number(login):
    run_import()
    admin = login("zendesk-900000", "admin")
    ticket = admin.get(f"/v1/tickets/{EXPORT_TICKET}").data
    assert ticket["subject"] == "Export to CSV fails"
    assert (ticket["status"], ticket["priority"], ticket["type"], ticket["channel"]) == ("resolved", "high", "incident", "email")
    assert (ticket["requester_id"], ticket["assignee_id"], ticket["team_id"]) == (
        "zendesk-700001",
        "zendesk-900001",
        "zendesk-360002926638",
    )
    assert ticket["organization_id"] == "zendesk-361898904439"
    assert ticket["cc"] == ["zendesk-700003"]
    assert ticket["tags"] == ["csv", "export", "fixed"]
    assert ticket["custom_fields"] == {"order_number": "SO-4411", "product": "product_widgets", "vip": True}
    assert ticket["created_at"].startswith("2023-03-01T09:00:00")
    assert ticket["updated_at"].startswith("2023-03-02T16:30:00")
    assert "<b>empty</b>" in ticket["description"]
    assert ticket["imported_from"] == "zendesk:101"
    closed = admin.get(f"/v1/tickets/{CLOSED_TICKET}").data
    assert (closed["status"], closed["type"], closed["channel"]) == ("closed", "request", "phone")


def test_comments_keep_their_order_authors_and_visibility_and_the_audits_are_the_history(login):
    run_import()
    agent = login("zendesk-900001", "agent", teams=["zendesk-360002926638"], access="team")
    timeline = agent.get(f"/v1/tickets/{EXPORT_TICKET}/timeline?limit=50").data["items"]
    conversation = [(a["type"], a["visibility"], a["actor_id"]) for a in reversed(timeline) if a["type"] != "system"]
    assert conversation == [("note", "internal", "zendesk-900001"), ("comment", "public", "zendesk-900001")]
    assert "<script>" not in next(a["body"] for a in timeline if a["type"] == "comment")
    files = next(a for a in timeline if a["type"] == "system")["fields"]["files"]
    assert files[0]["filename"] == "empty-export.png" and files[0]["size"] == 20947

    customer = login("zendesk-700001", "customer", org="zendesk-361898904439")
    seen = customer.get(f"/v1/tickets/{EXPORT_TICKET}/timeline").data["items"]
    assert [a["type"] for a in seen] == ["comment"]

    history = agent.get(f"/v1/tickets/{EXPORT_TICKET}/history?property=status&limit=50").data["items"]
    assert [(h["old"], h["new"], h["actor_id"]) for h in reversed(history)] == [
        (None, "open", "zendesk-700001"),
        ("open", "resolved", "zendesk-900001"),
    ]
    assert history[0]["at"].startswith("2023-03-02T16:30:00")


def test_a_second_run_adds_nothing(aws):
    first = run_import()
    before = item_keys()
    second = run_import()
    assert dict(first.created) == {"organization": 2, "team": 2, "user": 6, "ticket": 3, "comment": 4, "history entry": 18}
    assert dict(second.created) == {}
    assert dict(second.skipped) == {"organization": 2, "team": 2, "user": 6, "ticket": 3}
    assert item_keys() == before


@pytest.mark.parametrize("fail_at", [1, 3])
def test_an_interrupted_run_resumes_from_its_checkpoint_with_the_items_of_one_uninterrupted_run(aws, monkeypatch, fail_at):
    from chalicelib.services import imports
    from chalicelib.storage.imports import ImportWriter

    run_import()
    expected = Counter(i["kind"] for i in items())
    expected_keys = {k for k in item_keys() if not k[0].startswith("IMPORT#")}
    fresh_table()

    monkeypatch.setattr(imports, "PAGE", 1)  # a checkpoint after every ticket
    written, real = [], ImportWriter.write_items

    def crashing(self: ImportWriter, *args: Any) -> int:
        written.append(1)
        if len(written) == fail_at:
            raise RuntimeError("killed mid-way")
        return real(self, *args)

    monkeypatch.setattr(ImportWriter, "write_items", crashing)
    with pytest.raises(RuntimeError):
        run_import()
    report = run_import()

    assert report.resumed_at == fail_at - 1
    assert report.created["ticket"] == 3 - (fail_at - 1)
    assert Counter(i["kind"] for i in items()) == expected
    assert {k for k in item_keys() if not k[0].startswith("IMPORT#")} == expected_keys
    numbers = [i["number"] for i in items() if i["kind"] == "ticket"]
    assert sorted(numbers) == [1, 2, 3]


def test_imported_tickets_send_no_mail_and_only_open_ones_get_sla_clocks(login):
    admin = login("admin-1", "admin")
    policy = {
        "name": "Everything",
        "conditions": {},
        "targets": {p: {"first_response_minutes": 60, "resolution_minutes": 600} for p in ("low", "normal", "high", "urgent")},
    }
    assert admin.post("/v1/sla-policies", policy).status_code == 201, "policy"
    before = {i["SK"] for i in items() if i["PK"] == "EVENTS"}  # the policy's own resource.created
    run_import()
    # No outbox item from the import: no mail, webhook or feed entry.
    assert not [i for i in items() if i["PK"] == "EVENTS" and i["SK"] not in before]
    clocks = admin.get(f"/v1/tickets/{OPEN_TICKET}/sla").data
    assert {c["metric"]: c["status"] for c in clocks["items"]} == {"first_response": "running", "resolution": "running"}
    for solved in (EXPORT_TICKET, CLOSED_TICKET):
        assert admin.get(f"/v1/tickets/{solved}").data.get("sla") is None
        assert not admin.get(f"/v1/tickets/{solved}/sla").data["items"]


def test_the_ticket_stream_does_not_route_an_imported_ticket(login):
    admin = login("admin-1", "admin")
    run_import()
    rule(admin, position=0, team_id="zendesk-360002926638", assignment="round_robin")
    Stream().follow()
    ticket = admin.get(f"/v1/tickets/{OPEN_TICKET}").data
    assert (ticket["team_id"], ticket["assignee_id"]) == (None, None)
