"""Renames reach the ticket lists (issue 11): a user's new display name is copied onto the tickets
they requested or are assigned, from the ticket stream, a bounded page at a time.

List entries carry `requester_name` and `assignee_name` (denormalized, so "My organization's
tickets" needs no second request). When a user record's `name` changes, the stream gives their
tickets the directory's current name, `PAGE` tickets per role per record; if more are left, a
continuation item (`DIR#user-rename` / `<user id>`) stores where each role stopped, and its own
stream record runs the next page. Every step re-reads the name from the directory, so a late
page of an older rename writes the newest name, never an old one; and every ticket update is
conditioned on the name differing, so a redelivered record changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from chalicelib.storage import keys

PAGE = 25  # tickets per role per stream record: bounded work per invocation
ROLES = ("requester", "assignee")


class TicketNames(Protocol):
    def rename_page(self, user_id: str, role: str, name: str, after: str | None, limit: int) -> tuple[int, str | None]: ...


class RenameStore(Protocol):
    def user_name(self, user_id: str) -> str | None: ...

    def save_rename(self, user_id: str, positions: Mapping[str, str | None], step: int, now: datetime) -> None: ...

    def finish_rename(self, user_id: str) -> None: ...


class Renames:
    def __init__(self, tickets: TicketNames, store: RenameStore) -> None:
        self._tickets = tickets
        self._store = store

    def follow(self, record: Mapping[str, Any], now: datetime) -> int:
        """Run the page a stream record asks for: a user record whose name changed (from the
        start), or a continuation item (from where it stopped). Answers tickets renamed."""
        started = renamed_user(record)
        if started is not None:
            return self.run(started, dict.fromkeys(ROLES), 0, now)
        continued = continuation(record)
        if continued is not None:
            user_id, positions, step = continued
            return self.run(user_id, positions, step, now)
        return 0

    def run(self, user_id: str, positions: Mapping[str, str | None], step: int, now: datetime) -> int:
        name = self._store.user_name(user_id)
        if name is None:  # deleted meanwhile: their tickets keep the last name they had
            self._store.finish_rename(user_id)
            return 0
        renamed, left = 0, {}
        for role in ROLES:
            if step > 0 and positions.get(role) is None:
                continue  # this role finished on an earlier page
            count, after = self._tickets.rename_page(user_id, role, name, positions.get(role), PAGE)
            renamed += count
            left[role] = after
        if any(after is not None for after in left.values()):
            self._store.save_rename(user_id, left, step + 1, now)
        elif step > 0:
            self._store.finish_rename(user_id)
        return renamed


def _image(record: Mapping[str, Any], which: str) -> Mapping[str, Any]:
    return (record.get("dynamodb") or {}).get(which) or {}


def renamed_user(record: Mapping[str, Any]) -> str | None:
    """The id of a user whose record's `name` changed in this MODIFY."""
    if record.get("eventName") != "MODIFY":
        return None
    old, new = _image(record, "OldImage"), _image(record, "NewImage")
    if new.get("PK", {}).get("S") != keys.directory_pk("user") or old.get("name") == new.get("name"):
        return None
    return str(new["SK"]["S"])


def continuation(record: Mapping[str, Any]) -> tuple[str, dict[str, str | None], int] | None:
    """(user id, where each role stopped, step) of a continuation item put (INSERT or MODIFY)."""
    if record.get("eventName") not in ("INSERT", "MODIFY"):
        return None
    new = _image(record, "NewImage")
    if new.get("PK", {}).get("S") != keys.RENAMES_PK:
        return None
    positions = {role: new.get(f"{role}_after", {}).get("S") for role in ROLES}
    return str(new["SK"]["S"]), positions, int(new.get("step", {}).get("N", "1"))
