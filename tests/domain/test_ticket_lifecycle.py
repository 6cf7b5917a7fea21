"""Ticket creation and property changes: defaults, history, versions, normalization, closing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import Conflict, InvalidTransition, ValidationFailed
from chalicelib.domain.statuses import Status, StatusCatalog
from chalicelib.domain.tickets import (
    EDITABLE,
    MAX_CC,
    MAX_TAGS,
    Change,
    Ticket,
    apply_patch,
    create_ticket,
    normalize_tags,
)

CREATED = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 21, 10, 30, tzinfo=UTC)
CATALOG = StatusCatalog([Status("waiting_on_vendor", "pending"), Status("archived", "closed")])


def new_ticket(values: dict[str, Any] | None = None, **kwargs: Any) -> tuple[Ticket, list[Change]]:
    args: dict[str, Any] = {
        "ticket_id": "T1",
        "number": 1,
        "values": {"subject": "Printer on fire", "description": "It is on fire.", **(values or {})},
        "requester_id": "alice",
        "organization_id": "acme",
        "catalog": CATALOG,
        "now": CREATED,
    }
    args.update(kwargs)
    return create_ticket(**args)


def patch(ticket: Ticket, **values: Any) -> tuple[Ticket, list[Change]]:
    return apply_patch(ticket, values, catalog=CATALOG, now=LATER)


# -- creation ------------------------------------------------------------------------


def test_create_applies_defaults() -> None:
    ticket, _ = new_ticket()
    assert (ticket.status, ticket.status_category) == ("open", "open")
    assert ticket.priority == "normal"
    assert ticket.type == "request"
    assert ticket.channel == "api"
    assert ticket.activity_status == "unread"
    assert ticket.version == 1
    assert ticket.created_at == ticket.updated_at == ticket.last_activity_at == CREATED
    assert ticket.closed_at is None and ticket.deleted_at is None
    assert ticket.assignee_id is None and ticket.team_id is None
    assert ticket.cc == [] and ticket.tags == [] and ticket.followers == [] and ticket.custom_fields == {}
    assert (ticket.requester_id, ticket.organization_id) == ("alice", "acme")


def test_create_keeps_given_values() -> None:
    ticket, _ = new_ticket(
        {"status": "pending", "priority": "urgent", "type": "incident", "channel": "phone", "team_id": "billing"}
    )
    assert (ticket.status, ticket.status_category) == ("pending", "pending")
    assert (ticket.priority, ticket.type, ticket.channel, ticket.team_id) == ("urgent", "incident", "phone", "billing")


def test_create_null_values_fall_back_to_defaults() -> None:
    ticket, _ = new_ticket({"status": None, "priority": None, "type": None, "channel": None, "custom_fields": None})
    assert (ticket.status, ticket.priority, ticket.type, ticket.channel) == ("open", "normal", "request", "api")
    assert ticket.custom_fields == {}


def test_create_null_tags_and_cc_fall_back_to_empty_lists() -> None:
    # create_ticket reads them as `fields.get("tags") or []`, and _normalized skips None,
    # so null must mean "none" here too rather than crash in the bounds check.
    ticket, _ = new_ticket({"tags": None, "cc": None})
    assert ticket.tags == [] and ticket.cc == []


def test_create_history_lists_set_properties_with_old_none() -> None:
    _, history = new_ticket({"tags": ["vip"], "assignee_id": "agnes", "custom_fields": {"plan": "gold"}})
    assert all(change.old in (None, []) for change in history)
    assert {c.property: c.new for c in history} == {
        "subject": "Printer on fire",
        "description": "It is on fire.",
        "status": "open",
        "priority": "normal",
        "type": "request",
        "channel": "api",
        "requester_id": "alice",
        "organization_id": "acme",
        "assignee_id": "agnes",
        "tags": ["vip"],
        "custom_fields": {"plan": "gold"},
        "followers": ["agnes"],  # the assignee's auto-follow, recorded like any follow
    }


def test_create_history_omits_unset_properties_and_follows_editable_order() -> None:
    _, history = new_ticket(organization_id=None)
    names = [c.property for c in history]
    assert not {"organization_id", "assignee_id", "team_id", "cc", "tags", "custom_fields"} & set(names)
    assert names == [name for name in EDITABLE if name in names]


def test_create_with_custom_status_takes_its_category() -> None:
    ticket, _ = new_ticket({"status": "waiting_on_vendor"})
    assert (ticket.status, ticket.status_category) == ("waiting_on_vendor", "pending")


def test_create_with_unknown_status_fails_validation() -> None:
    with pytest.raises(ValidationFailed) as raised:
        new_ticket({"status": "on_fire"})
    assert [e.field for e in raised.value.errors] == ["status"]


def test_create_closed_sets_closed_at() -> None:
    ticket, _ = new_ticket({"status": "closed"})
    assert ticket.is_closed and ticket.closed_at == CREATED


def test_create_assignee_auto_follows() -> None:
    ticket, _ = new_ticket({"assignee_id": "agnes"})
    assert ticket.followers == ["agnes"]


def test_create_normalizes_tags() -> None:
    ticket, _ = new_ticket({"tags": [" VIP ", "vip", "Billing", "  ", "billing"]})
    assert ticket.tags == ["vip", "billing"]


def test_create_dedupes_cc_and_drops_the_requester() -> None:
    ticket, _ = new_ticket({"cc": ["bob", "alice", "bob", "carol"]})
    assert ticket.cc == ["bob", "carol"]


def test_create_with_too_many_tags_fails_validation() -> None:
    with pytest.raises(ValidationFailed) as raised:
        new_ticket({"tags": [f"t{i}" for i in range(MAX_TAGS + 1)]})
    assert [e.field for e in raised.value.errors] == ["tags"]


def test_create_with_too_many_cc_fails_validation() -> None:
    with pytest.raises(ValidationFailed) as raised:
        new_ticket({"cc": [f"u{i}" for i in range(MAX_CC + 1)]})
    assert [e.field for e in raised.value.errors] == ["cc"]


def test_create_counts_tags_and_cc_after_normalization() -> None:
    ticket, _ = new_ticket({"tags": [f"t{i % MAX_TAGS}" for i in range(MAX_TAGS * 2)], "cc": ["bob"] * (MAX_CC + 5)})
    assert len(ticket.tags) == MAX_TAGS and ticket.cc == ["bob"]


def test_create_accepts_exactly_the_maximum() -> None:
    ticket, _ = new_ticket({"tags": [f"t{i}" for i in range(MAX_TAGS)], "cc": [f"u{i}" for i in range(MAX_CC)]})
    assert len(ticket.tags) == MAX_TAGS and len(ticket.cc) == MAX_CC


# -- patching ------------------------------------------------------------------------


def test_patch_records_one_change_per_changed_property() -> None:
    ticket, _ = new_ticket()
    updated, changes = patch(ticket, priority="high", type="incident", subject="Printer still on fire")
    assert changes == [
        Change("subject", "Printer on fire", "Printer still on fire"),
        Change("priority", "normal", "high"),
        Change("type", "request", "incident"),
    ]
    assert (updated.subject, updated.priority, updated.type) == ("Printer still on fire", "high", "incident")


def test_patch_bumps_version_by_one_and_stamps_updated_at() -> None:
    ticket, _ = new_ticket()
    once, _ = patch(ticket, priority="high")
    twice, _ = patch(once, priority="low")
    assert (ticket.version, once.version, twice.version) == (1, 2, 3)
    assert once.updated_at == LATER
    assert once.created_at == CREATED


def test_patch_does_not_mutate_the_original() -> None:
    ticket, _ = new_ticket({"tags": ["vip"], "cc": ["bob"], "custom_fields": {"plan": "gold"}})
    patch(ticket, tags=["other"], cc=["carol"], custom_fields={"plan": None}, assignee_id="agnes", priority="high")
    assert ticket.tags == ["vip"] and ticket.cc == ["bob"] and ticket.custom_fields == {"plan": "gold"}
    assert ticket.followers == [] and ticket.priority == "normal" and ticket.version == 1


def test_patch_with_unchanged_values_records_nothing_and_keeps_version() -> None:
    ticket, _ = new_ticket({"priority": "high", "tags": ["vip"], "custom_fields": {"plan": "gold"}})
    updated, changes = patch(
        ticket, priority="high", status="open", tags=[" VIP"], custom_fields={"plan": "gold"}, subject=ticket.subject
    )
    assert changes == []
    assert updated.version == ticket.version
    assert updated.updated_at == CREATED


def test_empty_patch_changes_nothing() -> None:
    ticket, _ = new_ticket()
    updated, changes = patch(ticket)
    assert changes == [] and updated.version == 1


def test_patch_only_records_the_properties_that_moved() -> None:
    ticket, _ = new_ticket({"priority": "high"})
    _, changes = patch(ticket, priority="high", type="problem")
    assert changes == [Change("type", "request", "problem")]


def test_assignee_auto_follows_on_patch() -> None:
    ticket, _ = new_ticket()
    updated, changes = patch(ticket, assignee_id="agnes")
    assert updated.followers == ["agnes"]
    assert changes == [Change("assignee_id", None, "agnes"), Change("followers", [], ["agnes"])]


def test_reassignment_keeps_previous_followers_and_adds_the_new_assignee() -> None:
    ticket, _ = new_ticket({"assignee_id": "agnes"})
    updated, _ = patch(ticket, assignee_id="bert")
    assert updated.followers == ["agnes", "bert"]


def test_unassigning_records_none() -> None:
    ticket, _ = new_ticket({"assignee_id": "agnes"})
    updated, changes = patch(ticket, assignee_id=None)
    assert updated.assignee_id is None
    assert changes == [Change("assignee_id", "agnes", None)]


def test_patch_normalizes_tags() -> None:
    ticket, _ = new_ticket()
    updated, changes = patch(ticket, tags=["  Billing", "VIP", "billing ", "vip", ""])
    assert updated.tags == ["billing", "vip"]
    assert changes == [Change("tags", [], ["billing", "vip"])]


def test_patch_dedupes_cc() -> None:
    ticket, _ = new_ticket()
    updated, _ = patch(ticket, cc=["bob", "carol", "bob"])
    assert updated.cc == ["bob", "carol"]


def test_custom_fields_merge_into_existing_ones() -> None:
    ticket, _ = new_ticket({"custom_fields": {"plan": "gold", "seats": 10}})
    updated, changes = patch(ticket, custom_fields={"seats": 12, "region": "eu"})
    assert updated.custom_fields == {"plan": "gold", "seats": 12, "region": "eu"}
    assert changes == [Change("custom_fields", {"plan": "gold", "seats": 10}, {"plan": "gold", "seats": 12, "region": "eu"})]


def test_custom_field_set_to_null_is_removed() -> None:
    ticket, _ = new_ticket({"custom_fields": {"plan": "gold", "seats": 10}})
    updated, changes = patch(ticket, custom_fields={"plan": None})
    assert updated.custom_fields == {"seats": 10}
    assert changes == [Change("custom_fields", {"plan": "gold", "seats": 10}, {"seats": 10})]


def test_removing_a_missing_custom_field_is_no_change() -> None:
    ticket, _ = new_ticket({"custom_fields": {"plan": "gold"}})
    updated, changes = patch(ticket, custom_fields={"seats": None})
    assert changes == [] and updated.version == 1


def test_patch_status_to_custom_status_sets_its_category() -> None:
    ticket, _ = new_ticket()
    updated, changes = patch(ticket, status="waiting_on_vendor")
    assert (updated.status, updated.status_category) == ("waiting_on_vendor", "pending")
    assert changes == [Change("status", "open", "waiting_on_vendor")]
    assert updated.closed_at is None


def test_closing_sets_closed_at() -> None:
    ticket, _ = new_ticket()
    updated, changes = patch(ticket, status="closed")
    assert updated.is_closed and updated.closed_at == LATER
    assert changes == [Change("status", "open", "closed")]


def test_closing_with_a_custom_closed_status_sets_closed_at() -> None:
    ticket, _ = new_ticket({"status": "pending"})
    updated, _ = patch(ticket, status="archived")
    assert updated.status_category == "closed" and updated.closed_at == LATER


def test_resolving_does_not_set_closed_at() -> None:
    ticket, _ = new_ticket()
    updated, _ = patch(ticket, status="resolved")
    assert updated.status_category == "resolved" and updated.closed_at is None


def test_reopening_a_resolved_ticket_is_allowed() -> None:
    ticket, _ = new_ticket({"status": "resolved"})
    updated, _ = patch(ticket, status="open")
    assert updated.status_category == "open"


@pytest.mark.parametrize("values", [{"priority": "high"}, {"status": "open"}, {"tags": ["x"]}, {"status": "closed"}])
def test_closed_ticket_is_read_only(values: dict[str, Any]) -> None:
    ticket, _ = new_ticket({"status": "closed"})
    with pytest.raises(Conflict):
        apply_patch(ticket, values, catalog=CATALOG, now=LATER)


def test_ticket_closed_by_patch_is_read_only_afterwards() -> None:
    ticket, _ = new_ticket()
    closed, _ = patch(ticket, status="closed")
    with pytest.raises(Conflict):
        patch(closed, priority="urgent")


def test_moving_out_of_closed_is_refused() -> None:
    # A ticket stored as closed (e.g. by a merge) may not be reopened through a patch.
    ticket, _ = new_ticket({"status": "archived"})
    for target in ("open", "pending", "waiting_on_vendor", "resolved"):
        with pytest.raises(Conflict):
            patch(ticket, status=target)


def test_moving_out_of_closed_is_an_invalid_transition_when_the_status_check_runs() -> None:
    # The read-only guard fires first (Conflict); the move table itself answers InvalidTransition.
    from chalicelib.domain.statuses import check_move

    for target in ("open", "pending", "waiting_on_vendor", "resolved"):
        with pytest.raises(InvalidTransition):
            check_move(CATALOG.require("closed"), CATALOG.require(target))


def test_patch_to_unknown_status_fails_validation() -> None:
    ticket, _ = new_ticket()
    with pytest.raises(ValidationFailed) as raised:
        patch(ticket, status="on_fire")
    assert [e.field for e in raised.value.errors] == ["status"]


def test_patch_with_too_many_tags_fails_validation() -> None:
    ticket, _ = new_ticket()
    with pytest.raises(ValidationFailed) as raised:
        patch(ticket, tags=[f"t{i}" for i in range(MAX_TAGS + 1)])
    assert [e.field for e in raised.value.errors] == ["tags"]


def test_patch_with_too_many_cc_fails_validation() -> None:
    ticket, _ = new_ticket()
    with pytest.raises(ValidationFailed) as raised:
        patch(ticket, cc=[f"u{i}" for i in range(MAX_CC + 1)])
    assert [e.field for e in raised.value.errors] == ["cc"]


def test_patch_with_too_many_tags_and_cc_reports_both() -> None:
    ticket, _ = new_ticket()
    with pytest.raises(ValidationFailed) as raised:
        patch(ticket, tags=[f"t{i}" for i in range(MAX_TAGS + 1)], cc=[f"u{i}" for i in range(MAX_CC + 1)])
    assert sorted(e.field for e in raised.value.errors) == ["cc", "tags"]


@pytest.mark.parametrize("name", ["version", "id", "followers", "closed_at", "nonsense"])
def test_patch_of_non_editable_property_fails_validation(name: str) -> None:
    ticket, _ = new_ticket()
    with pytest.raises(ValidationFailed) as raised:
        patch(ticket, **{name: "x"})
    assert [e.field for e in raised.value.errors] == [name]


def test_patch_with_empty_subject_fails_validation() -> None:
    ticket, _ = new_ticket()
    with pytest.raises(ValidationFailed) as raised:
        patch(ticket, subject="")
    assert [e.field for e in raised.value.errors] == ["subject"]


def test_patch_cannot_remove_the_requester() -> None:
    ticket, _ = new_ticket()
    with pytest.raises(ValidationFailed) as raised:
        patch(ticket, requester_id=None)
    assert [e.field for e in raised.value.errors] == ["requester_id"]


def test_failed_patch_leaves_the_ticket_untouched() -> None:
    ticket, _ = new_ticket()
    with pytest.raises(ValidationFailed):
        patch(ticket, priority="high", status="on_fire")
    assert ticket.priority == "normal" and ticket.version == 1


# -- properties ------------------------------------------------------------------------

SCALARS = {
    "priority": st.sampled_from(["low", "normal", "high", "urgent"]),
    "type": st.sampled_from(["incident", "problem", "request", "change"]),
    "status": st.sampled_from(["open", "pending", "resolved", "waiting_on_vendor"]),
    "assignee_id": st.sampled_from([None, "agnes", "bert"]),
    "team_id": st.sampled_from([None, "billing", "sales"]),
    "tags": st.lists(st.sampled_from(["vip", "VIP", " bug", "billing"]), max_size=4),
    "cc": st.lists(st.sampled_from(["bob", "carol", "dave"]), max_size=4),
    "custom_fields": st.dictionaries(st.sampled_from(["plan", "seats"]), st.sampled_from([None, "a", "b"]), max_size=2),
}


@settings(max_examples=150, deadline=None)
@given(
    start=st.fixed_dictionaries({}, optional={k: v for k, v in SCALARS.items() if k != "custom_fields"}),
    patches=st.lists(st.fixed_dictionaries({}, optional=SCALARS), max_size=5),
)
def test_history_replays_to_the_current_ticket(start: dict[str, Any], patches: list[dict[str, Any]]) -> None:
    ticket, history = new_ticket(start)
    state = {c.property: c.new for c in history}
    for values in patches:
        before = ticket
        ticket, changes = patch(ticket, **values)
        assert ticket.version == before.version + (1 if changes else 0)
        assert len({c.property for c in changes}) == len(changes)
        for change in changes:
            assert change.old != change.new
            assert change.old == state.get(change.property, getattr(before, change.property))
            state[change.property] = change.new
        if ticket.assignee_id:
            assert ticket.assignee_id in ticket.followers
        assert ticket.tags == normalize_tags(ticket.tags)
        assert None not in ticket.custom_fields.values()
    for name in EDITABLE:
        if name in state:
            assert getattr(ticket, name) == state[name]


def test_description_is_stored_sanitized_on_create_and_patch():
    """django-helpdesk GHSA (PR #985): script in a ticket description ran for every viewer."""
    ticket, _ = create_ticket(
        ticket_id="t1",
        number=1,
        values={"subject": "<b>kept verbatim</b>", "description": '<p onclick="x()">hi</p><script>alert(1)</script>'},
        requester_id="alice",
        organization_id=None,
        catalog=StatusCatalog(),
        now=CREATED,
    )
    assert ticket.description == "<p>hi</p>"
    assert ticket.subject == "<b>kept verbatim</b>"
    patched, _ = apply_patch(ticket, {"description": '<a href="javascript:alert(1)">x</a>'}, catalog=StatusCatalog(), now=LATER)
    assert "javascript" not in patched.description


def test_an_assignee_who_unfollowed_is_not_re_added_by_unrelated_changes():
    ticket, _ = create_ticket(
        ticket_id="t1",
        number=1,
        values={"subject": "s", "description": "d", "assignee_id": "agent-1"},
        requester_id="alice",
        organization_id=None,
        catalog=StatusCatalog(),
        now=CREATED,
    )
    unfollowed = dataclasses.replace(ticket, followers=[])
    patched, _ = apply_patch(unfollowed, {"priority": "high"}, catalog=StatusCatalog(), now=LATER)
    assert patched.followers == []
    reassigned, _ = apply_patch(patched, {"assignee_id": "agent-2"}, catalog=StatusCatalog(), now=LATER)
    assert reassigned.followers == ["agent-2"]
