"""SLA through the API: business hours and policies (admin), clocks on tickets, the ledger.

The clock is injected (`composition.clock`), so due times are exact and nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import composition

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fake = Clock()
    monkeypatch.setattr(composition, "clock", fake)
    yield fake


OFFICE = {
    "id": "berlin-office",
    "name": "Berlin office",
    "timezone": "Europe/Berlin",
    "weekly": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "tue": [["09:00", "17:00"]], "wed": [["09:00", "17:00"]]},
    "holidays": [{"date": "2026-12-25", "name": "Christmas"}, {"start": "2026-12-28", "end": "2026-12-31"}],
}


def policy(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "standard",
        "name": "Standard",
        "position": 10,
        "pause_statuses": ["pending"],
        "targets": {
            "normal": {"first_response_minutes": 60, "next_response_minutes": 120, "resolution_minutes": 480},
            "urgent": {"first_response_minutes": 15, "resolution_minutes": 60},
        },
        **overrides,
    }


@pytest.fixture
def sla_world(world: dict[str, Any], clock: Clock) -> dict[str, Any]:
    admin = world["admin"]
    assert admin.post("/v1/business-hours", OFFICE).status_code == 201
    created = admin.post("/v1/sla-policies", policy(business_hours_id="berlin-office"))
    assert created.status_code == 201, created.body
    return world


def clocks(user: Any, ticket_id: str) -> dict[str, dict[str, Any]]:
    response = user.get(f"/v1/tickets/{ticket_id}/sla")
    assert response.status_code == 200, response.body
    return {c["metric"]: c for c in response.data["items"]}


def test_admin_configures_business_hours_and_policies(world: dict[str, Any]) -> None:
    admin, agent, customer = world["admin"], world["agent_all"], world["alice"]
    created = admin.post("/v1/business-hours", OFFICE)
    assert created.status_code == 201, created.body
    assert created.data["holidays"][0] == {"date": "2026-12-25", "name": "Christmas"}
    assert created.headers["Location"] == "/v1/business-hours/berlin-office"
    assert agent.get("/v1/business-hours/berlin-office").status_code == 200
    assert customer.get("/v1/business-hours").status_code == 403
    assert agent.post("/v1/business-hours", {**OFFICE, "id": "x"}).status_code == 403

    made = admin.post("/v1/sla-policies", policy(business_hours_id="berlin-office"))
    assert made.status_code == 201, made.body
    assert made.data["responses"] == ["public_reply"] and made.data["pause_statuses"] == ["pending"]
    # Business hours in use by a policy cannot go away; once the policy moves off them they can.
    assert admin.delete("/v1/business-hours/berlin-office").status_code == 409
    moved = admin.patch("/v1/sla-policies/standard", {"business_hours_id": None})
    assert moved.status_code == 200 and moved.data["business_hours_id"] is None
    assert admin.delete("/v1/business-hours/berlin-office").status_code == 204


@pytest.mark.parametrize(
    ("path", "body", "fields"),
    [
        ("/v1/business-hours", {**OFFICE, "timezone": "Mars/Olympus"}, {"timezone"}),
        ("/v1/business-hours", {**OFFICE, "weekly": {"mon": [["17:00", "09:00"]]}}, {"weekly.mon[0]"}),
        ("/v1/business-hours", {**OFFICE, "holidays": [{"start": "2026-12-31", "end": "2026-12-01"}]}, {"holidays[0].end"}),
        ("/v1/sla-policies", policy(business_hours_id="nowhere"), {"business_hours_id"}),
        ("/v1/sla-policies", policy(targets={"normal": {}}), {"targets.normal"}),
        (
            "/v1/sla-policies",
            policy(targets={"normal": {"first_response_minutes": 0}}),
            {"targets.normal.first_response_minutes"},
        ),
        ("/v1/sla-policies", policy(responses=["smoke_signal"]), {"responses[0]"}),
    ],
)
def test_invalid_configuration_is_a_422_naming_the_field(world: dict[str, Any], path: str, body: Any, fields: set[str]) -> None:
    response = world["admin"].post(path, body)
    assert response.status_code == 422, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    assert {e["field"] for e in response.data["errors"]} == fields


def test_a_new_ticket_gets_clocks_due_in_business_time(sla_world: dict[str, Any], make_ticket: Any) -> None:
    ticket = make_ticket(subject="VPN down")
    items = clocks(sla_world["agent_all"], ticket["id"])
    assert set(items) == {"first_response", "resolution"}
    assert items["first_response"]["status"] == "running"
    assert items["first_response"]["due_at"] == "2026-11-23T09:00:00Z"  # 10:00 Berlin
    # 8 h: Monday 09-12 and 13-17 (7 h) + 1 h Tuesday → Tuesday 10:00 Berlin.
    assert items["resolution"]["due_at"] == "2026-11-24T09:00:00Z"
    # The ticket summary shows the next due clock to agents, nothing to customers.
    shown = sla_world["agent_all"].get(f"/v1/tickets/{ticket['id']}").data["sla"]
    assert shown == {"metric": "first_response", "status": "running", "due_at": "2026-11-23T09:00:00Z"}
    listed = sla_world["agent_all"].get("/v1/tickets").data["items"][0]
    assert listed["sla"]["metric"] == "first_response"
    customer_ticket = make_ticket(as_user="alice")
    assert "sla" not in sla_world["alice"].get(f"/v1/tickets/{customer_ticket['id']}").data
    assert sla_world["alice"].get(f"/v1/tickets/{customer_ticket['id']}/sla").status_code == 403


def test_a_public_reply_meets_first_response_and_an_internal_note_does_not(
    sla_world: dict[str, Any], make_ticket: Any, clock: Clock
) -> None:
    agent = sla_world["agent_all"]
    ticket = make_ticket(as_user="alice")
    clock.advance(minutes=10)
    assert agent.post(f"/v1/tickets/{ticket['id']}/comments", {"body": "looking", "visibility": "internal"}).status_code == 201
    assert clocks(agent, ticket["id"])["first_response"]["status"] == "running"
    clock.advance(minutes=10)
    assert agent.post(f"/v1/tickets/{ticket['id']}/comments", {"body": "Hello!", "visibility": "public"}).status_code == 201
    first = clocks(agent, ticket["id"])["first_response"]
    assert first["status"] == "met" and first["completed_at"] == "2026-11-23T08:20:00Z"
    assert first["business_seconds_elapsed"] == 20 * 60
    # The customer writes back: next response starts; the agent's answer meets it.
    clock.advance(minutes=5)
    assert sla_world["alice"].post(f"/v1/tickets/{ticket['id']}/comments", {"body": "still broken"}).status_code == 201
    following = clocks(agent, ticket["id"])["next_response"]
    assert following["status"] == "running" and following["due_at"] == "2026-11-23T10:25:00Z"


def test_pending_pauses_the_clocks_and_open_resumes_them_later(sla_world: dict[str, Any], make_ticket: Any, clock: Clock) -> None:
    agent = sla_world["agent_all"]
    ticket = make_ticket()
    clock.advance(minutes=15)
    assert agent.patch(f"/v1/tickets/{ticket['id']}", {"status": "pending"}).status_code == 200
    paused = clocks(agent, ticket["id"])["first_response"]
    assert paused["status"] == "paused" and paused["due_at"] is None
    assert agent.get(f"/v1/tickets/{ticket['id']}").data["sla"]["status"] == "paused"
    clock.advance(hours=2, minutes=30)
    assert agent.patch(f"/v1/tickets/{ticket['id']}", {"status": "open"}).status_code == 200
    resumed = clocks(agent, ticket["id"])["first_response"]
    # 45 business minutes were left at 09:15 Berlin; resumed at 11:45: 15 minutes before the
    # lunch break, 30 after it → due 13:30 Berlin.
    assert resumed["status"] == "running" and resumed["due_at"] == "2026-11-23T12:30:00Z"


def test_priority_change_replans_and_the_ledger_explains_every_due_time(
    sla_world: dict[str, Any], make_ticket: Any, clock: Clock
) -> None:
    agent = sla_world["agent_all"]
    ticket = make_ticket()
    clock.advance(minutes=5)
    assert agent.patch(f"/v1/tickets/{ticket['id']}", {"priority": "urgent"}).status_code == 200
    urgent = clocks(agent, ticket["id"])
    assert urgent["first_response"]["due_at"] == "2026-11-23T08:15:00Z"
    assert urgent["resolution"]["due_at"] == "2026-11-23T09:00:00Z"
    ledger = agent.get(f"/v1/tickets/{ticket['id']}/sla/ledger?limit=3")
    assert ledger.status_code == 200
    events = [line["event"] for line in ledger.data["items"]]
    cursor = ledger.data["next_cursor"]
    while cursor:
        page = agent.get(f"/v1/tickets/{ticket['id']}/sla/ledger?limit=3&cursor={cursor}").data
        events += [line["event"] for line in page["items"]]
        cursor = page["next_cursor"]
    assert events == ["applied", "started", "started", "applied", "replanned", "replanned"]
    tampered = agent.get(f"/v1/tickets/{ticket['id']}/sla/ledger?cursor=AAAA{ledger.data['next_cursor'] or 'x'}")
    assert tampered.status_code == 400


def test_solving_completes_the_clocks_and_a_late_reply_stays_breached(
    sla_world: dict[str, Any], make_ticket: Any, clock: Clock
) -> None:
    agent = sla_world["agent_all"]
    late = make_ticket(as_user="alice")
    clock.advance(hours=3)
    assert clocks(agent, late["id"])["first_response"]["status"] == "breached"  # due passed, before any timer
    agent.post(f"/v1/tickets/{late['id']}/comments", {"body": "Sorry for the wait", "visibility": "public"})
    first = clocks(agent, late["id"])["first_response"]
    assert first["status"] == "breached" and first["completed_at"] == "2026-11-23T11:00:00Z"
    assert agent.patch(f"/v1/tickets/{late['id']}", {"status": "resolved"}).status_code == 200
    assert clocks(agent, late["id"])["resolution"]["status"] == "met"
    assert agent.get(f"/v1/tickets/{late['id']}").data["sla"] is None


def test_tickets_without_a_matching_policy_have_no_clocks(world: dict[str, Any], make_ticket: Any) -> None:
    ticket = make_ticket()
    assert clocks(world["agent_all"], ticket["id"]) == {}
    assert world["agent_all"].get(f"/v1/tickets/{ticket['id']}").data["sla"] is None


def test_business_hours_that_no_longer_validate_do_not_block_ticket_writes(world: dict[str, Any], make_ticket: Any) -> None:
    """E.g. a time zone the runtime lacks: the policy's clocks run 24/7 and writes go on."""
    admin = world["admin"]
    assert admin.post("/v1/business-hours", OFFICE).status_code == 201
    assert admin.post("/v1/sla-policies", policy(business_hours_id="berlin-office")).status_code == 201
    broken = composition.directory_repository().get("business_hours", "berlin-office")
    assert broken is not None
    composition.directory_repository().update(
        "business_hours",
        broken,
        name=broken.name,
        data={**broken.data, "timezone": "Gone/Zone"},
        now=START,
        expected_version=broken.version,
    )
    composition.sla_config_cache().invalidate()
    ticket = make_ticket()
    first = clocks(world["agent_all"], ticket["id"])["first_response"]
    created = datetime.fromisoformat(ticket["created_at"].replace("Z", "+00:00")).replace(microsecond=0)
    assert datetime.fromisoformat(first["due_at"].replace("Z", "+00:00")) == created + timedelta(hours=1)


def test_a_policy_without_position_goes_after_the_existing_ones_instead_of_outranking_them(
    world: dict[str, Any], make_ticket: Any
) -> None:
    admin = world["admin"]
    urgent = {"id": "urgent", "name": "Urgent", "position": 0, "conditions": {"priorities": ["urgent"]}}
    urgent["targets"] = {"urgent": {"first_response_minutes": 15}}
    assert admin.post("/v1/sla-policies", urgent).status_code == 201
    assert admin.post("/v1/sla-policies", policy(id="standard")).status_code == 201
    catch_all = policy(id="catch-all", name="Catch-all", targets={"urgent": {"first_response_minutes": 999}})
    del catch_all["position"]
    placed = admin.post("/v1/sla-policies", catch_all)
    assert placed.status_code == 201, placed.body
    assert placed.data["position"] == 20
    ticket = make_ticket(priority="urgent")
    first = clocks(world["agent_all"], ticket["id"])["first_response"]
    assert first["target_minutes"] == 15  # the urgent policy still applies


def test_two_policies_cannot_share_a_position(world: dict[str, Any]) -> None:
    admin = world["admin"]
    assert admin.post("/v1/sla-policies", policy(id="standard", position=10)).status_code == 201
    taken = admin.post("/v1/sla-policies", policy(id="other", name="Other", position=10))
    assert taken.status_code == 409
    assert "standard" in taken.data["detail"]
    assert admin.post("/v1/sla-policies", policy(id="other", name="Other", position=11)).status_code == 201
    assert admin.patch("/v1/sla-policies/other", {"position": 10}).status_code == 409
    assert admin.patch("/v1/sla-policies/standard", {"position": 10, "name": "Standard v2"}).status_code == 200
    assert [p["position"] for p in admin.get("/v1/sla-policies").data["items"] if p["id"] == "other"] == [11]
