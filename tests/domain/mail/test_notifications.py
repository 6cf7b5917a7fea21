"""What a notification says (pure): the event from the bus, each version's text."""

from __future__ import annotations

import pytest

from chalicelib.domain.events import Event
from chalicelib.domain.mail import notifications


def _event(event_type: str, changes: list[dict[str, object]]) -> Event:
    detail = {"event_id": "e1", "ticket_id": "t1", "actor_id": "agent-1", "at": "2026-12-01T10:00:00Z", "changes": changes}
    return Event(id="e1", type=event_type, at="2026-12-01T10:00:00Z", ticket_id="t1", detail=detail)


def test_the_bus_message_gives_the_outbox_event():
    message = {"detail-type": "comment.created", "detail": {"event_id": "e1", "ticket_id": "t1", "at": "x"}}
    event = notifications.event_from_bus(message)
    assert (event.id, event.type, event.ticket_id) == ("e1", "comment.created", "t1")


@pytest.mark.parametrize(
    "message",
    [{}, {"detail-type": "comment.created"}, {"detail-type": "x", "detail": {"event_id": "e1"}}, {"detail": {"ticket_id": "t"}}],
)
def test_a_message_without_event_or_ticket_is_refused(message):
    with pytest.raises(ValueError):
        notifications.event_from_bus(message)


def test_the_customer_version_names_no_agent_only_change_and_the_agent_version_all():
    event = _event(
        "ticket.updated",
        [{"property": "status", "old": "open", "new": "resolved"}, {"property": "tags", "old": [], "new": ["vip"]}],
    )
    customer = notifications.text(event, "customer", actor_name="Ann", ticket_subject="VPN")
    agent = notifications.text(event, "agent", actor_name="Ann", ticket_subject="VPN")
    assert "status: open → resolved" in customer and "tags" not in customer and "vip" not in customer
    assert "tags" in agent and "vip" in agent
    assert customer.endswith(notifications.REPLY_HINT)


def test_an_internal_note_says_so_and_an_escalation_names_its_stage():
    note = notifications.text(
        _event("comment.created", []),
        "agent",
        actor_name="Ann",
        ticket_subject="s",
        comment_body="cert",
        comment_visibility="internal",
    )
    assert note.startswith("Ann added an internal note") and "cert" in note
    stage = _event("escalation.stage_changed", [{"property": "escalation.stage", "old": None, "new": "verification"}])
    assert "moved to: verification" in notifications.text(stage, "customer", actor_name="", ticket_subject="s")


def test_a_long_value_is_cut_in_the_mail():
    event = _event("ticket.updated", [{"property": "subject", "old": "a", "new": "x" * 1000}])
    text = notifications.text(event, "agent", actor_name="Ann", ticket_subject="s")
    assert "x" * notifications.MAX_VALUE_CHARS not in text and "…" in text
