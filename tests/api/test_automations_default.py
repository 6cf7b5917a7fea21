"""The automation every deployment has (issue 11): a customer's public reply, in the portal or by
mail, on a pending or resolved ticket sets it back to open, and starts the next-response clock;
an admin turns it off with one PATCH."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api import test_inbound_mail, test_sla
from tests.api.test_inbound_mail import DOMAIN, comments, deliver, message
from tests.api.test_routing import Stream, history
from tests.api.test_sla import clocks

mail, people, inbound = test_inbound_mail.mail, test_inbound_mail.people, test_inbound_mail.inbound
clock, sla_world = test_sla.clock, test_sla.sla_world

REOPEN = "automation:reopen-on-customer-reply"


class NoTimers:
    """The SLA timer workflows are tests/workflows' business: here they start nothing."""

    def start(self, timer: Any, payload: Any) -> None:
        pass

    @staticmethod
    def cache_clear() -> None:  # composition.reset() treats it as the builder it replaces
        pass


@pytest.fixture(autouse=True)
def no_timers(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib import composition

    monkeypatch.setattr(composition, "sla_timers", NoTimers)


def reopened(agent: Any, ticket_id: str) -> list[tuple[str, str]]:
    """The status moves in history made by the default automation."""
    return [(h["old"], h["new"]) for h in history(agent, ticket_id) if h["property"] == "status" and h["actor_id"] == REOPEN]


def answered(agent: Any, ticket_id: str, status: str) -> None:
    """The agent answers in public and leaves the ticket `status` (waiting on the customer)."""
    reply = agent.post(f"/v1/tickets/{ticket_id}/comments", {"body": "Try a restart.", "visibility": "public", "status": status})
    assert reply.status_code == 201, reply.body


@pytest.mark.parametrize("waiting", ["pending", "resolved"])
def test_a_customers_portal_reply_reopens_the_ticket_and_starts_next_response(sla_world, make_ticket, clock, waiting):
    agent, alice = sla_world["agent_all"], sla_world["alice"]
    ticket = make_ticket(as_user="alice")
    stream = Stream()
    clock.advance(minutes=10)
    answered(agent, ticket["id"], waiting)
    stream.follow()
    assert agent.get(f"/v1/tickets/{ticket['id']}").data["status"] == waiting

    clock.advance(minutes=30)
    assert alice.post(f"/v1/tickets/{ticket['id']}/comments", {"body": "Still broken."}).status_code == 201
    stream.follow()

    after = agent.get(f"/v1/tickets/{ticket['id']}").data
    assert after["status"] == "open"
    assert reopened(agent, ticket["id"]) == [(waiting, "open")]
    following = clocks(agent, ticket["id"])["next_response"]
    assert following["status"] == "running"
    assert following["due_at"] == "2026-11-23T10:40:00Z"  # 120 business minutes from the reply at 09:40 Berlin


def test_an_agents_reply_on_a_pending_ticket_and_a_customers_on_an_open_one_change_no_status(world, make_ticket):
    agent, alice = world["agent_all"], world["alice"]
    ticket = make_ticket(as_user="alice")
    stream = Stream()
    assert alice.post(f"/v1/tickets/{ticket['id']}/comments", {"body": "Hello?"}).status_code == 201
    stream.follow()
    assert agent.get(f"/v1/tickets/{ticket['id']}").data["status"] == "open"
    answered(agent, ticket["id"], "pending")
    assert agent.post(f"/v1/tickets/{ticket['id']}/comments", {"body": "Any luck?", "visibility": "public"}).status_code == 201
    stream.follow()
    assert agent.get(f"/v1/tickets/{ticket['id']}").data["status"] == "pending"
    assert reopened(agent, ticket["id"]) == []


def test_turned_off_the_customers_reply_leaves_the_ticket_pending(world, make_ticket):
    admin, agent, alice = world["admin"], world["agent_all"], world["alice"]
    assert admin.patch("/v1/automations/reopen-on-customer-reply", {"active": False}).status_code == 200
    ticket = make_ticket(as_user="alice")
    stream = Stream()
    answered(agent, ticket["id"], "pending")
    assert alice.post(f"/v1/tickets/{ticket['id']}/comments", {"body": "Still broken."}).status_code == 201
    stream.follow()
    assert agent.get(f"/v1/tickets/{ticket['id']}").data["status"] == "pending"


def test_a_customers_reply_by_mail_reopens_the_pending_ticket(people, inbound):
    from chalicelib import composition
    from chalicelib.domain.mail.addresses import ReplyAddresses

    agent = people["agent"]
    deliver(message())
    (ticket,) = agent.get("/v1/tickets?limit=10").data["items"]
    stream = Stream()
    answered(agent, ticket["id"], "pending")
    stream.follow()

    token_address = ReplyAddresses(DOMAIN, composition.mail_settings().secrets).address_for(ticket["id"])
    deliver(message(subject="Re: Printer on fire", text="It is on fire again.", to=token_address), recipients=(token_address,))
    assert "It is on fire again." in [c["body"] for c in comments(agent, ticket["id"])]
    stream.follow()

    assert agent.get(f"/v1/tickets/{ticket['id']}").data["status"] == "open"
    assert reopened(agent, ticket["id"]) == [("pending", "open")]
