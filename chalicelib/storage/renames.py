"""Continuations of renames being copied onto a user's tickets (services/renames.py):
`DIR#user-rename` / `<user id>`, and the user's current name."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from chalicelib.storage import keys
from chalicelib.storage.base import Repository
from chalicelib.storage.errors import translated
from chalicelib.storage.models import DirectoryItem, RenameItem

# A continuation left behind (its function failing for good) does not linger: the next rename
# of the user starts over anyway.
EXPIRY = timedelta(days=7)


class RenameRepository(Repository):
    def user_name(self, user_id: str) -> str | None:
        """The directory's name of the user now (consistent), None when there is no such user."""
        with translated():
            try:
                return str(DirectoryItem.get(keys.directory_pk("user"), user_id, consistent_read=True).name)
            except DirectoryItem.DoesNotExist:
                return None

    def save_rename(self, user_id: str, positions: Mapping[str, str | None], step: int, now: datetime) -> None:
        item = RenameItem(
            keys.RENAMES_PK,
            user_id,
            requester_after=positions.get("requester"),
            assignee_after=positions.get("assignee"),
            step=step,
            ttl=now + EXPIRY,
        )
        with translated():
            item.save()

    def finish_rename(self, user_id: str) -> None:
        with translated():
            RenameItem(keys.RENAMES_PK, user_id).delete()
