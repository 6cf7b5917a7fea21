"""A refused transaction is explained by which item's condition failed, found by the item's key:
a PynamoDB release that orders a transaction's items differently must not change the answer."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tests.api.test_bad_input import assert_problem
from tests.api.test_comments import comment, timeline


@contextlib.contextmanager
def transaction_items_sent_in_reverse() -> Iterator[None]:
    """Stands in for a library upgrade: every TransactWriteItems request lists its items reversed."""
    from pynamodb.connection.base import Connection

    original = Connection.dispatch

    def dispatch(self, operation_name, operation_kwargs):
        if operation_name == "TransactWriteItems":
            operation_kwargs["TransactItems"].reverse()
        return original(self, operation_name, operation_kwargs)

    Connection.dispatch = dispatch
    try:
        yield
    finally:
        Connection.dispatch = original


def test_an_unknown_cc_is_a_422_naming_the_field_whatever_order_the_items_are_sent_in(world, make_ticket):
    agent = world["agent_all"]
    ticket = make_ticket(requester_id="alice")

    with transaction_items_sent_in_reverse():
        problem = assert_problem(comment(agent, ticket["id"], cc=["ghost"], visibility="public"), 422)

    assert problem["errors"] == [{"field": "cc", "message": "does not exist"}]
    assert timeline(agent, ticket["id"]) == []
