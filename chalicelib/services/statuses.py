"""The status catalog as the ticket service sees it: built-ins plus custom statuses, cached briefly."""

from __future__ import annotations

import time
from collections.abc import Callable

from chalicelib.domain.pipelines import DEFAULT_PIPELINE
from chalicelib.domain.statuses import Status, StatusCatalog
from chalicelib.storage.directory import DirectoryRepository

# Custom statuses change rarely; a warm container re-reads them at most this often. Writes
# that set a custom status also check its item inside their transaction, so a stale cache
# can never store a status that no longer exists.
CACHE_SECONDS = 30.0


class StatusCatalogCache:
    def __init__(self, directory: DirectoryRepository, clock: Callable[[], float] = time.monotonic) -> None:
        self._directory = directory
        self._clock = clock
        self._catalog: StatusCatalog | None = None
        self._loaded_at = 0.0

    def catalog(self, *, must_know: str | None = None, pipeline: str | None = None) -> StatusCatalog:
        """The catalog with the pipelines; reloaded when stale or when it lacks a status or a
        pipeline the caller asks for (one Query each for statuses and pipelines)."""
        fresh = self._catalog is not None and self._clock() - self._loaded_at < CACHE_SECONDS
        if (
            fresh
            and (must_know is None or must_know in self._catalog)  # type: ignore[operator]
            and (pipeline in (None, DEFAULT_PIPELINE) or pipeline in self._catalog.pipelines)  # type: ignore[union-attr]
        ):
            return self._catalog  # type: ignore[return-value]
        custom = [Status(e.id, e.data["category"]) for e in self._directory.list_all("status")]
        pipelines = {e.id: e.data.get("statuses") or [] for e in self._directory.list_all("pipeline")}
        self._catalog = StatusCatalog(custom, pipelines)
        self._loaded_at = self._clock()
        return self._catalog

    def invalidate(self) -> None:
        self._catalog = None
