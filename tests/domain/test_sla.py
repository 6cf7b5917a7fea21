"""SLA clocks: policy choice, start, response, pause/resume, re-plan, breach, timers (pure domain)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.calendar import BusinessCalendar, add_business_time, business_seconds_between
from chalicelib.domain.errors import Conflict, ValidationFailed
from chalicelib.domain.sla import (
    BREACHED,
    CUSTOMER_MESSAGE,
    MET,
    PAUSED,
    RUNNING,
    Policy,
    SlaState,
    choose_policy,
    clock_views,
    comment_signals,
    place_policy,
    reconcile,
    summary,
    timers_to_start,
    validate_policy,
)
from chalicelib.domain.tickets import Ticket

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
OFFICE = BusinessCalendar.from_config("Europe/Berlin", {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}, [])
ALWAYS = BusinessCalendar.always()


def policy(**overrides: Any) -> Policy:
    data: dict[str, Any] = {
        "position": 0,
        "pause_statuses": ["pending"],
        "targets": {
            "normal": {"first_response_minutes": 60, "next_response_minutes": 120, "resolution_minutes": 480},
            "urgent": {"first_response_minutes": 15, "next_response_minutes": 30, "resolution_minutes": 120},
        },
    }
    data.update(overrides)
    return Policy.from_record(overrides.pop("id", "p1"), int(overrides.pop("version", 1)), data)


def ticket(**values: Any) -> Ticket:
    base: dict[str, Any] = {
        "id": "t1",
        "number": 1,
        "subject": "s",
        "description": "d",
        "requester_id": "cust",
        "created_at": T0,
        "updated_at": T0,
        "last_activity_at": T0,
    }
    base.update(values)
    return Ticket(**base)


def calendars(business_hours_id: str | None) -> BusinessCalendar:
    return OFFICE if business_hours_id == "office" else ALWAYS


def step(sla: dict[str, Any] | None, t: Ticket, at: datetime, *signals: str, chosen: Policy | None = None) -> dict[str, Any]:
    state, _ = reconcile(sla, t, chosen or policy(), calendars, at, signals)
    assert state is not None
    return state


def clock(sla: dict[str, Any], metric: str) -> dict[str, Any]:
    return dict(sla["clocks"][metric])


def test_creation_starts_first_response_and_resolution_with_business_due_times() -> None:
    state, ledger = reconcile(None, ticket(), policy(business_hours_id="office"), calendars, T0, ())
    assert state is not None
    assert set(state["clocks"]) == {"first_response", "resolution"}
    first = clock(state, "first_response")
    assert first["status"] == RUNNING
    assert first["due_at"] == "2026-11-23T11:00:00Z"
    # 8 business hours from Monday 11:00 Berlin: Monday ends 17:00 (6 h), 2 h more on Tuesday.
    assert clock(state, "resolution")["due_at"] == "2026-11-24T10:00:00Z"
    assert [line.event for line in ledger] == ["applied", "started", "started"]
    assert ledger[1].due_at == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


def test_no_matching_policy_or_no_goal_for_the_priority_means_no_clocks() -> None:
    assert reconcile(None, ticket(), None, calendars, T0, ()) == (None, [])
    assert reconcile(None, ticket(priority="low"), policy(), calendars, T0, ()) == (None, [])


def test_an_unplaced_policy_goes_after_the_last_one_and_positions_are_unique() -> None:
    assert place_policy(None, {}) == 0
    assert place_policy(None, {"urgent": ("Urgent", 0), "standard": ("Standard", 10)}) == 20
    assert place_policy(5, {"standard": ("Standard", 10)}) == 5
    with pytest.raises(Conflict, match="'Standard' \\(standard\\)"):
        place_policy(10, {"standard": ("Standard", 10)})
    with pytest.raises(Conflict):
        place_policy(None, {"last": ("Last", 10_000)})


def test_the_lowest_matching_position_applies_and_conditions_must_all_match() -> None:
    vip = Policy.from_record("vip", 1, {"position": 1, "conditions": {"tags": ["vip"], "types": ["incident"]}, "targets": {}})
    default = Policy.from_record("default", 1, {"position": 5, "targets": {}})
    assert choose_policy([default, vip], ticket(tags=["vip"], type="incident")) is vip
    assert choose_policy([default, vip], ticket(tags=["vip"], type="request")) is default
    assert choose_policy([vip], ticket()) is None


def test_public_agent_reply_meets_first_response_and_an_internal_note_does_not() -> None:
    sla = step(None, ticket(), T0)
    noted = step(sla, ticket(), T0 + timedelta(minutes=5), *comment_signals(True, "internal"))
    assert clock(noted, "first_response")["status"] == RUNNING
    replied = step(noted, ticket(), T0 + timedelta(minutes=10), *comment_signals(True, "public"))
    first = clock(replied, "first_response")
    assert first["status"] == MET
    assert first["completed_at"] == "2026-11-23T10:10:00Z"
    assert clock(replied, "resolution")["status"] == RUNNING


def test_a_policy_can_count_internal_notes_as_responses() -> None:
    counting = policy(responses=["public_reply", "internal_note"])
    sla = step(None, ticket(), T0, chosen=counting)
    noted = step(sla, ticket(), T0 + timedelta(minutes=5), "internal_note", chosen=counting)
    assert clock(noted, "first_response")["status"] == MET


def test_next_response_starts_at_a_customer_message_after_the_first_response_and_restarts() -> None:
    sla = step(None, ticket(), T0)
    early = step(sla, ticket(), T0 + timedelta(minutes=1), CUSTOMER_MESSAGE)
    assert "next_response" not in early["clocks"]  # first response still pending covers it
    replied = step(early, ticket(), T0 + timedelta(minutes=2), "public_reply")
    asked = step(replied, ticket(), T0 + timedelta(minutes=30), CUSTOMER_MESSAGE)
    second = clock(asked, "next_response")
    assert second["status"] == RUNNING and second["due_at"] == "2026-11-23T12:30:00Z"
    answered = step(asked, ticket(), T0 + timedelta(minutes=40), "public_reply")
    assert clock(answered, "next_response")["status"] == MET
    again = step(answered, ticket(), T0 + timedelta(minutes=50), CUSTOMER_MESSAGE)
    third = clock(again, "next_response")
    assert third["status"] == RUNNING and third["generation"] > second["generation"]


def test_pending_pauses_and_resuming_moves_the_due_time_by_the_pause() -> None:
    sla = step(None, ticket(), T0)
    paused = step(sla, ticket(status="pending", status_category="pending"), T0 + timedelta(minutes=20))
    first = clock(paused, "first_response")
    assert first["status"] == PAUSED and "due_at" not in first and first["elapsed_seconds"] == 20 * 60
    resumed = step(paused, ticket(), T0 + timedelta(hours=3))
    again = clock(resumed, "first_response")
    assert again["status"] == RUNNING
    assert again["due_at"] == "2026-11-23T13:40:00Z"  # 40 minutes left after the 3 h pause
    assert again["generation"] > clock(sla, "first_response")["generation"]


def test_pause_statuses_may_name_a_custom_status_or_a_category() -> None:
    custom = policy(pause_statuses=["waiting_on_vendor"])
    sla = step(None, ticket(), T0, chosen=custom)
    waiting = ticket(status="waiting_on_vendor", status_category="open")
    assert clock(step(sla, waiting, T0 + timedelta(minutes=1), chosen=custom), "first_response")["status"] == PAUSED
    pending = ticket(status="pending", status_category="pending")
    assert clock(step(sla, pending, T0 + timedelta(minutes=1), chosen=custom), "first_response")["status"] == RUNNING


def test_priority_change_replans_keeping_the_business_time_already_elapsed() -> None:
    sla = step(None, ticket(), T0)
    urgent = step(sla, ticket(priority="urgent"), T0 + timedelta(minutes=10))
    first = clock(urgent, "first_response")
    assert first["due_at"] == "2026-11-23T10:15:00Z"  # 15 min goal, 10 already gone
    assert first["generation"] > clock(sla, "first_response")["generation"]
    _, ledger = reconcile(sla, ticket(priority="urgent"), policy(), calendars, T0 + timedelta(minutes=10), ())
    assert "replanned" in [line.event for line in ledger]


def test_a_new_policy_version_replans_at_the_next_write() -> None:
    sla = step(None, ticket(), T0)
    stricter = policy(version=2, targets={"normal": {"first_response_minutes": 30}})
    state, ledger = reconcile(sla, ticket(), stricter, calendars, T0 + timedelta(minutes=5), ())
    assert state is not None
    assert clock(state, "first_response")["due_at"] == "2026-11-23T10:30:00Z"
    assert "resolution" not in state["clocks"]  # the new version sets no resolution goal
    assert [line.event for line in ledger] == ["applied", "replanned", "stopped"]


def test_a_write_after_the_due_time_marks_the_clock_breached_and_a_late_reply_completes_it() -> None:
    sla = step(None, ticket(), T0)
    late = step(sla, ticket(), T0 + timedelta(hours=2), "public_reply")
    first = clock(late, "first_response")
    assert first["status"] == BREACHED
    assert first["completed_at"] == "2026-11-23T12:00:00Z"
    assert first["generation"] == clock(sla, "first_response")["generation"]  # the timer still records it


def test_a_breached_clock_is_not_paused() -> None:
    sla = step(None, ticket(), T0)
    paused = step(sla, ticket(status="pending", status_category="pending"), T0 + timedelta(hours=2))
    assert clock(paused, "first_response")["status"] == BREACHED


def test_solving_the_ticket_completes_every_open_clock_and_reopening_does_not_restart_them() -> None:
    sla = step(None, ticket(), T0)
    solved = step(sla, ticket(status="resolved", status_category="resolved"), T0 + timedelta(minutes=30))
    assert {c["status"] for c in solved["clocks"].values()} == {MET}
    reopened = step(solved, ticket(), T0 + timedelta(hours=1))
    assert {c["status"] for c in reopened["clocks"].values()} == {MET}


def test_a_write_that_changes_nothing_for_the_clocks_writes_no_ledger() -> None:
    sla = step(None, ticket(), T0)
    state, ledger = reconcile(sla, ticket(), policy(), calendars, T0 + timedelta(minutes=1), ())
    assert state == sla and ledger == []


def test_timers_start_once_per_running_generation() -> None:
    sla = step(None, ticket(), T0)
    starts = timers_to_start("t1", None, sla)
    assert [(s.metric, s.due_at) for s in starts] == [
        ("first_response", "2026-11-23T11:00:00Z"),
        ("resolution", "2026-11-23T18:00:00Z"),
    ]
    assert starts[0].name == f"t1-first_response-{clock(sla, 'first_response')['generation']}"
    assert timers_to_start("t1", sla, sla) == []
    paused = step(sla, ticket(status="pending", status_category="pending"), T0 + timedelta(minutes=1))
    assert timers_to_start("t1", sla, paused) == []
    resumed = step(paused, ticket(), T0 + timedelta(minutes=2))
    assert {s.metric for s in timers_to_start("t1", paused, resumed)} == {"first_response", "resolution"}


def test_summary_and_views_show_breach_as_soon_as_the_due_time_passes() -> None:
    sla = step(None, ticket(), T0)
    assert summary(sla, T0) == {"metric": "first_response", "status": RUNNING, "due_at": "2026-11-23T11:00:00Z"}
    assert summary(sla, T0 + timedelta(hours=1))["status"] == BREACHED  # type: ignore[index]
    views = clock_views(sla, ALWAYS, T0 + timedelta(minutes=30))
    assert [(v["metric"], v["business_seconds_elapsed"]) for v in views] == [("first_response", 1800), ("resolution", 1800)]


def test_policy_validation_names_fields() -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        validate_policy(
            {"targets": {"normal": {}}, "conditions": {"types": ["bogus"]}, "business_hours_id": "nope", "responses": ["wave"]},
            lambda _: False,
        )
    fields = sorted(e.field for e in excinfo.value.errors)
    assert fields == ["business_hours_id", "conditions.types[0]", "responses[0]", "targets.normal"]


def test_state_round_trips_through_its_stored_form() -> None:
    sla = step(None, ticket(), T0)
    assert SlaState.from_dict(sla).to_dict() == sla


toggles = st.lists(st.integers(min_value=1, max_value=3 * 24 * 3600), min_size=0, max_size=8)


@given(toggles, st.sampled_from(["always", "office"]), st.integers(min_value=1, max_value=3 * 24 * 60))
def test_running_time_before_due_equals_the_goal_however_often_the_clock_pauses(
    gaps: list[int], hours: str, goal_minutes: int
) -> None:
    """Invariant: business time counted while running, plus what is left until due, is the goal."""
    chosen = policy(
        business_hours_id="office" if hours == "office" else None,
        targets={"normal": {"resolution_minutes": goal_minutes}},
    )
    cal = calendars(chosen.business_hours_id)
    sla = step(None, ticket(), T0, chosen=chosen)
    at = T0
    pending = False
    running_business = 0
    last_start = T0
    for gap in gaps:
        current = clock(sla, "resolution")
        if current["status"] != RUNNING and current["status"] != PAUSED:
            break
        at = at + timedelta(seconds=gap)
        if not pending and datetime.fromisoformat(current["due_at"]) <= at:
            break  # due passed while running: breached, nothing left to check
        if not pending:
            running_business += business_seconds_between(cal, last_start, at)
        pending = not pending
        status = ("pending", "pending") if pending else ("open", "open")
        sla = step(sla, ticket(status=status[0], status_category=status[1]), at, chosen=chosen)
        last_start = at
    final = clock(sla, "resolution")
    if final["status"] == RUNNING:
        due = datetime.fromisoformat(final["due_at"])
        assert running_business + business_seconds_between(cal, last_start, due) == goal_minutes * 60
        assert due == add_business_time(cal, last_start, goal_minutes * 60 - running_business)
    elif final["status"] == PAUSED:
        assert final["elapsed_seconds"] == running_business


def test_outcomes_count_each_met_or_recorded_breach_once() -> None:
    from chalicelib.domain.sla import outcomes

    sla = step(None, ticket(), T0)
    replied = step(sla, ticket(), T0 + timedelta(minutes=5), "public_reply")
    assert outcomes(sla, replied) == [("first_response", MET)]
    assert outcomes(replied, step(replied, ticket(priority="urgent"), T0 + timedelta(minutes=6))) == []
    recorded = {
        **sla,
        "clocks": {**sla["clocks"], "resolution": {**clock(sla, "resolution"), "status": BREACHED, "breached_at": "x"}},
    }
    assert outcomes(sla, recorded) == [("resolution", BREACHED)]
    assert outcomes(recorded, recorded) == []
