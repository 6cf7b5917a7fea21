"""Escalations: the move table, stage timers, who verifies, one open escalation per ticket."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.errors import Conflict, InvalidTransition
from chalicelib.domain.escalations import (
    ALLOWED_MOVES,
    CLAIM_LEASE_SECONDS,
    ESCALATION_ID,
    NO_TARGET_SECONDS,
    Escalation,
    Stage,
    can_transition,
    check_may_escalate,
    check_transition,
    escalation_id,
    is_open,
    may_verify,
    new_escalation,
    stage_timers,
    verification_target,
    waiting_stages,
    workflow_input,
)
from chalicelib.domain.tickets import Ticket
from chalicelib.domain.visibility import Caller

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ORDER = ("submitted", "review", "engineering", "verification", "resolved")

# The whole table, written out: one stage forward at a time, and the single way back.
EXPECTED_MOVES = {
    ("submitted", "review"),
    ("review", "engineering"),
    ("engineering", "verification"),
    ("verification", "resolved"),
    ("verification", "engineering"),
}


@pytest.mark.parametrize(("src", "dst"), list(itertools.product(ORDER, ORDER)))
def test_can_transition_follows_the_move_table(src: str, dst: str) -> None:
    assert can_transition(src, dst) is ((src, dst) in EXPECTED_MOVES)


def test_the_enum_lists_the_stages_in_api_order_and_the_table_covers_each() -> None:
    assert tuple(stage.value for stage in Stage) == ORDER
    assert set(ALLOWED_MOVES) == set(Stage)


def test_unknown_stage_names_never_transition() -> None:
    assert not can_transition("submitted", "closed")
    assert not can_transition("nonsense", "review")


def test_a_refused_move_is_a_conflict() -> None:
    with pytest.raises(InvalidTransition) as refused:
        check_transition("submitted", "engineering")
    assert isinstance(refused.value, Conflict)
    assert check_transition("verification", "engineering") is Stage.ENGINEERING


def test_resolved_is_final_and_the_only_closed_stage() -> None:
    assert ALLOWED_MOVES[Stage.RESOLVED] == frozenset()
    assert [s.value for s in Stage if not is_open(s)] == ["resolved"]
    assert waiting_stages() == (Stage.SUBMITTED, Stage.REVIEW, Stage.ENGINEERING, Stage.VERIFICATION)


@given(st.lists(st.integers(min_value=0, max_value=10), max_size=40))
def test_any_walk_of_allowed_moves_only_goes_back_from_verification_to_engineering(choices: list[int]) -> None:
    stage = Stage.SUBMITTED
    for choice in choices:
        targets = sorted(ALLOWED_MOVES[stage])
        if not targets:
            break
        target = targets[choice % len(targets)]
        if ORDER.index(target) < ORDER.index(stage):
            assert (stage, target) == (Stage.VERIFICATION, Stage.ENGINEERING)
        else:
            assert ORDER.index(target) == ORDER.index(stage) + 1  # never skips a stage
        stage = target


def test_verification_answer_picks_resolved_or_back_to_engineering() -> None:
    assert verification_target(True) is Stage.RESOLVED
    assert verification_target(False) is Stage.ENGINEERING


def test_stage_timers_default_to_no_target_and_take_overrides() -> None:
    assert stage_timers({}) == {s.value: NO_TARGET_SECONDS for s in waiting_stages()}
    assert stage_timers({"review": 3600})["review"] == 3600


@pytest.mark.parametrize("targets", [{"resolved": 10}, {"triage": 10}, {"review": 0}, {"review": NO_TARGET_SECONDS + 1}])
def test_stage_timers_refuse_unknown_stages_and_out_of_range_targets(targets: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        stage_timers(targets)


def test_escalation_ids_are_human_friendly() -> None:
    assert escalation_id(1042) == "CP-1042"
    assert ESCALATION_ID.fullmatch("CP-1042")
    assert not ESCALATION_ID.fullmatch("CP-0") and not ESCALATION_ID.fullmatch("cp-1")
    with pytest.raises(ValueError):
        escalation_id(0)


def _ticket(**overrides: object) -> Ticket:
    values: dict[str, object] = {
        "id": "t1",
        "number": 1,
        "subject": "VPN drops",
        "description": "hourly",
        "requester_id": "alice",
        "organization_id": "acme",
        "cc": ["bob"],
        "created_at": NOW,
        "updated_at": NOW,
        "last_activity_at": NOW,
        **overrides,
    }
    return Ticket(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("caller", "allowed"),
    [
        (Caller("alice", "customer", org_id="acme"), True),
        (Caller("acme-admin", "customer", org_id="acme", org_admin=True), True),
        (Caller("bob", "customer", org_id="acme"), False),  # CC'd: sees it, does not verify
        (Caller("globex-admin", "customer", org_id="globex", org_admin=True), False),
        (Caller("agent-1", "agent", access="all"), False),
    ],
)
def test_only_the_requester_or_their_org_admin_verifies(caller: Caller, allowed: bool) -> None:
    assert may_verify(caller, _ticket()) is allowed


def test_a_ticket_has_at_most_one_open_escalation_and_none_when_closed() -> None:
    check_may_escalate(_ticket())
    check_may_escalate(_ticket(escalation={"id": "CP-1", "stage": "resolved", "estimated_resolution_date": None}))
    with pytest.raises(Conflict, match="CP-2"):
        check_may_escalate(_ticket(escalation={"id": "CP-2", "stage": "verification", "estimated_resolution_date": None}))
    with pytest.raises(Conflict, match="closed"):
        check_may_escalate(_ticket(status="closed", status_category="closed"))


def test_a_new_escalation_is_submitted_with_its_creation_as_first_stage() -> None:
    escalation = new_escalation(7, "t1", "  Fix sync  ", "agent-1", NOW)
    assert (escalation.id, escalation.stage, escalation.description) == ("CP-7", "submitted", "Fix sync")
    assert [(s.stage, s.entered_at, s.actor_id) for s in escalation.stages] == [("submitted", NOW, "agent-1")]
    assert escalation.summary() == {"id": "CP-7", "stage": "submitted", "estimated_resolution_date": None}


def test_a_pending_stage_lasts_as_long_as_the_claim_lease() -> None:
    escalation = Escalation("CP-1", "t1", "d", "submitted", NOW, NOW, "agent-1", claimed_to="review", claimed_at=NOW)
    assert escalation.pending_stage(NOW + timedelta(seconds=1)) == "review"
    assert escalation.pending_stage(NOW + timedelta(seconds=CLAIM_LEASE_SECONDS + 1)) is None


def test_a_claimed_escalation_is_entering_its_claimed_stage_and_a_queued_move_is_pending() -> None:
    claimed = Escalation(
        "CP-1", "t1", "d", "submitted", NOW, NOW, "agent-1", task_token="tok", claimed_to="review", claimed_at=NOW
    )
    assert claimed.entering(NOW) == "review" and not claimed.waiting(NOW)
    queued = dataclasses.replace(claimed, queued_from="review", queued_to="engineering")
    assert queued.pending_stage(NOW) == "engineering"
    # The claim lapsed (its request died): the escalation waits again and the queued move is void.
    later = NOW + timedelta(seconds=CLAIM_LEASE_SECONDS + 1)
    assert queued.entering(later) == "submitted" and queued.waiting(later) and queued.pending_stage(later) is None


def test_escalation_texts_are_bounded_in_stored_bytes_not_only_characters():
    from chalicelib.domain.errors import ValidationFailed
    from chalicelib.domain.escalations import DESCRIPTION_MAX, NOTE_MAX, validate_description, validate_note

    emoji = "\U0001f600"  # 12 bytes as stored JSON
    assert validate_description("x" * DESCRIPTION_MAX) == "x" * DESCRIPTION_MAX
    with pytest.raises(ValidationFailed) as too_wide:
        validate_description(emoji * DESCRIPTION_MAX)  # 65,536 characters: allowed by count, 786 KB stored
    assert [e.field for e in too_wide.value.errors] == ["description"]
    assert validate_note("x" * 8_000) == "x" * 8_000
    with pytest.raises(ValidationFailed) as note_too_wide:
        validate_note(emoji * NOTE_MAX, "comment")
    assert [e.field for e in note_too_wide.value.errors] == ["comment"]


def test_a_run_is_renewed_330_days_after_it_started_the_first_counting_from_the_escalations_creation() -> None:
    escalation = new_escalation(7, "t1", "Fix sync", "agent-1", datetime(2026, 1, 1, 9, 30, 15, 123456, tzinfo=UTC))
    timers = stage_timers({})

    assert workflow_input(escalation, timers)["renew_at"] == "2026-11-27T09:30:15Z"
    continued = dataclasses.replace(escalation, stage="review", run_started_at=datetime(2026, 11, 27, 9, 31, tzinfo=UTC))
    assert workflow_input(continued, timers, run=2)["renew_at"] == "2027-10-23T09:31:00Z"
    assert workflow_input(continued, timers, run=2) == workflow_input(continued, timers, run=2)  # same start, same input


def test_a_continued_run_waits_for_the_timer_its_predecessor_left_else_the_stages_full_target() -> None:
    escalation = dataclasses.replace(new_escalation(7, "t1", "Fix sync", "agent-1", NOW), stage="review")
    timers = stage_timers({"review": 86_400})

    assert workflow_input(escalation, timers, run=2)["current"] == {
        "stage": "review",
        "target": 86_400,
        "timer": {"seconds": 86_400},
    }
    left = dataclasses.replace(escalation, timer_left=3_600)
    assert workflow_input(left, timers, run=2)["current"] == {"stage": "review", "target": 86_400, "timer": {"seconds": 3_600}}
