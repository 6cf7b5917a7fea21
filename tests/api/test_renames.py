"""Renames reach the ticket lists (issue 11): the ticket stream copies a user's new name onto the
tickets they requested or are assigned, a bounded page per stream record, idempotently."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.services import renames
from tests.api.test_routing import Stream


def follow_until_quiet(stream: Stream) -> list[dict[str, Any]]:
    delivered: list[dict[str, Any]] = []
    for _ in range(20):
        records = stream.records()
        if not records:
            return delivered
        assert stream.deliver(records) == {"batchItemFailures": []}
        delivered += records
    raise AssertionError("the stream never went quiet")


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(renames, "PAGE", 2)  # five tickets take three pages: the continuation runs


def test_a_rename_reaches_my_organizations_tickets_page_by_page(world, make_ticket, small_pages):
    made = [make_ticket(requester_id="alice", assignee_id="agent-support")["id"] for _ in range(5)]
    cc_only = make_ticket(requester_id="bob", cc=["alice"])["id"]
    stream = Stream()
    follow_until_quiet(stream)
    assert world["admin"].patch("/v1/users/alice", {"name": "Alice Liddell"}).status_code == 200
    assert world["admin"].patch("/v1/users/agent-support", {"name": "Sam Support"}).status_code == 200
    delivered = follow_until_quiet(stream)

    listed = world["acme_admin"].get("/v1/me/tickets?scope=organization&limit=100").data["items"]
    names = {t["id"]: (t["requester_name"], t["assignee_name"]) for t in listed}
    assert {names[t] for t in made} == {("Alice Liddell", "Sam Support")}
    assert names[cc_only][0] == "Bob"  # a CC'd ticket keeps its requester's name
    mine = world["agent_support"].get("/v1/views/mine-open/tickets?limit=100").data["items"]
    assert {t["assignee_name"] for t in mine} == {"Sam Support"}

    versions = {t: world["agent_all"].get(f"/v1/tickets/{t}").data["version"] for t in made}
    assert stream.deliver(delivered) == {"batchItemFailures": []}  # a redelivered batch renames nothing again
    follow_until_quiet(stream)
    assert {t: world["agent_all"].get(f"/v1/tickets/{t}").data["version"] for t in made} == versions
