"""Pipelines: validation, the start status, and the status a move maps to (Hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import InvalidTransition, ValidationFailed
from chalicelib.domain.pipelines import (
    DEFAULT_PIPELINE,
    Pipeline,
    UnknownPipeline,
    map_status,
    pipeline_of,
    start_status,
    validate_pipeline,
)
from chalicelib.domain.statuses import CATEGORIES, Status, StatusCatalog
from chalicelib.domain.tickets import Ticket, apply_patch, create_ticket

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
# Custom statuses, two per category, so pipelines can lack a category or have it twice.
CUSTOM = tuple(Status(f"{category}_{n}", category) for category in CATEGORIES for n in (1, 2))
CATALOG = StatusCatalog(CUSTOM)
ALL_NAMES = tuple(CATALOG.names())


def catalog_with(pipelines: dict[str, list[str]]) -> StatusCatalog:
    return StatusCatalog(CUSTOM, pipelines)


pipelines = st.lists(st.sampled_from(ALL_NAMES), min_size=1, max_size=8, unique=True).map(
    lambda names: Pipeline("target", "Target", tuple(names))
)
live_statuses = st.sampled_from([s for s in map(CATALOG.require, ALL_NAMES) if s.category != "closed"])


@settings(max_examples=300, deadline=None)
@given(current=live_statuses, target=pipelines)
def test_a_move_lands_in_the_target_pipeline_in_the_same_category_or_is_refused(current: Status, target: Pipeline) -> None:
    try:
        mapped = map_status(current, target, CATALOG)
    except ValidationFailed as refused:
        # Refused only when the target has neither the status nor one of its category.
        assert not any(CATALOG.require(s).category == current.category for s in target.statuses)
        assert refused.errors[0].field == "status"
        return
    assert mapped.name in target.statuses
    assert mapped.category == current.category
    # The same status when the target has it; else the target's first of the category.
    expected = (
        current.name
        if current.name in target.statuses
        else next(s for s in target.statuses if CATALOG.require(s).category == current.category)
    )
    assert mapped.name == expected


@settings(max_examples=300, deadline=None)
@given(current=live_statuses, target=pipelines, explicit=st.sampled_from(ALL_NAMES))
def test_an_explicit_status_is_taken_exactly_when_the_target_has_it(current: Status, target: Pipeline, explicit: str) -> None:
    if explicit not in target.statuses:
        with pytest.raises(ValidationFailed):
            map_status(current, target, CATALOG, explicit)
        return
    assert map_status(current, target, CATALOG, explicit).name == explicit


def test_the_default_pipeline_takes_every_status_and_a_move_there_keeps_it() -> None:
    default = pipeline_of(CATALOG, DEFAULT_PIPELINE)
    for name in ALL_NAMES:
        assert default.allows(name)
    assert map_status(CATALOG.require("pending_2"), default, CATALOG).name == "pending_2"
    assert start_status(default, CATALOG).name == "open"


def test_a_closed_ticket_does_not_move_back_to_open_through_a_pipeline() -> None:
    target = Pipeline("t", "T", ("open_1", "closed"))
    with pytest.raises(InvalidTransition):
        map_status(CATALOG.require("closed_1"), target, CATALOG, "open_1")


def test_validation_names_each_bad_status_and_needs_an_open_one() -> None:
    with pytest.raises(ValidationFailed) as bad:
        validate_pipeline("sales", "Sales", ["open", "ghost", "open"], CATALOG)
    assert [e.field for e in bad.value.errors] == ["statuses[1]", "statuses[2]"]
    with pytest.raises(ValidationFailed) as no_open:
        validate_pipeline("sales", "Sales", ["pending_1", "closed"], CATALOG)
    assert no_open.value.errors[0].field == "statuses"
    with pytest.raises(ValidationFailed):
        validate_pipeline(DEFAULT_PIPELINE, "Mine", ["open"], CATALOG)
    pipeline = validate_pipeline("sales", "Sales", ["pending_1", "open_2", "open_1"], CATALOG)
    assert start_status(pipeline, CATALOG).name == "open_2"


def test_an_unknown_pipeline_is_refused_naming_the_field() -> None:
    with pytest.raises(UnknownPipeline) as unknown:
        pipeline_of(CATALOG, "ghost")
    assert unknown.value.errors[0].field == "pipeline_id"


def _ticket(catalog: StatusCatalog, **values: object) -> Ticket:
    ticket, _ = create_ticket(
        ticket_id="t1",
        number=1,
        values={"subject": "s", "description": "d", **values},
        requester_id="alice",
        organization_id=None,
        catalog=catalog,
        now=NOW,
    )
    return ticket


def test_a_patch_moving_pipelines_changes_pipeline_and_status_in_one_change_set() -> None:
    catalog = catalog_with({"sales": ["open_1", "pending_1", "closed"]})
    ticket = _ticket(catalog, status="pending")
    moved, changes = apply_patch(ticket, {"pipeline_id": "sales"}, catalog=catalog, now=NOW)
    assert (moved.pipeline_id, moved.status, moved.status_category) == ("sales", "pending_1", "pending")
    assert [(c.property, c.old, c.new) for c in changes] == [
        ("pipeline_id", "default", "sales"),
        ("status", "pending", "pending_1"),
    ]
    with pytest.raises(ValidationFailed):
        apply_patch(moved, {"status": "open"}, catalog=catalog, now=NOW)
