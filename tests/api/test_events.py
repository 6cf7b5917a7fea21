"""Change events: every change writes its event in its own transaction; GET /v1/events reads them.

The clock is injected (`composition.clock`): changes happen at known times and the feed is read
later, past the settle window, exactly as a polling integration would see it.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.client
import pytest

from chalicelib import composition
from chalicelib.domain.events import SETTLE_WINDOW
from tests.api.test_call_counts import measure
from tests.conftest import TABLE

START = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
SETTLED = SETTLE_WINDOW + timedelta(seconds=1)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 1) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fake = Clock()
    monkeypatch.setattr(composition, "clock", fake)
    yield fake


@pytest.fixture
def dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> collections.Counter[str]:
    calls: collections.Counter[str] = collections.Counter()
    original = botocore.client.BaseClient._make_api_call

    def counting(self: Any, operation_name: str, api_params: Any) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            calls[operation_name] += 1
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    return calls


def read_all(user: Any, *, limit: int = 100, cursor: str | None = None, **params: str) -> tuple[list[dict[str, Any]], str]:
    """Follow next_cursor until caught up (an empty page that gives back the cursor sent; a
    filtered page can be empty while the cursor moves on); answers the events and the cursor."""
    seen: list[dict[str, Any]] = []
    for _ in range(200):
        query = "&".join([f"limit={limit}", *(f"{k}={v}" for k, v in params.items())] + ([f"cursor={cursor}"] if cursor else []))
        response = user.get(f"/v1/events?{query}")
        assert response.status_code == 200, response.body
        assert response.data["next_cursor"], "every page carries a cursor to poll from"
        caught_up = not response.data["items"] and response.data["next_cursor"] == cursor
        cursor = response.data["next_cursor"]
        if caught_up:
            return seen, cursor
        seen.extend(response.data["items"])
    raise AssertionError("the feed never ended")


def event_items() -> list[dict[str, Any]]:
    raw = boto3.client("dynamodb").query(
        TableName=TABLE,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "EVENTS"}},
    )
    return raw["Items"]


def test_every_change_publishes_one_event_with_what_changed(world, make_ticket, clock):
    agent, alice = world["agent_all"], world["alice"]
    ticket = make_ticket("alice")
    tid = ticket["id"]
    clock.tick()
    assert agent.patch(f"/v1/tickets/{tid}", {"priority": "high", "tags": ["vpn"]}).status_code == 200
    clock.tick()
    comment = agent.post(f"/v1/tickets/{tid}/comments", {"body": "On it", "visibility": "public"})
    assert comment.status_code == 201
    clock.tick()
    assert alice.post(f"/v1/tickets/{tid}/close").status_code == 200
    clock.tick()
    assert alice.post(f"/v1/tickets/{tid}/feedback", {"rating": 5}).status_code == 201
    clock.tick()
    assert agent.delete(f"/v1/tickets/{tid}").status_code == 204
    clock.tick()
    assert agent.post(f"/v1/tickets/{tid}/restore").status_code == 200
    clock.tick()
    target, source = make_ticket(), make_ticket()
    clock.tick()
    assert agent.post(f"/v1/tickets/{target['id']}/merge", {"source_id": source["id"]}).status_code == 200

    clock.tick(SETTLED.total_seconds())
    events, _ = read_all(world["admin"])
    mine = [e for e in events if e["detail"]["ticket_id"] == tid]
    assert [e["type"] for e in mine] == [
        "ticket.created",
        "ticket.updated",
        "comment.created",
        "ticket.updated",
        "feedback.received",
        "ticket.deleted",
        "ticket.restored",
    ]
    created, patched, commented, closed, feedback, deleted, restored = (e["detail"] for e in mine)
    for detail in (created, patched, commented, closed, feedback, deleted, restored):
        assert detail["schema_version"] == 1 and detail["at"].endswith("Z")
    assert created["actor_id"] == "alice" and created["version"] == 1
    assert {"property": "subject", "old": None, "new": "Printer on fire"} in created["changes"]
    assert patched["actor_id"] == "agent-all" and patched["version"] == 2
    assert {"property": "priority", "old": "normal", "new": "high"} in patched["changes"]
    assert {"property": "tags", "old": [], "new": ["vpn"]} in patched["changes"]
    assert commented["comment_id"] == comment.data["id"] and commented["visibility"] == "public"
    assert any(c["property"] == "status" and c["new"] == "closed" for c in closed["changes"])
    assert feedback["actor_id"] == "alice" and feedback["changes"][0]["property"] == "feedback"
    assert deleted["changes"][0]["property"] == "deleted_at" and deleted["changes"][0]["old"] is None
    assert restored["changes"][0]["new"] is None
    # The version in each event is the ticket's version after that change.
    assert [d["version"] for d in (created, patched, commented, closed, feedback, deleted, restored)] == [1, 2, 3, 4, 5, 6, 7]

    merged = [e for e in events if e["type"] == "ticket.merged"]
    assert [e["detail"]["ticket_id"] for e in merged] == [target["id"]]
    assert merged[0]["detail"]["source_id"] == source["id"]
    source_events = [e for e in events if e["detail"]["ticket_id"] == source["id"]]
    assert [e["type"] for e in source_events] == ["ticket.created", "ticket.updated"]
    assert source_events[-1]["detail"]["merged_into"] == target["id"]


def test_a_change_that_does_not_commit_writes_no_event(world, make_ticket, clock):
    agent = world["agent_all"]
    ticket = make_ticket()
    before = len(event_items())
    # A stale If-Match never reaches the transaction; a team deleted meanwhile cancels it.
    assert agent.patch(f"/v1/tickets/{ticket['id']}", {"priority": "high"}, headers={"If-Match": '"7"'}).status_code == 412
    assert agent.patch(f"/v1/tickets/{ticket['id']}", {"team_id": "no-such-team"}).status_code == 422
    assert agent.post("/v1/tickets/" + ticket["id"] + "/comments", {"body": "x", "cc": ["nobody-here"]}).status_code == 422
    assert len(event_items()) == before
    assert agent.get(f"/v1/tickets/{ticket['id']}").data["version"] == 1


def test_event_items_have_the_shape_workflows_write_too(world, make_ticket, clock):
    make_ticket()
    (item,) = [i for i in event_items() if i["type"]["S"] == "ticket.created"]  # the world's set-up has resource events
    assert set(item) == {"PK", "SK", "kind", "id", "type", "at", "ticket_id", "detail", "ttl"}
    assert item["kind"] == {"S": "event"} and item["type"] == {"S": "ticket.created"}
    assert item["at"]["S"] == "2026-03-02T09:00:00.000000Z"
    assert item["SK"]["S"] == f"{item['at']['S']}#{item['id']['S']}"
    assert "S" in item["detail"] and "N" in item["ttl"]


def test_pages_follow_the_cursor_oldest_first_without_gaps_or_repeats(world, make_ticket, clock):
    created = []
    for _ in range(7):
        created.append(make_ticket()["id"])
        clock.tick(0.5)
    clock.tick(SETTLED.total_seconds())
    admin = world["admin"]
    events, cursor = read_all(admin, limit=2)
    assert [e["detail"]["ticket_id"] for e in events] == created
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert len({e["id"] for e in events}) == 7

    # Polling the last cursor: empty while nothing new has settled, with a cursor to poll again.
    empty = admin.get(f"/v1/events?cursor={cursor}")
    assert empty.status_code == 200 and empty.data["items"] == [] and empty.data["next_cursor"]
    later = make_ticket()["id"]
    clock.tick(SETTLED.total_seconds())
    more, _ = read_all(admin, cursor=empty.data["next_cursor"])
    assert [e["detail"]["ticket_id"] for e in more] == [later]


def test_an_empty_feed_still_answers_a_cursor(world, clock):
    page = world["admin"].get("/v1/events")
    assert page.status_code == 200 and page.data["items"] == [] and page.data["next_cursor"]


def test_events_appear_only_once_settled_so_a_late_commit_is_never_skipped(world, make_ticket, clock):
    admin = world["admin"]
    first = make_ticket()["id"]
    clock.tick(100)
    second = make_ticket()["id"]  # stamped 100 s later: as if its transaction were still running
    clock.tick(SETTLED.total_seconds() - 100)
    events, cursor = read_all(admin)
    assert [e["detail"]["ticket_id"] for e in events] == [first]
    clock.tick(100)
    events, _ = read_all(admin, cursor=cursor)
    assert [e["detail"]["ticket_id"] for e in events] == [second]


def test_a_late_committed_event_stamped_inside_the_window_still_comes(world, make_ticket, clock):
    """A writer stamps `at` first and commits later: an event that becomes visible after a newer
    one was already read is returned by the next poll, because neither was settled yet."""
    admin = world["admin"]
    make_ticket()
    clock.tick(SETTLED.total_seconds())
    seen, cursor = read_all(admin)
    assert len(seen) == 1
    stamp_time = clock.now  # writer A stamps now ...
    clock.tick(5)
    make_ticket()  # ... writer B stamps and commits 5 s later ...
    clock.now = stamp_time
    late = make_ticket()["id"]  # ... and A commits only now, with its earlier stamp
    clock.tick(5 + SETTLED.total_seconds())
    events, _ = read_all(admin, cursor=cursor)
    assert late in [e["detail"]["ticket_id"] for e in events] and len(events) == 2
    assert events[0]["detail"]["ticket_id"] == late  # oldest first, by when the change happened


def test_type_filter_and_cursor_binding(world, make_ticket, clock):
    admin, agent = world["admin"], world["agent_all"]
    ticket = make_ticket()
    for priority in ("high", "low", "urgent"):
        clock.tick()
        agent.patch(f"/v1/tickets/{ticket['id']}", {"priority": priority})
    clock.tick(SETTLED.total_seconds())
    updates, cursor = read_all(admin, limit=1, type="ticket.updated")
    assert [e["detail"]["changes"][0]["new"] for e in updates] == ["high", "low", "urgent"]
    assert admin.get(f"/v1/events?cursor={cursor}").status_code == 400  # bound to its filter
    assert admin.get("/v1/events?type=ticket.exploded").status_code == 422
    assert agent.get(f"/v1/events?type=ticket.updated&cursor={cursor}").status_code == 400  # bound to its caller


def test_tampered_cursor_is_refused(world, make_ticket, clock):
    admin = world["admin"]
    make_ticket()
    clock.tick(SETTLED.total_seconds())
    cursor = admin.get("/v1/events").data["next_cursor"]
    payload, signature = cursor.split(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
    assert admin.get(f"/v1/events?cursor={forged}").status_code == 400
    assert admin.get("/v1/events?cursor=garbage").status_code == 400


@pytest.mark.parametrize("who", ["alice", "acme_admin", "agent_support", "agent_assigned"])
def test_only_admins_and_agents_who_see_everything_read_the_feed(world, who):
    response = world[who].get("/v1/events")
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize("who", ["admin", "agent_all"])
def test_admins_and_all_access_agents_read_the_feed(world, who):
    assert world[who].get("/v1/events").status_code == 200


def test_the_feed_is_one_query_per_page(world, make_ticket, clock, dynamodb_calls):
    make_ticket()
    clock.tick(SETTLED.total_seconds())
    admin = world["admin"]
    assert measure(dynamodb_calls, lambda: admin.get("/v1/events")) == {"GetItem": 1, "Query": 1}
    assert measure(dynamodb_calls, lambda: admin.get("/v1/events?type=sla.breached")) == {"GetItem": 1, "Query": 1}
