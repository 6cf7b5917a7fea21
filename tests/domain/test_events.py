"""Pure event rules: detail shape, stream filtering, PutEvents batching, feed windows."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.events import (
    RETENTION,
    SETTLE_WINDOW,
    Outgoing,
    batches,
    encode_detail,
    feed_window,
    next_position,
    outgoing_from_stream,
    ticket_event,
)
from chalicelib.domain.tickets import Change


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_a_ticket_event_carries_the_contracts_detail():
    event = ticket_event(
        "ticket.updated",
        event_id="e1",
        ticket_id="t1",
        version=4,
        actor_id="u1",
        at="2026-05-01T12:00:00.000000Z",
        changes=[Change("priority", "low", "high")],
        extra={"ticket_id": "not me", "comment_id": "c1"},
    )
    assert event.detail == {
        "schema_version": 1,
        "ticket_id": "t1",  # extras never override the contract's keys
        "version": 4,
        "actor_id": "u1",
        "at": "2026-05-01T12:00:00.000000Z",
        "changes": [{"property": "priority", "old": "low", "new": "high"}],
        "comment_id": "c1",
    }
    assert json.loads(encode_detail(event.detail)) == event.detail
    with pytest.raises(ValueError):
        ticket_event("ticket.exploded", event_id="e", ticket_id="t", version=1, actor_id="u", at="x")


def image(kind: str = "event") -> dict:
    return {"kind": {"S": kind}, "id": {"S": "e1"}, "type": {"S": "ticket.created"}, "at": {"S": "a"}, "ticket_id": {"S": "t"}}


def test_only_inserted_event_items_are_outgoing():
    insert = {"eventName": "INSERT", "dynamodb": {"NewImage": image(), "SequenceNumber": "7"}}
    assert outgoing_from_stream(insert) == Outgoing("7", "e1", "ticket.created", "a", "t", "{}")
    assert outgoing_from_stream({**insert, "eventName": "MODIFY"}) is None
    assert outgoing_from_stream({"eventName": "REMOVE", "dynamodb": {"OldImage": image()}}) is None
    assert outgoing_from_stream({"eventName": "INSERT", "dynamodb": {"NewImage": image("ticket")}}) is None


@given(st.integers(min_value=0, max_value=95))
def test_batches_keep_order_and_hold_at_most_ten(n):
    items = [Outgoing(str(i), f"e{i}", "t", "a", "t", "{}") for i in range(n)]
    chunks = list(batches(items))
    assert [o for chunk in chunks for o in chunk] == items
    assert all(1 <= len(chunk) <= 10 for chunk in chunks)


def test_the_window_reads_after_the_cursor_and_only_settled_events():
    window = feed_window("2026-05-01T11:00:00.000000Z#e9", NOW, stamp)
    assert window.after == "2026-05-01T11:00:00.000000Z#e9" == window.polled_from
    assert window.settled_before == stamp(NOW - SETTLE_WINDOW)


def test_the_window_never_reads_past_the_retention():
    fresh = feed_window(None, NOW, stamp)
    assert fresh.after == stamp(NOW - RETENTION) == fresh.polled_from
    ancient = feed_window("2020-01-01T00:00:00.000000Z#e1", NOW, stamp)
    assert ancient.after == stamp(NOW - RETENTION) and ancient.polled_from == "2020-01-01T00:00:00.000000Z#e1"


def test_the_next_position_never_skips_what_was_not_read():
    assert next_position("p", [], None) == "p"  # empty page: poll again from the same place
    assert next_position("p", ["a", "b"], None) == "b"
    assert next_position("p", ["a"], "c") == "c"  # filtered-out events up to c were read
    assert next_position("p", [], "c") == "c"


def test_a_workflow_stamp_sorts_after_every_api_stamp_of_its_millisecond():
    """ASL writes millisecond stamps; treating them as the end of their millisecond keeps the
    settle window conservative (never returned early)."""
    api = stamp(datetime(2026, 5, 1, 12, 0, 0, 123999, tzinfo=UTC))
    workflow = "2026-05-01T12:00:00.123Z"
    assert api < workflow < stamp(datetime(2026, 5, 1, 12, 0, 0, 124000, tzinfo=UTC))


def test_large_values_are_left_out_of_the_event():
    event = ticket_event(
        "ticket.updated",
        event_id="e",
        ticket_id="t",
        version=2,
        actor_id="u",
        at="a",
        changes=[Change("description", "short", "x" * 70_000), Change("priority", "low", "high")],
    )
    big, small = event.detail["changes"]
    assert big == {"property": "description", "old": None, "new": None, "truncated": True}
    assert small == {"property": "priority", "old": "low", "new": "high"}


def test_batches_also_stay_under_the_put_events_size_limit():
    big = [Outgoing(str(i), f"e{i}", "t", "a", "t", "x" * 60_000) for i in range(9)]
    chunks = list(batches(big))
    assert [len(c) for c in chunks] == [3, 3, 3]
