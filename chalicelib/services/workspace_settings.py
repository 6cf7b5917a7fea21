"""The workspace's reply settings (one directory record, cached per container)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from chalicelib.domain.errors import Conflict, Contention, NotAllowed, VersionConflict
from chalicelib.domain.visibility import Caller
from chalicelib.storage.directory import DirectoryRepository

REPLY_VISIBILITIES = ("public", "internal")
SETTINGS_ID = "workspace"
DEFAULT_SETTINGS: dict[str, Any] = {"default_reply_visibility": "public"}  # seed 004: public reply by default
# A warm container re-reads the settings at most this often (like the status catalog).
SETTINGS_CACHE_SECONDS = 30.0


class WorkspaceSettings:
    """Admin settings of the workspace (one directory entry), cached briefly per container."""

    def __init__(self, directory: DirectoryRepository, clock: Callable[[], float] = time.monotonic) -> None:
        self._directory = directory
        self._clock = clock
        self._cached: dict[str, Any] | None = None
        self._loaded_at = 0.0

    def current(self) -> dict[str, Any]:
        if self._cached is None or self._clock() - self._loaded_at >= SETTINGS_CACHE_SECONDS:
            entry = self._directory.get("setting", SETTINGS_ID)
            self._cached = {**DEFAULT_SETTINGS, **(entry.data if entry else {})}
            self._loaded_at = self._clock()
        return dict(self._cached)

    def default_reply_visibility(self) -> str:
        return str(self.current()["default_reply_visibility"])

    def get(self, caller: Caller) -> dict[str, Any]:
        if not caller.is_staff:
            raise NotAllowed("only agents and admins read the workspace settings")
        return self.current()

    def put(self, caller: Caller, values: Mapping[str, Any], now: datetime) -> dict[str, Any]:
        if not caller.is_admin:
            raise NotAllowed("only admins change the workspace settings")
        data = {**DEFAULT_SETTINGS, **values}
        for _ in range(3):  # create-or-replace: a racing first PUT makes the create fail once
            entry = self._directory.get("setting", SETTINGS_ID)
            try:
                if entry is None:
                    self._directory.create("setting", SETTINGS_ID, "workspace", data, now, actor_id=caller.user_id)
                else:
                    self._directory.update(
                        "setting",
                        entry,
                        name=entry.name,
                        data=data,
                        now=now,
                        expected_version=entry.version,
                        actor_id=caller.user_id,
                    )
                break
            except Contention as exc:  # a transaction held the item: answer retryably, decide nothing
                raise Conflict("the settings are changing concurrently; retry", retry_after=1) from exc
            except (Conflict, VersionConflict):
                continue
        else:
            raise Conflict("the settings are changing concurrently; retry", retry_after=1)
        self._cached = None
        return dict(data)
