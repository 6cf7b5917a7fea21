"""The CRUD both ordered rule sets share (automations, routing rules): admins write, staff read.

A rule is a directory entry of the set's `kind` (PK `DIR#<kind>`, SK the id): `name`, `data`
with at least `position` (lowest first; a rule created without one goes after the last). A set
holds at most `max_rules` stored rules (every new ticket or event reads all of them: one Query).
A change names the version it read (`If-Match`, 412 otherwise) and is conditioned on it. What a
rule may contain is each set's `_checked`; the order a list is in is each set's `list`.
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from chalicelib.domain.errors import Conflict, NotAllowed, NotFound, VersionConflict
from chalicelib.domain.visibility import Caller
from chalicelib.storage.directory import DirectoryRepository, Entry


class RuleSetService(abc.ABC):
    """One rule set's CRUD; a subclass names its kind, nouns and bound, and checks a rule's values."""

    kind: ClassVar[str]
    noun: ClassVar[str]  # "automation": in "automation not found"
    plural: ClassVar[str]  # "automations": in "only admins manage automations"
    max_rules: ClassVar[int]

    def __init__(self, directory: DirectoryRepository) -> None:
        self._directory = directory

    def get(self, caller: Caller, rule_id: str) -> Entry:
        self._require_staff(caller)
        entry = self._find(rule_id)
        if entry is None:
            raise NotFound(f"{self.noun} not found")
        return entry

    def create(self, caller: Caller, values: Mapping[str, Any], now: datetime) -> Entry:
        self._require_admin(caller)
        existing = self._directory.list_all(self.kind)
        if len(existing) >= self.max_rules:
            raise Conflict(f"at most {self.max_rules} {self.plural}; delete one first")
        position = values.get("position")
        if position is None:  # after the last rule
            position = max((int(e.data.get("position", 0)) for e in self._listed(existing)), default=-1) + 1
        data = self._checked({**values, "position": position})
        return self._directory.create(self.kind, uuid.uuid4().hex, values["name"], data, now, actor_id=caller.user_id)

    def update(
        self, caller: Caller, rule_id: str, values: Mapping[str, Any], *, expected_version: int | None, now: datetime
    ) -> Entry:
        self._require_admin(caller)
        entry = self.get(caller, rule_id)
        if expected_version is not None and entry.version != expected_version:
            raise VersionConflict(f"{self.noun} is at version {entry.version}")
        name = values.get("name") or entry.name
        data = self._checked({**entry.data, **{k: v for k, v in values.items() if k != "name"}, "name": name})
        return self._store(caller, entry, name, data, now)

    def delete(self, caller: Caller, rule_id: str, now: datetime | None = None) -> None:
        self._require_admin(caller)
        self._directory.delete(self.kind, rule_id, actor_id=caller.user_id, now=now)

    # -- what a set may change ------------------------------------------------------------------
    def _find(self, rule_id: str) -> Entry | None:
        return self._directory.get(self.kind, rule_id)

    def _listed(self, stored: Sequence[Entry]) -> Sequence[Entry]:
        """Every rule of the set given its stored ones (a set with rules that need no entry adds them)."""
        return stored

    def _store(self, caller: Caller, entry: Entry, name: str, data: dict[str, Any], now: datetime) -> Entry:
        return self._directory.update(
            self.kind, entry, name=name, data=data, now=now, expected_version=entry.version, actor_id=caller.user_id
        )

    @abc.abstractmethod
    def _checked(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The rule's stored data from a request's values, validated by the set's domain."""

    def _require_staff(self, caller: Caller) -> None:
        if not caller.is_staff:
            raise NotAllowed(f"only agents and admins may read {self.plural}")

    def _require_admin(self, caller: Caller) -> None:
        if not caller.is_admin:
            raise NotAllowed(f"only admins manage {self.plural}")
