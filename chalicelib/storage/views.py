"""Saved views (PK VIEW#<id>), listed per audience on GSI1 (docs/data-model.md, "Views")."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from chalicelib.domain.errors import Conflict, DomainError, NotFound, Unavailable, VersionConflict
from chalicelib.domain.events import RESOURCE_CREATED, RESOURCE_DELETED, RESOURCE_UPDATED
from chalicelib.domain.views import SavedView
from chalicelib.storage import keys
from chalicelib.storage.base import Repository
from chalicelib.storage.errors import TransactionCancelled, translated
from chalicelib.storage.events import resource_event_item
from chalicelib.storage.models import EventItem, ViewItem


def _view(item: ViewItem) -> SavedView:
    return SavedView(
        id=item.id,
        name=item.name,
        owner_id=item.owner_id,
        visibility=item.visibility,
        team_id=item.team_id,
        filters=dict(item.filters or {}),
        sort=item.sort,
        created_at=item.created_at,
        updated_at=item.updated_at,
        version=int(item.version),
    )


def _item(view: SavedView) -> ViewItem:
    return ViewItem(
        keys.view_pk(view.id),
        keys.VIEW_SK,
        id=view.id,
        name=view.name,
        owner_id=view.owner_id,
        visibility=view.visibility,
        team_id=view.team_id,
        filters=dict(view.filters),
        sort=view.sort,
        created_at=view.created_at,
        updated_at=view.updated_at,
        version=view.version,
        GSI1PK=keys.view_audience(view.visibility, view.owner_id, view.team_id),
        GSI1SK=keys.list_sort_key(view.created_at, view.id),
    )


class ViewRepository(Repository):
    def get(self, view_id: str) -> SavedView | None:
        with translated():
            try:
                return _view(ViewItem.get(keys.view_pk(view_id), keys.VIEW_SK, consistent_read=True))
            except ViewItem.DoesNotExist:
                return None

    def for_audiences(self, audiences: Iterable[str]) -> list[SavedView]:
        """Every view of each audience partition, oldest first (one Query per partition and page)."""
        found: dict[str, SavedView] = {}
        for audience in audiences:
            with translated():
                for item in ViewItem.by_audience.query(audience):
                    found.setdefault(item.id, _view(item))
        return list(found.values())

    # Every write commits with its `resource.*` event (the outbox), one transaction.
    def create(self, view: SavedView, actor_id: str) -> None:
        event = _event(RESOURCE_CREATED, view.id, view.version, actor_id, view.updated_at)
        self._write(_item(view), ViewItem.PK.does_not_exist(), event, lambda: Conflict("a view with this id exists"))

    def replace(self, view: SavedView, expected_version: int, actor_id: str) -> None:
        """Put the changed view only if nobody changed it since it was read."""
        event = _event(RESOURCE_UPDATED, view.id, view.version, actor_id, view.updated_at)
        condition = ViewItem.version == expected_version
        self._write(_item(view), condition, event, lambda: VersionConflict("the view changed meanwhile"))

    def delete(self, view_id: str, expected_version: int, actor_id: str, now: datetime) -> None:
        event = _event(RESOURCE_DELETED, view_id, None, actor_id, now)
        item = ViewItem(keys.view_pk(view_id), keys.VIEW_SK)
        self._write(item, ViewItem.version == expected_version, event, lambda: NotFound("view not found"), delete=True)

    def _write(
        self, item: ViewItem, condition: Any, event: EventItem, failed: Callable[[], DomainError], delete: bool = False
    ) -> None:
        try:
            with translated(), self._transaction() as tx:
                if delete:
                    tx.delete(item, condition=condition)
                else:
                    tx.save(item, condition=condition)
                tx.save(event)
        except TransactionCancelled as exc:
            if exc.failed_keys():
                raise failed() from exc
            raise Unavailable("the view is being changed by another request; retry", retry_after=1) from exc


def _event(event_type: str, view_id: str, version: int | None, actor_id: str, now: datetime) -> EventItem:
    return resource_event_item(event_type, resource="view", resource_id=view_id, version=version, actor_id=actor_id, now=now)
