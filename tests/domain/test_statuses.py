"""Ticket statuses: the move table between categories, custom statuses and their validation."""

from __future__ import annotations

import itertools

import pytest

from chalicelib.domain.errors import InvalidTransition, ValidationFailed
from chalicelib.domain.statuses import (
    ALLOWED_MOVES,
    BUILTIN_STATUSES,
    CATEGORIES,
    Status,
    StatusCatalog,
    can_transition,
    check_move,
    validate_custom_status,
)

LIVE = ("open", "pending", "resolved")

# The full move table, written out: every live category may move to every category
# (including itself and closed); closed is final.
EXPECTED_MOVES = {(src, dst): src != "closed" for src, dst in itertools.product(CATEGORIES, CATEGORIES)}


@pytest.mark.parametrize(("src", "dst"), sorted(EXPECTED_MOVES))
def test_can_transition_follows_the_move_table(src: str, dst: str) -> None:
    assert can_transition(src, dst) is EXPECTED_MOVES[(src, dst)]


def test_every_category_has_an_entry_in_allowed_moves() -> None:
    assert set(ALLOWED_MOVES) == set(CATEGORIES)


def test_allowed_moves_only_name_known_categories() -> None:
    for targets in ALLOWED_MOVES.values():
        assert targets <= set(CATEGORIES)


def test_closed_is_final() -> None:
    assert not any(can_transition("closed", dst) for dst in CATEGORIES)


@pytest.mark.parametrize("category", LIVE)
def test_live_categories_may_close(category: str) -> None:
    assert can_transition(category, "closed")


def test_unknown_source_category_cannot_move_anywhere() -> None:
    assert not any(can_transition("archived", dst) for dst in CATEGORIES)


def test_unknown_target_category_is_not_reachable() -> None:
    assert not any(can_transition(src, "archived") for src in CATEGORIES)


def test_builtin_statuses_are_their_own_category() -> None:
    assert [s.name for s in BUILTIN_STATUSES] == list(CATEGORIES)
    assert all(s.category == s.name and s.builtin for s in BUILTIN_STATUSES)


def test_custom_status_is_not_builtin() -> None:
    assert not Status("waiting_on_vendor", "pending").builtin


# -- custom statuses behave as their category ----------------------------------------

VENDOR = Status("waiting_on_vendor", "pending")
FIXED = Status("fixed", "resolved")
ARCHIVED = Status("archived", "closed")
CUSTOM = (VENDOR, FIXED, ARCHIVED)


@pytest.mark.parametrize(("current", "target"), list(itertools.product(BUILTIN_STATUSES + CUSTOM, repeat=2)))
def test_custom_statuses_move_like_their_category(current: Status, target: Status) -> None:
    if can_transition(current.category, target.category):
        check_move(current, target)
    else:
        with pytest.raises(InvalidTransition):
            check_move(current, target)


def test_custom_pending_status_moves_like_pending() -> None:
    pending = Status("pending", "pending")
    for dst in BUILTIN_STATUSES:
        assert can_transition(VENDOR.category, dst.category) is can_transition(pending.category, dst.category)
    check_move(VENDOR, Status("open", "open"))
    check_move(Status("open", "open"), VENDOR)
    check_move(VENDOR, Status("closed", "closed"))


def test_moving_out_of_a_custom_closed_status_is_an_invalid_transition() -> None:
    with pytest.raises(InvalidTransition):
        check_move(ARCHIVED, Status("open", "open"))
    with pytest.raises(InvalidTransition):
        check_move(ARCHIVED, VENDOR)


def test_moving_out_of_closed_is_an_invalid_transition() -> None:
    closed = Status("closed", "closed")
    for target in (*BUILTIN_STATUSES, *CUSTOM):
        with pytest.raises(InvalidTransition):
            check_move(closed, target)


# -- catalog ---------------------------------------------------------------------------


def test_catalog_knows_builtins_and_custom_statuses() -> None:
    catalog = StatusCatalog([VENDOR])
    for name in CATEGORIES:
        assert name in catalog
        assert catalog.require(name) == Status(name, name)
    assert catalog.require("waiting_on_vendor") == VENDOR
    assert "nope" not in catalog
    assert catalog.get("nope") is None


def test_catalog_require_unknown_status_is_a_field_error() -> None:
    with pytest.raises(ValidationFailed) as raised:
        StatusCatalog().require("waiting_on_vendor", field="status")
    assert [e.field for e in raised.value.errors] == ["status"]


def test_custom_status_cannot_shadow_a_builtin_in_the_catalog() -> None:
    catalog = StatusCatalog([Status("open", "closed")])
    assert catalog.require("open") == Status("open", "open")


# -- validation of custom statuses ---------------------------------------------------


@pytest.mark.parametrize("category", CATEGORIES)
def test_valid_custom_status_is_accepted(category: str) -> None:
    assert validate_custom_status("waiting_on_vendor", category) == Status("waiting_on_vendor", category)


@pytest.mark.parametrize("name", ["a", "x" * 40, "on_hold_2"])
def test_custom_status_name_limits_are_accepted(name: str) -> None:
    assert validate_custom_status(name, "pending").name == name


@pytest.mark.parametrize("name", CATEGORIES)
def test_custom_status_rejects_builtin_names(name: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate_custom_status(name, "pending")
    assert [e.field for e in raised.value.errors] == ["name"]
    assert "built-in" in raised.value.errors[0].message


@pytest.mark.parametrize(
    "name",
    ["", "Waiting", "waiting on vendor", "1st_line", "_hidden", "x" * 41, "waiting-on-vendor", "OPEN", "café"],
)
def test_custom_status_rejects_bad_names(name: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate_custom_status(name, "pending")
    assert [e.field for e in raised.value.errors] == ["name"]


def test_custom_status_rejects_name_with_trailing_newline() -> None:
    # `$` also matches before a final newline; the name must be exactly the pattern.
    with pytest.raises(ValidationFailed) as raised:
        validate_custom_status("waiting\n", "pending")
    assert [e.field for e in raised.value.errors] == ["name"]


@pytest.mark.parametrize("category", ["", "Open", "archived", "waiting_on_vendor", "closed "])
def test_custom_status_rejects_bad_categories(category: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate_custom_status("waiting_on_vendor", category)
    assert [e.field for e in raised.value.errors] == ["category"]


def test_custom_status_reports_name_and_category_errors_together() -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate_custom_status("Bad Name", "archived")
    assert sorted(e.field for e in raised.value.errors) == ["category", "name"]
