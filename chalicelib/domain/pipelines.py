"""Pipelines (issue 11, seed 000): named sets of statuses, each status with its category.

A ticket belongs to one pipeline. The default pipeline (`default`) is the catalog as it was
before pipelines: every status, built-in or custom, so tickets without a pipeline keep working.
Moving a ticket to another pipeline maps its status: the one the request names (it must be in
the target pipeline), else the same status if the target has it, else the target's first status
of the same category. Statuses keep their categories, so SLA pause rules and views (which work by
status and category) work per pipeline unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.statuses import CATEGORIES, Status, StatusCatalog, check_move

DEFAULT_PIPELINE = "default"
PIPELINE_ID = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
MAX_STATUSES = 40


@dataclass(frozen=True)
class Pipeline:
    id: str
    name: str
    # Status names in the order the pipeline shows them; empty for the default (every status).
    statuses: tuple[str, ...]

    @property
    def builtin(self) -> bool:
        return self.id == DEFAULT_PIPELINE

    def allows(self, status: str) -> bool:
        return self.builtin or status in self.statuses


class UnknownPipeline(ValidationFailed):
    """A pipeline the catalog does not know: absent, or created since a cached catalog was read."""


def default_pipeline() -> Pipeline:
    return Pipeline(DEFAULT_PIPELINE, "Default", ())


def validate_pipeline(pipeline_id: str, name: str, statuses: Sequence[str], catalog: StatusCatalog) -> Pipeline:
    """A pipeline an admin defines: known statuses, each once, and an open one to start in."""
    errors = []
    if not PIPELINE_ID.fullmatch(pipeline_id):
        errors.append(FieldError("id", "lowercase letters, digits, _ and -; 1-40 chars, starting with a letter"))
    elif pipeline_id == DEFAULT_PIPELINE:
        errors.append(FieldError("id", "is the built-in default pipeline"))
    if not statuses:
        errors.append(FieldError("statuses", "a pipeline has at least one status"))
    elif len(statuses) > MAX_STATUSES:
        errors.append(FieldError("statuses", f"at most {MAX_STATUSES} statuses"))
    seen: set[str] = set()
    for index, status in enumerate(statuses):
        if status not in catalog:
            errors.append(FieldError(f"statuses[{index}]", f"unknown status {status!r}"))
        elif status in seen:
            errors.append(FieldError(f"statuses[{index}]", f"{status!r} is listed twice"))
        seen.add(status)
    if statuses and not errors and not any(catalog.require(s).category == "open" for s in statuses):
        errors.append(FieldError("statuses", "a pipeline needs a status of category open (new tickets start there)"))
    if errors:
        raise ValidationFailed(errors)
    return Pipeline(pipeline_id, name, tuple(statuses))


def start_status(pipeline: Pipeline, catalog: StatusCatalog) -> Status:
    """Where a new ticket starts when its creator names no status: the first open one."""
    if pipeline.builtin:
        return catalog.require("open")
    for name in pipeline.statuses:
        status = catalog.get(name)
        if status is not None and status.category == "open":
            return status
    raise ValidationFailed([FieldError("pipeline_id", f"pipeline {pipeline.id!r} has no open status")])


def require_in(pipeline: Pipeline, status: Status) -> None:
    """422 when a ticket of `pipeline` is given a status the pipeline does not have."""
    if not pipeline.allows(status.name):
        raise ValidationFailed([FieldError("status", f"{status.name!r} is not a status of pipeline {pipeline.id!r}")])


def map_status(current: Status, target: Pipeline, catalog: StatusCatalog, explicit: str | None = None) -> Status:
    """The status a ticket in `current` takes when it moves to `target`.

    `explicit` (the request's `status`) wins and must be in the target; else the same status if
    the target has it; else the target's first status of the same category; else 422 (the request
    must name one). The move between categories follows the usual rules (`check_move`)."""
    if explicit is not None:
        status = catalog.require(explicit)
        require_in(target, status)
    elif target.allows(current.name):
        status = current
    else:
        found = _first_of_category(target.statuses, current.category, catalog)
        if found is None:
            message = f"pipeline {target.id!r} has no status of category {current.category!r}; name the status to move to"
            raise ValidationFailed([FieldError("status", message)])
        status = found
    check_move(current, status)
    return status


def _first_of_category(names: Iterable[str], category: str, catalog: StatusCatalog) -> Status | None:
    for name in names:
        status = catalog.get(name)
        if status is not None and status.category == category:
            return status
    return None


def statuses_of(pipeline: Pipeline, catalog_names: Iterable[str]) -> list[str]:
    """The statuses a pipeline shows: its own, or for the default every status of the catalog."""
    return list(catalog_names) if pipeline.builtin else list(pipeline.statuses)


__all__ = [
    "CATEGORIES",
    "DEFAULT_PIPELINE",
    "Pipeline",
    "UnknownPipeline",
    "default_pipeline",
    "map_status",
    "pipeline_of",
    "require_in",
    "start_status",
    "statuses_of",
    "validate_pipeline",
]


def pipeline_of(catalog: StatusCatalog, pipeline_id: str, field: str = "pipeline_id") -> Pipeline:
    """The pipeline `pipeline_id` as the catalog knows it; 422 naming `field` if there is none."""
    if pipeline_id == DEFAULT_PIPELINE:
        return default_pipeline()
    statuses = catalog.pipelines.get(pipeline_id)
    if statuses is None:
        raise UnknownPipeline([FieldError(field, f"unknown pipeline {pipeline_id!r}")])
    return Pipeline(pipeline_id, pipeline_id, statuses)
