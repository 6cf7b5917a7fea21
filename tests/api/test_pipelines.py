"""Pipelines through the API (issue 11): admins define named sets of statuses, tickets belong to
one, a move maps the status, history and views follow, and nothing existing changes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_sla import OFFICE, clocks, policy

BILLING = {"id": "billing", "name": "Billing", "statuses": ["invoice_sent", "awaiting_payment", "paid", "closed"]}


@pytest.fixture
def billing(world: dict[str, Any]) -> dict[str, Any]:
    """A billing pipeline of custom statuses, one per category but closed (the built-in)."""
    admin = world["admin"]
    for name, category in (("invoice_sent", "open"), ("awaiting_payment", "pending"), ("paid", "resolved")):
        assert admin.post("/v1/statuses", {"name": name, "category": category}).status_code == 201
    created = admin.post("/v1/pipelines", BILLING)
    assert created.status_code == 201, created.body
    return world


def test_admins_define_pipelines_everyone_reads_them_and_the_default_is_todays_statuses(billing: dict[str, Any]) -> None:
    admin, agent, customer = billing["admin"], billing["agent_all"], billing["alice"]
    listed = customer.get("/v1/pipelines")
    assert listed.status_code == 200
    default, custom = listed.data["items"]
    assert default["id"] == "default" and default["builtin"] is True
    assert {"open", "pending", "resolved", "closed", "invoice_sent", "paid"} <= set(default["statuses"])
    assert custom == {"id": "billing", "name": "Billing", "statuses": BILLING["statuses"], "builtin": False}
    assert agent.get("/v1/pipelines/billing").data["statuses"] == BILLING["statuses"]
    assert agent.post("/v1/pipelines", {**BILLING, "id": "other"}).status_code == 403
    assert admin.post("/v1/pipelines", BILLING).status_code == 409
    assert admin.patch("/v1/pipelines/default", {"name": "Mine"}).status_code == 409
    assert admin.delete("/v1/pipelines/default").status_code == 409
    renamed = admin.patch("/v1/pipelines/billing", {"name": "Invoices"})
    assert renamed.status_code == 200 and renamed.data["name"] == "Invoices"


def test_a_pipeline_names_known_statuses_once_and_one_to_start_in(billing: dict[str, Any]) -> None:
    admin = billing["admin"]
    unknown = admin.post("/v1/pipelines", {"id": "x", "name": "X", "statuses": ["open", "nope", "open"]})
    assert unknown.status_code == 422
    assert {e["field"] for e in unknown.data["errors"]} == {"statuses[1]", "statuses[2]"}
    no_start = admin.post("/v1/pipelines", {"id": "x", "name": "X", "statuses": ["paid", "closed"]})
    assert no_start.status_code == 422 and no_start.data["errors"][0]["field"] == "statuses"
    # A status a pipeline lists is not deleted under it.
    assert admin.delete("/v1/statuses/paid").status_code == 409


def test_tickets_without_a_pipeline_are_in_the_default_one_and_keep_every_status(
    billing: dict[str, Any], make_ticket: Any
) -> None:
    agent = billing["agent_all"]
    ticket = make_ticket()
    assert ticket["pipeline_id"] == "default" and ticket["status"] == "open"
    # Today's behaviour: any status of the catalog, custom ones included.
    moved = agent.patch(f"/v1/tickets/{ticket['id']}", {"status": "awaiting_payment"})
    assert moved.status_code == 200 and moved.data["status_category"] == "pending"
    history = agent.get(f"/v1/tickets/{ticket['id']}/history?property=pipeline_id").data["items"]
    assert history == []


def test_a_ticket_created_in_a_pipeline_starts_in_its_first_open_status(billing: dict[str, Any], make_ticket: Any) -> None:
    ticket = make_ticket(pipeline_id="billing")
    assert (ticket["pipeline_id"], ticket["status"], ticket["status_category"]) == ("billing", "invoice_sent", "open")
    refused = billing["agent_all"].post(
        "/v1/tickets", {"subject": "s", "description": "d", "pipeline_id": "billing", "status": "open"}
    )
    assert refused.status_code == 422 and refused.data["errors"][0]["field"] == "status"
    unknown = billing["agent_all"].post("/v1/tickets", {"subject": "s", "description": "d", "pipeline_id": "ghost"})
    assert unknown.status_code == 422 and unknown.data["errors"][0]["field"] == "pipeline_id"
    # Customers do not choose the pipeline (like the status).
    assert billing["alice"].post("/v1/tickets", {"subject": "s", "description": "d", "pipeline_id": "billing"}).status_code == 403


def test_moving_a_ticket_maps_its_status_by_category_and_records_both_in_history(
    billing: dict[str, Any], make_ticket: Any
) -> None:
    agent = billing["agent_all"]
    ticket = make_ticket()
    assert agent.patch(f"/v1/tickets/{ticket['id']}", {"status": "pending"}).status_code == 200
    moved = agent.patch(f"/v1/tickets/{ticket['id']}", {"pipeline_id": "billing"})
    assert moved.status_code == 200, moved.body
    assert (moved.data["pipeline_id"], moved.data["status"], moved.data["status_category"]) == (
        "billing",
        "awaiting_payment",
        "pending",
    )
    history = agent.get(f"/v1/tickets/{ticket['id']}/history").data["items"]
    latest = {(h["property"], h["old"], h["new"]) for h in history if h["at"] == history[0]["at"]}
    assert latest == {("pipeline_id", "default", "billing"), ("status", "pending", "awaiting_payment")}
    # Back to the default pipeline: the status is in it, so it stays.
    back = agent.patch(f"/v1/tickets/{ticket['id']}", {"pipeline_id": "default"})
    assert (back.data["pipeline_id"], back.data["status"]) == ("default", "awaiting_payment")


def test_a_move_with_an_explicit_status_takes_it(billing: dict[str, Any], make_ticket: Any) -> None:
    agent = billing["agent_all"]
    ticket = make_ticket()
    moved = agent.patch(f"/v1/tickets/{ticket['id']}", {"pipeline_id": "billing", "status": "paid"})
    assert moved.status_code == 200, moved.body
    assert (moved.data["status"], moved.data["status_category"]) == ("paid", "resolved")


def test_a_move_or_a_status_outside_the_tickets_pipeline_is_refused_and_nothing_is_written(
    billing: dict[str, Any], make_ticket: Any
) -> None:
    agent = billing["agent_all"]
    ticket = make_ticket()
    refused = agent.patch(f"/v1/tickets/{ticket['id']}", {"pipeline_id": "billing", "status": "pending"})
    assert refused.status_code == 422
    assert refused.data["errors"][0]["field"] == "status"
    after = agent.get(f"/v1/tickets/{ticket['id']}").data
    assert (after["pipeline_id"], after["status"], after["version"]) == ("default", "open", ticket["version"])
    in_billing = make_ticket(pipeline_id="billing")
    wrong = agent.patch(f"/v1/tickets/{in_billing['id']}", {"status": "pending"})
    assert wrong.status_code == 422 and "billing" in wrong.data["errors"][0]["message"]
    # A comment's status is the same status change: refused the same way.
    comment = agent.post(f"/v1/tickets/{in_billing['id']}/comments", {"body": "hi", "visibility": "public", "status": "pending"})
    assert comment.status_code == 422


def test_a_pipeline_with_tickets_is_not_deleted_until_they_move(billing: dict[str, Any], make_ticket: Any) -> None:
    admin, agent = billing["admin"], billing["agent_all"]
    ticket = make_ticket(pipeline_id="billing")
    refused = admin.delete("/v1/pipelines/billing")
    assert refused.status_code == 409
    assert agent.get("/v1/pipelines/billing").status_code == 200
    assert agent.patch(f"/v1/tickets/{ticket['id']}", {"pipeline_id": "default"}).status_code == 200
    assert admin.delete("/v1/pipelines/billing").status_code == 204
    assert agent.get("/v1/pipelines/billing").status_code == 404


def test_lists_and_views_filter_by_pipeline(billing: dict[str, Any], make_ticket: Any) -> None:
    agent = billing["agent_all"]
    plain = make_ticket()
    bill = make_ticket(pipeline_id="billing")

    def ids(path: str) -> list[str]:
        response = agent.get(path)
        assert response.status_code == 200, response.body
        return [t["id"] for t in response.data["items"]]

    assert ids("/v1/tickets?pipeline_id=billing") == [bill["id"]]
    assert ids("/v1/tickets?pipeline_id=default") == [plain["id"]]
    assert ids("/v1/tickets?pipeline_id=billing&status_category=open") == [bill["id"]]
    view = agent.post("/v1/views", {"name": "Billing", "visibility": "private", "filters": {"pipeline_id": "billing"}})
    assert view.status_code == 201, view.body
    assert ids(f"/v1/views/{view.data['id']}/tickets") == [bill["id"]]


def test_sla_clocks_pause_in_a_pipelines_statuses_of_a_paused_category(billing: dict[str, Any], make_ticket: Any) -> None:
    admin, agent = billing["admin"], billing["agent_all"]
    assert admin.post("/v1/business-hours", OFFICE).status_code == 201
    assert admin.post("/v1/sla-policies", policy(business_hours_id=None)).status_code == 201
    ticket = make_ticket(pipeline_id="billing")
    assert clocks(agent, ticket["id"])["first_response"]["status"] == "running"
    # The policy pauses the `pending` category: the billing pipeline's pending status pauses it.
    assert agent.patch(f"/v1/tickets/{ticket['id']}", {"status": "awaiting_payment"}).status_code == 200
    assert clocks(agent, ticket["id"])["first_response"]["status"] == "paused"
    # A move that maps the status into a paused one pauses too, in the same write.
    other = make_ticket()
    assert agent.patch(f"/v1/tickets/{other['id']}", {"pipeline_id": "billing", "status": "awaiting_payment"}).status_code == 200
    assert clocks(agent, other["id"])["first_response"]["status"] == "paused"
