"""SLA use cases: admin configuration (business hours, policies), settling a ticket's clocks
on every write, and reading clocks and the ledger."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain import sla
from chalicelib.domain.calendar import BusinessCalendar
from chalicelib.domain.errors import Conflict, ValidationFailed
from chalicelib.domain.tickets import Ticket
from chalicelib.storage.base import StoredItem
from chalicelib.storage.directory import DirectoryRepository
from chalicelib.storage.sla import SlaLedgerRepository, ledger_items

# Policies and calendars change rarely; a warm container re-reads them at most this often
# (admin writes in the same container invalidate at once). Docs: docs/decisions.md "SLA".
CACHE_SECONDS = 30.0
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlaConfig:
    policies: tuple[sla.Policy, ...]
    calendars: Mapping[str, BusinessCalendar]

    def calendar_for(self, business_hours_id: str | None) -> BusinessCalendar:
        """A policy without business hours (or whose hours were replaced) runs 24/7."""
        if business_hours_id is None:
            return BusinessCalendar.always()
        return self.calendars.get(business_hours_id) or BusinessCalendar.always()


class SlaConfigCache:
    def __init__(self, directory: DirectoryRepository, clock: Callable[[], float] = time.monotonic) -> None:
        self._directory = directory
        self._clock = clock
        self._config: SlaConfig | None = None
        self._loaded_at = 0.0

    def config(self) -> SlaConfig:
        if self._config is not None and self._clock() - self._loaded_at < CACHE_SECONDS:
            return self._config
        calendars = {}
        for entry in self._directory.list_all("business_hours"):
            try:
                calendars[entry.id] = sla.validate_business_hours(entry.data)
            except ValidationFailed:
                # Stored hours are validated on write; one that no longer validates (a zone the
                # runtime lacks) must not fail every ticket write: its policies run 24/7 meanwhile.
                _log.warning("business hours no longer valid; treated as 24/7", extra={"business_hours_id": entry.id})
        policies = tuple(sla.Policy.from_record(e.id, e.version, e.data) for e in self._directory.list_all("sla_policy"))
        self._config = SlaConfig(policies, calendars)
        self._loaded_at = self._clock()
        return self._config

    def invalidate(self) -> None:
        self._config = None


class SlaService:
    def __init__(self, cache: SlaConfigCache, ledger: SlaLedgerRepository) -> None:
        self._cache = cache
        self._ledger = ledger

    # -- on every ticket write ---------------------------------------------------------
    def settle(self, before: Ticket | None, after: Ticket, signals: Iterable[str], now: datetime) -> list[StoredItem]:
        """Set `after.sla` for this write; answers the ledger items to commit with it."""
        config = self._cache.config()
        policy = sla.choose_policy(config.policies, after)
        current = before.sla if before is not None else None
        state, entries = sla.reconcile(current, after, policy, config.calendar_for, now, signals)
        after.sla = state
        return list(ledger_items(after.id, after.version, entries))

    # -- reads -------------------------------------------------------------------------
    def clocks(self, ticket: Ticket, now: datetime) -> list[dict[str, Any]]:
        business_hours_id = (ticket.sla or {}).get("business_hours_id")
        return sla.clock_views(ticket.sla, self._cache.config().calendar_for(business_hours_id), now)

    def ledger(self, ticket: Ticket, *, limit: int, after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        return self._ledger.page(ticket.id, limit=limit, after=after)

    # -- admin configuration (validation hooks of the directory service) -----------------
    def check_business_hours(self, data: Mapping[str, Any]) -> dict[str, Any]:
        data = {"holidays": [], **data}
        sla.validate_business_hours(data)
        self._cache.invalidate()
        return data

    def check_policy(
        self, data: Mapping[str, Any], exists: Callable[[str], bool], others: Mapping[str, tuple[str, int]]
    ) -> dict[str, Any]:
        """`others`: every other policy's id → (name, position)."""
        data = {**sla.POLICY_DEFAULTS, **data, "position": sla.place_policy(data.get("position"), others)}
        sla.validate_policy(data, exists)
        self._cache.invalidate()
        return data

    def check_business_hours_unused(self, business_hours_id: str, policies: Iterable[Mapping[str, Any]]) -> None:
        if any(p.get("business_hours_id") == business_hours_id for p in policies):
            raise Conflict("SLA policies use these business hours; point them elsewhere first")
        self._cache.invalidate()

    def invalidate(self) -> None:
        self._cache.invalidate()
