"""The Zendesk vocabulary: search queries and statuses, translated to our filters."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.zendesk import SEARCH_KEYS, parse_search, status_in, ticket_shape, zendesk_status


def test_a_search_becomes_the_list_filters_of_v1():
    found = parse_search("type:ticket status:pending priority:high requester:alice assignee:none tags:vip created>2026-11-01")
    assert found.filters == {
        "status_category": "pending",
        "priority": "high",
        "requester_id": "alice",
        "assignee_id": "-",
        "tag": "vip",
    }
    assert found.created_after == datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "query",
    [
        "printer",
        "type:ticket printer",
        "type:user",
        "type:ticket status:bogus",
        "type:ticket created<2026-01-01",
        "",
        "status:open",
    ],
)
def test_what_cannot_be_filtered_is_refused_never_dropped(query):
    with pytest.raises(ValidationFailed):
        parse_search(query)


_TERMS = st.tuples(
    st.sampled_from([*SEARCH_KEYS, "x", ""]),
    st.sampled_from([":", ">", ">=", "<", ""]),
    st.one_of(st.text(max_size=30), st.dates().map(str), st.sampled_from(["ticket", "2026-13-45", "none", '"a'])),
).map("".join)


@given(st.one_of(st.text(max_size=300), st.lists(_TERMS, max_size=8).map(" ".join)))
def test_any_text_is_a_search_or_a_422_never_another_error(text):
    with contextlib.suppress(ValidationFailed):
        parse_search(text)


def test_statuses_map_through_their_category_and_hold_by_name():
    assert zendesk_status("resolved", "resolved") == "solved"
    assert zendesk_status("waiting_on_vendor", "pending") == "pending"
    assert zendesk_status("hold", "pending") == "hold"
    assert status_in("solved") == "resolved" and status_in("new") == "open"
    with pytest.raises(ValidationFailed):
        status_in("deleted")


def test_a_ticket_is_addressed_by_its_number_and_keeps_our_id_as_external_id():
    shaped = ticket_shape(
        {"id": "abc", "number": 7, "subject": "s", "status": "open", "status_category": "open", "type": "request"},
        "https://h.example",
    )
    assert shaped["id"] == 7 and shaped["external_id"] == "abc" and shaped["type"] == "question"
    assert shaped["url"] == "https://h.example/api/v2/tickets/7.json"
