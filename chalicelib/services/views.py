"""Views: the default views and the agents' saved views, each a page of tickets (issue 11)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain.errors import NotAllowed, NotFound, VersionConflict
from chalicelib.domain.listing import plan_list
from chalicelib.domain.tickets import Ticket
from chalicelib.domain.views import (
    DEFAULT_IDS,
    DEFAULT_VIEWS,
    DefaultView,
    SavedView,
    check_audience,
    count_of,
    default_view,
    may_change,
    may_use,
    plan_default,
    plan_saved,
    recently_solved_since,
    require_staff,
    total,
)
from chalicelib.domain.visibility import Caller
from chalicelib.services.tickets import TicketService
from chalicelib.storage import keys
from chalicelib.storage.views import ViewRepository


def new_view_id() -> str:
    return uuid.uuid4().hex


class CounterReader(Protocol):
    def counts(self, counters: Iterable[str]) -> dict[str, int]: ...


class ViewService:
    def __init__(
        self,
        tickets: TicketService,
        views: ViewRepository,
        counters: CounterReader | None = None,
        new_id: Callable[[], str] = new_view_id,
    ) -> None:
        self._tickets = tickets
        self._views = views
        self._counters = counters
        self._new_id = new_id

    def list(self, caller: Caller) -> tuple[tuple[DefaultView, ...], list[SavedView]]:
        """The defaults and every saved view the caller may use: one Query per audience (their
        private views, each of their teams, shared)."""
        require_staff(caller)
        audiences = [
            keys.view_audience("private", caller.user_id, None),
            *(keys.view_audience("team", caller.user_id, t) for t in sorted(caller.teams)),
            keys.view_audience("shared", caller.user_id, None),
        ]
        saved = [v for v in self._views.for_audiences(audiences) if may_use(caller, v)]
        return DEFAULT_VIEWS, saved

    def counts(self, caller: Caller, views: Sequence[DefaultView | SavedView]) -> list[tuple[int | None, str | None]]:
        """Each view's exact count, or None and why not: the counters of every view are read
        together (one BatchGetItem per 100 distinct counters; a sidebar needs far fewer)."""
        plans = [count_of(caller, view) for view in views]
        wanted = [counter for plan in plans for counter in (plan.terms or {})]
        assert self._counters is not None
        values = self._counters.counts(wanted) if wanted else {}
        return [(total(p.terms, values), None) if p.terms is not None else (None, p.unavailable) for p in plans]

    def get(self, caller: Caller, view_id: str) -> DefaultView | SavedView:
        require_staff(caller)
        builtin = default_view(view_id)
        if builtin is not None:
            return builtin
        view = self._views.get(view_id)
        if view is None or not may_use(caller, view):
            raise NotFound("view not found")  # another agent's private view: no existence leak
        return view

    def tickets(
        self, caller: Caller, view: DefaultView | SavedView, *, limit: int, position: str | None, now: datetime
    ) -> tuple[list[Ticket], str | None]:
        """A page of a view (from `get`), planned and read exactly as GET /v1/tickets is."""
        if isinstance(view, DefaultView):
            since = keys.stamp(recently_solved_since(now))
            plan = plan_default(caller, view.id, since)
        else:
            plan = plan_saved(caller, view)
        return self._tickets.list_planned(caller, plan, limit=limit, position=position)

    def create(self, caller: Caller, values: Mapping[str, Any], now: datetime) -> SavedView:
        require_staff(caller)
        visibility = values.get("visibility", "private")
        team_id = values.get("team_id")
        check_audience(caller, visibility, team_id)
        filters = dict(values.get("filters") or {})
        sort = values.get("sort") or "-last_activity_at"
        plan_list(caller, filters, sort)  # the one validation of GET /v1/tickets' filters
        view = SavedView(
            id=self._new_id(),
            name=values["name"],
            owner_id=caller.user_id,
            visibility=visibility,
            team_id=team_id,
            filters=filters,
            sort=sort,
            created_at=now,
            updated_at=now,
        )
        self._views.create(view, caller.user_id)
        return view

    def update(
        self, caller: Caller, view_id: str, values: Mapping[str, Any], *, expected_version: int | None, now: datetime
    ) -> SavedView:
        current = self._changeable(caller, view_id, expected_version)
        changed = {k: v for k, v in values.items() if k in ("name", "visibility", "team_id", "filters", "sort")}
        if "visibility" in changed and changed["visibility"] != "team" and "team_id" not in changed:
            changed["team_id"] = None
        if "filters" in changed:
            changed["filters"] = dict(changed["filters"] or {})
        updated = dataclasses.replace(current, **changed, updated_at=now, version=current.version + 1)
        check_audience(caller, updated.visibility, updated.team_id)
        plan_list(caller, updated.filters, updated.sort)
        self._views.replace(updated, current.version, caller.user_id)
        return updated

    def delete(self, caller: Caller, view_id: str, *, expected_version: int | None, now: datetime) -> None:
        current = self._changeable(caller, view_id, expected_version)
        self._views.delete(current.id, current.version, caller.user_id, now)

    def _changeable(self, caller: Caller, view_id: str, expected_version: int | None) -> SavedView:
        if view_id in DEFAULT_IDS:
            require_staff(caller)
            raise NotAllowed("default views cannot be changed")
        view = self.get(caller, view_id)
        assert isinstance(view, SavedView)
        if not may_change(caller, view):
            raise NotAllowed("only the view's owner or an admin may change it")
        if expected_version is not None and view.version != expected_version:
            raise VersionConflict(f"the view is at version {view.version}")
        return view
