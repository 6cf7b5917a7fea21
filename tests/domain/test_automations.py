"""Automation rules (chalicelib/domain/automations.py): triggers, conditions, the changes actions
make, validation, and the loop guard (a rule's own output never triggers a rule)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import automations as auto
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.tickets import PRIORITIES, TYPES, Ticket

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CUSTOMER_REPLY = auto.Occurrence(auto.COMMENT_CREATED, "alice", author_role="customer", visibility="public")


def ticket(**fields: object) -> Ticket:
    values: dict = {"id": "t1", "number": 1, "subject": "Help", "description": "", "requester_id": "alice"}
    values.update(created_at=NOW, updated_at=NOW, last_activity_at=NOW)
    values.update(fields)
    return Ticket(**values)


def rule(rule_id: str = "r", trigger: str = auto.TICKET_CREATED, position: int = 0, actions=None, **conditions) -> auto.Rule:
    data = auto.check_rule(
        {
            "trigger": {"event": trigger},
            "conditions": conditions,
            "actions": actions or [{"type": "set_priority", "priority": "high"}],
            "position": position,
        }
    )
    return auto.Rule.from_record(rule_id, rule_id, data)


def test_a_rule_fires_only_for_its_trigger_and_when_every_condition_holds():
    urgent_vip = rule(trigger=auto.TICKET_CREATED, priorities=["urgent"], tags=["vip", "gold"], channels=["email"])
    created = auto.Occurrence(auto.TICKET_CREATED, "agent-1", author_role="agent")
    assert auto.triggered([urgent_vip], ticket(priority="urgent", tags=["gold"], channel="email"), created)
    assert not auto.triggered([urgent_vip], ticket(priority="low", tags=["gold"], channel="email"), created)
    assert not auto.triggered([urgent_vip], ticket(priority="urgent", tags=[], channel="email"), created)
    updated = dataclasses.replace(created, type=auto.TICKET_UPDATED)
    assert not auto.triggered([urgent_vip], ticket(priority="urgent", tags=["gold"], channel="email"), updated)


def test_comment_rules_see_the_authors_role_and_the_comments_visibility():
    on_customer_reply = rule(trigger=auto.COMMENT_CREATED, author_roles=["customer"], comment_visibilities=["public"])
    assert auto.triggered([on_customer_reply], ticket(), CUSTOMER_REPLY)
    agent_reply = auto.Occurrence(auto.COMMENT_CREATED, "agent-1", author_role="agent", visibility="public")
    customer_note = dataclasses.replace(CUSTOMER_REPLY, visibility="internal")
    assert not auto.triggered([on_customer_reply], ticket(), agent_reply)
    assert not auto.triggered([on_customer_reply], ticket(), customer_note)


def test_rules_run_lowest_position_first_and_inactive_ones_never():
    rules = [rule("b", position=1), rule("a", position=1), rule("z", position=0)]
    off = dataclasses.replace(rule("first", position=-1), active=False)
    fired = auto.triggered([*rules, off], ticket(), auto.Occurrence(auto.TICKET_CREATED, "alice"))
    assert [r.id for r in fired] == ["z", "a", "b"]


def test_an_automations_own_event_triggers_nothing_even_a_rule_that_matches_it():
    everything = rule(trigger=auto.TICKET_UPDATED)
    own = auto.Occurrence(auto.TICKET_UPDATED, everything.actor_id)
    assert auto.triggered([everything], ticket(), auto.Occurrence(auto.TICKET_UPDATED, "agent-1"))
    assert auto.triggered([everything], ticket(), own) == []


def test_the_default_reopens_pending_and_resolved_tickets_on_a_customers_public_reply():
    _, reopen = auto.BUILT_IN[auto.REOPEN_ON_CUSTOMER_REPLY]
    for category in ("pending", "resolved"):
        t = ticket(status=category, status_category=category)
        assert auto.triggered([reopen], t, CUSTOMER_REPLY) == [reopen]
        assert auto.property_patch(reopen, t) == ({"status": "open"}, [])
    assert not auto.triggered([reopen], ticket(status="closed", status_category="closed"), CUSTOMER_REPLY)
    assert not auto.triggered([reopen], ticket(status="open"), CUSTOMER_REPLY)


def test_actions_patch_only_what_changes_and_tags_add_and_remove_in_order():
    r = rule(
        actions=[
            {"type": "set_priority", "priority": "normal"},
            {"type": "add_tags", "tags": ["VIP", "billing"]},
            {"type": "remove_tags", "tags": ["old"]},
            {"type": "set_team", "team_id": "support"},
            {"type": "add_follower", "user_id": "agent-1"},
            {"type": "internal_note", "body": "Escalate if no answer"},
        ]
    )
    patch, followers = auto.property_patch(r, ticket(priority="normal", tags=["old", "vip"], team_id="billing"))
    assert patch == {"tags": ["vip", "billing"], "team_id": "support"}
    assert followers == ["agent-1"]
    assert [m.type for m in auto.messages(r)] == ["internal_note"]
    assert auto.property_patch(r, ticket(tags=["vip", "billing"], team_id="support", followers=["agent-1"])) == ({}, [])


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"trigger": {"event": "ticket.exploded"}}, "trigger.event"),
        ({"trigger": {"event": "time"}}, "trigger.status_category"),  # a time rule needs its category and delay
        ({"conditions": {"colors": ["red"]}}, "conditions.colors"),
        ({"conditions": {"priorities": ["meh"]}}, "conditions.priorities"),
        ({"conditions": {"comment_visibilities": ["public"]}}, "conditions.comment_visibilities"),
        ({"conditions": {"tags": ["t"] * 51}}, "conditions.tags"),
        ({"actions": []}, "actions"),
        ({"actions": [{"type": "explode"}]}, "actions[0].type"),
        ({"actions": [{"type": "set_priority", "priority": "meh"}]}, "actions[0].priority"),
        ({"actions": [{"type": "add_tags", "tags": []}]}, "actions[0].tags"),
        ({"actions": [{"type": "internal_note", "body": "x" * 4001}]}, "actions[0].body"),
        ({"actions": [{"type": "set_priority", "priority": "low"}] * 11}, "actions"),
    ],
)
def test_a_bad_rule_names_the_field(data, field):
    base = {"trigger": {"event": auto.TICKET_CREATED}, "actions": [{"type": "set_priority", "priority": "low"}]}
    with pytest.raises(ValidationFailed) as caught:
        auto.check_rule({**base, **data})
    assert field in [e.field for e in caught.value.errors]


def test_the_cap_window_is_fixed_and_the_cap_is_reached_at_its_count():
    assert auto.window_start(datetime(2026, 12, 1, 9, 59, 59, tzinfo=UTC)) == datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert not auto.over_cap(auto.CAP_PER_WINDOW - 1) and auto.over_cap(auto.CAP_PER_WINDOW)


# -- the loop guard, as a property ------------------------------------------------------------
ACTIONS = st.one_of(
    st.builds(lambda p: {"type": "set_priority", "priority": p}, st.sampled_from(PRIORITIES)),
    st.builds(lambda t: {"type": "set_type", "ticket_type": t}, st.sampled_from(TYPES)),
    st.builds(lambda s: {"type": "set_status", "status": s}, st.sampled_from(("open", "pending", "resolved"))),
    st.builds(lambda t: {"type": "add_tags", "tags": t}, st.lists(st.sampled_from("abc"), min_size=1, max_size=2)),
    st.builds(lambda t: {"type": "remove_tags", "tags": t}, st.lists(st.sampled_from("abc"), min_size=1, max_size=2)),
    st.just({"type": "internal_note", "body": "noted"}),
    st.just({"type": "template_reply", "template_id": "thanks"}),
)
RULES = st.lists(
    st.builds(
        lambda i, trigger, priorities, tags, roles, actions: rule(
            f"r{i}", trigger, actions=actions, priorities=priorities, tags=tags, author_roles=roles
        ),
        st.integers(0, 99),
        st.sampled_from(auto.TRIGGERS),
        st.lists(st.sampled_from(PRIORITIES), max_size=2),
        st.lists(st.sampled_from("abc"), max_size=2),
        st.lists(st.sampled_from(auto.ROLES), max_size=2),
        st.lists(ACTIONS, min_size=1, max_size=4),
    ),
    max_size=6,
)


def outcome(r: auto.Rule, t: Ticket) -> tuple[Ticket, list[auto.Occurrence]]:
    """The ticket after the rule's actions, and the events its writes publish (by the rule)."""
    patch, followers = auto.property_patch(r, t)
    status = patch.get("status", t.status)
    after = dataclasses.replace(t, **patch, status_category=status, followers=[*t.followers, *followers])
    produced = [auto.Occurrence(auto.TICKET_UPDATED, r.actor_id, author_role="admin")] if patch or followers else []
    produced += [
        auto.Occurrence(auto.COMMENT_CREATED, r.actor_id, author_role="admin", visibility=v)
        for v in ("internal" if m.type == "internal_note" else "public" for m in auto.messages(r))
    ]
    return after, produced


@settings(max_examples=200, deadline=None)
@given(
    rules=RULES,
    first=st.sampled_from(auto.TRIGGERS),
    role=st.sampled_from(auto.ROLES),
    priority=st.sampled_from(PRIORITIES),
    tags=st.lists(st.sampled_from("abc"), max_size=3, unique=True),
)
def test_no_sequence_of_rules_applied_to_their_own_output_triggers_again(rules, first, role, priority, tags):
    current = ticket(priority=priority, tags=tags)
    pending = [auto.Occurrence(first, "someone", author_role=role, visibility="public")]
    rounds = 0
    while pending:
        occurrence = pending.pop()
        fired = auto.triggered(rules, current, occurrence)
        if rounds:
            assert fired == [], "an automation's own change triggered a rule"
        for r in fired:
            current, produced = outcome(r, current)
            pending += produced
        rounds += 1
    assert rounds <= 1 + sum(len(r.actions) for r in rules)


def test_the_apis_trigger_names_are_the_domains():
    from typing import get_args

    from chalicelib.api.automations import Event

    assert get_args(Event) == (*auto.TRIGGERS, auto.TIME_TRIGGER)


def test_a_time_rule_is_stored_with_its_category_and_delay_and_read_back_as_a_timed_rule():
    data = auto.check_rule(
        {
            "trigger": {"event": "time", "status_category": "pending", "after": {"business_days": 3}},
            "actions": [{"type": "internal_note", "body": "Reminder"}],
        }
    )
    assert data["trigger"] == {"event": "time", "status_category": "pending", "after": {"business_days": 3}}
    rule = auto.Rule.from_record("remind", "Remind", data)
    assert rule.timing is not None and (rule.timing.status_category, rule.timing.unit, rule.timing.amount) == (
        "pending",
        "business_days",
        3,
    )
    assert rule.to_data()["trigger"] == data["trigger"]
    assert auto.timed([rule, dataclasses.replace(rule, id="off", active=False)]) == [rule]
