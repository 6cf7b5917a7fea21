"""Pipelines as admins manage them (/v1/pipelines): directory records of kind `pipeline`, checked
against the status catalog; the directory service hands them here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.domain.errors import Conflict
from chalicelib.domain.pipelines import DEFAULT_PIPELINE, default_pipeline, statuses_of, validate_pipeline
from chalicelib.domain.visibility import Caller
from chalicelib.services.statuses import StatusCatalogCache
from chalicelib.storage.directory import DirectoryRepository, Entry
from chalicelib.storage.tickets import TicketRepository


class PipelineService:
    def __init__(self, directory: DirectoryRepository, tickets: TicketRepository, statuses: StatusCatalogCache) -> None:
        self._directory = directory
        self._tickets = tickets
        self._statuses = statuses

    def create(self, caller: Caller, values: Mapping[str, Any], now: datetime) -> Entry:
        catalog = self._statuses.catalog()
        for name in values.get("statuses") or []:  # a status created a moment ago on another container
            catalog = self._statuses.catalog(must_know=name)
        pipeline = validate_pipeline(values["id"], values["name"], values.get("statuses") or [], catalog)
        entry = self._directory.create(
            "pipeline", pipeline.id, pipeline.name, {"statuses": list(pipeline.statuses)}, now, actor_id=caller.user_id
        )
        self._statuses.invalidate()
        return entry

    def update(self, caller: Caller, entry: Entry, values: Mapping[str, Any], now: datetime) -> Entry:
        statuses = list(values.get("statuses", entry.data.get("statuses") or []))
        catalog = self._statuses.catalog()
        for name in statuses:
            catalog = self._statuses.catalog(must_know=name)
        pipeline = validate_pipeline(entry.id, values.get("name", entry.name), statuses, catalog)
        # Tickets already in a status the pipeline drops keep it until their next status change
        # (docs/decisions.md, "Pipelines"): no table read to find them.
        self._statuses.invalidate()
        return self._directory.update(
            "pipeline",
            entry,
            name=pipeline.name,
            data={"statuses": list(pipeline.statuses)},
            now=now,
            expected_version=entry.version,
            actor_id=caller.user_id,
        )

    def check_deletable(self, pipeline_id: str) -> None:
        if self._tickets.has_any(f"PIPELINE#{pipeline_id}"):
            raise Conflict("tickets are in this pipeline; move them to another pipeline first")

    def check_status_unlisted(self, status: str) -> None:
        """A custom status a pipeline lists is not deleted (the pipeline would name nothing)."""
        users = [e.id for e in self._directory.list_all("pipeline") if status in (e.data.get("statuses") or [])]
        if users:
            raise Conflict(f"pipelines list this status: {', '.join(sorted(users))}; remove it from them first")

    def invalidate(self) -> None:
        self._statuses.invalidate()

    def default_view(self) -> dict[str, Any]:
        """The built-in default pipeline: every status of the catalog (today's statuses)."""
        pipeline = default_pipeline()
        return {
            "id": DEFAULT_PIPELINE,
            "name": pipeline.name,
            "statuses": statuses_of(pipeline, self._statuses.catalog().names()),
            "builtin": True,
        }
