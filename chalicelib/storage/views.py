"""Saved views (PK VIEW#<id>), listed per audience on GSI1 (docs/data-model.md, "Views")."""

from __future__ import annotations

from collections.abc import Iterable

from chalicelib.domain.errors import Conflict, NotFound, VersionConflict
from chalicelib.domain.views import SavedView
from chalicelib.storage import keys
from chalicelib.storage.base import Repository
from chalicelib.storage.errors import translated
from chalicelib.storage.models import ViewItem


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

    def create(self, view: SavedView) -> None:
        with translated(on_condition_failed=lambda: Conflict("a view with this id exists")):
            _item(view).save(condition=ViewItem.PK.does_not_exist())

    def replace(self, view: SavedView, expected_version: int) -> None:
        """Put the changed view only if nobody changed it since it was read."""
        with translated(on_condition_failed=lambda: VersionConflict("the view changed meanwhile")):
            _item(view).save(condition=ViewItem.version == expected_version)

    def delete(self, view_id: str, expected_version: int) -> None:
        with translated(on_condition_failed=lambda: NotFound("view not found")):
            ViewItem(keys.view_pk(view_id), keys.VIEW_SK).delete(condition=ViewItem.version == expected_version)
