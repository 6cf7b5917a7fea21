"""Ticket use cases: authorize against the domain rules, then one repository write."""

from __future__ import annotations

import dataclasses
import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from chalicelib.domain import events
from chalicelib.domain.activities import property_change_activities
from chalicelib.domain.channel_details import validate_channel_details
from chalicelib.domain.comments import activity_status_on_open, check_cc_by_customer
from chalicelib.domain.errors import (
    Conflict,
    Contention,
    FieldError,
    NotAllowed,
    TicketNotFound,
    ValidationFailed,
    VersionConflict,
)
from chalicelib.domain.listing import ListPlan, plan_list
from chalicelib.domain.pipelines import DEFAULT_PIPELINE, UnknownPipeline
from chalicelib.domain.tickets import AGENT_ONLY_ON_CREATE, MAX_CC, Change, Ticket, apply_patch, create_ticket
from chalicelib.domain.visibility import Caller, can_see, can_see_even_if_deleted
from chalicelib.services.sla import SlaService
from chalicelib.services.statuses import StatusCatalogCache
from chalicelib.storage import keys
from chalicelib.storage.activities import items_for, new_activity_id
from chalicelib.storage.base import StoredItem
from chalicelib.storage.directory import DirectoryRepository
from chalicelib.storage.events import ticket_event_item
from chalicelib.storage.tickets import PURGE_AFTER, ExistenceCheck, HistoryEntry, Put, TicketRepository

# Concurrent PATCHes of one ticket are serialized by its version; a writer that lost the
# race re-reads and re-applies its own change, so different fields never overwrite each other.
# Jittered exponential backoff spreads the retries of n racing writers (n rounds at worst).
UPDATE_ATTEMPTS = 25
BACKOFF_BASE_SECONDS = 0.005
BACKOFF_CAP_SECONDS = 0.1


def backoff(attempt: int) -> float:
    return random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt))


def new_ticket_id() -> str:
    return uuid.uuid4().hex


@dataclasses.dataclass(frozen=True)
class TicketWrite:
    """What one write of a ticket commits: the new ticket, its history, the reference checks,
    other items in the same transaction (timeline entries), and the change event (`event`, with
    `event_extra` added to its detail) that `TicketService.write` puts in that transaction."""

    ticket: Ticket
    changes: list[Change]
    checks: list[ExistenceCheck] = dataclasses.field(default_factory=list)
    also_put: list[Put] = dataclasses.field(default_factory=list)
    event: str = events.TICKET_UPDATED
    event_extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # What the write means to the SLA clocks: a response kind or a customer message (domain.sla).
    signals: frozenset[str] = frozenset()
    # Items put only if their condition holds (routing's round-robin cursor); a failed one retries.
    guarded: list[tuple[StoredItem, Any]] = dataclasses.field(default_factory=list)


class TicketService:
    def __init__(
        self,
        tickets: TicketRepository,
        directory: DirectoryRepository,
        statuses: StatusCatalogCache,
        new_id: Callable[[], str] = new_ticket_id,
        sleep: Callable[[float], None] = time.sleep,
        sla: SlaService | None = None,
    ) -> None:
        self._sla = sla
        self._sleep = sleep
        self._tickets = tickets
        self._directory = directory
        self._statuses = statuses
        self._new_id = new_id

    # -- reads -----------------------------------------------------------------------
    def get(self, caller: Caller, ticket_id: str) -> Ticket:
        ticket = self._tickets.get(ticket_id)
        if ticket is None or not can_see(caller, ticket):
            raise TicketNotFound("ticket not found")
        return ticket

    def get_by_number(self, caller: Caller, number: int) -> Ticket:
        """The ticket numbered `number` (the Zendesk layer's ids): 1 Query + 1 GetItem."""
        ticket_id = self._tickets.id_for_number(number)
        if ticket_id is None:
            raise TicketNotFound("ticket not found")
        return self.get(caller, ticket_id)

    def visible_many(self, caller: Caller, ticket_ids: Sequence[str]) -> list[Ticket]:
        """The live tickets of `ticket_ids` the caller may see, in that order (one BatchGetItem per 100)."""
        found: dict[str, Ticket] = {}
        unique = list(dict.fromkeys(ticket_ids))
        for offset in range(0, len(unique), 100):
            found.update(self._tickets.get_many(unique[offset : offset + 100]))
        return [t for i in unique if (t := found.get(i)) is not None and not t.is_deleted and can_see(caller, t)]

    def list(
        self, caller: Caller, filters: Mapping[str, str], *, sort: str, limit: int, position: str | None
    ) -> tuple[list[Ticket], str | None]:
        plan = plan_list(caller, filters, sort)
        return self.list_planned(caller, plan, limit=limit, position=position)

    def list_planned(
        self, caller: Caller, plan: ListPlan, *, limit: int, position: str | None
    ) -> tuple[list[Ticket], str | None]:
        """A page of a plan made by `domain.listing.plan_list` (views plan with it too)."""
        return self._tickets.list(plan, caller, limit=limit, position=position)

    def my_tickets(
        self, caller: Caller, *, scope: str, sort: str, limit: int, position: str | None
    ) -> tuple[list[Ticket], str | None]:
        if scope == "organization":
            if not (caller.org_admin and caller.org_id):
                raise NotAllowed("only organization admins can list their organization's tickets")
            plan = ListPlan((f"ORG#{caller.org_id}",), {}, False, sort.startswith("-"), sort.lstrip("-"))
        else:
            plan = ListPlan((f"USER#{caller.user_id}",), {}, False, sort.startswith("-"), sort.lstrip("-"))
        return self._tickets.list(plan, caller, limit=limit, position=position)

    def history(
        self, caller: Caller, ticket_id: str, *, prop: str | None, limit: int, after: str | None
    ) -> tuple[list[HistoryEntry], str | None]:
        self.get(caller, ticket_id)
        return self._tickets.history(ticket_id, prop=prop, limit=limit, after=after)

    def user_organizations(self, user_ids: Sequence[str]) -> list[tuple[str, str | None]]:
        """Each user with their organization (None if none or no such user): one GetItem each,
        only for customers who CC someone (at most MAX_CC)."""
        out = []
        for user_id in user_ids:
            entry = self._directory.get("user", user_id)
            out.append((user_id, entry.data.get("organization_id") if entry is not None else None))
        return out

    # -- writes ----------------------------------------------------------------------
    def new_ticket_id(self) -> str:
        return self._new_id()

    def create(
        self,
        caller: Caller,
        values: Mapping[str, Any],
        now: datetime,
        *,
        also_put: Sequence[Put] = (),
        ticket_id: str | None = None,
    ) -> Ticket:
        """`also_put`: items that commit with the ticket or not at all, under `ticket_id` (from
        `new_ticket_id`) when they name it (an inbound mail's Message-ID and thread)."""
        values = dict(values)
        if not caller.is_staff:
            forbidden = [name for name in AGENT_ONLY_ON_CREATE if values.get(name) is not None]
            if forbidden:
                raise NotAllowed.for_fields(forbidden, "only agents and admins may set this")
            if values.get("cc"):
                check_cc_by_customer(caller, caller.org_id, self.user_organizations(values["cc"][: MAX_CC + 1]))
        provided = {name for name, value in values.items() if value is not None}
        requester_id = values.pop("requester_id", None) or caller.user_id
        organization_id = values.pop("organization_id", None)
        if requester_id == caller.user_id:
            organization_id = organization_id or caller.org_id
            requester_name = caller.name or None
        else:
            requester = self._directory.get("user", requester_id)
            if requester is None:
                raise ValidationFailed([FieldError("requester_id", "no such user")])
            organization_id = organization_id or requester.data.get("organization_id")
            requester_name = requester.name
        if values.get("channel_details") is not None:
            values["channel_details"] = validate_channel_details(values.get("channel") or "api", values["channel_details"])
        catalog = self._statuses.catalog(must_know=values.get("status"), pipeline=values.get("pipeline_id"))
        ticket, changes = create_ticket(
            ticket_id=ticket_id or self._new_id(),
            number=0,
            values=values,
            requester_id=requester_id,
            organization_id=organization_id,
            catalog=catalog,
            now=now,
        )
        ticket.requester_name = requester_name
        ticket.assignee_name = self.display_name(caller, ticket.assignee_id)
        # Only references the caller named are checked; the requester's own org comes from
        # the token or the requester's record and is trusted.
        checks = self.reference_checks(ticket, provided - {"requester_id"})
        # The number is taken last so that invalid requests do not burn numbers.
        ledger = self.sla_ledger(None, ticket, frozenset(), now)
        ticket.number = self._tickets.next_number()
        event = _event(events.TICKET_CREATED, ticket, caller, now, changes, {"number": ticket.number})
        self._tickets.create(ticket, changes, caller.user_id, checks, also_put=[event, *ledger, *also_put])
        return ticket

    def update(
        self,
        caller: Caller,
        ticket_id: str,
        values: Mapping[str, Any],
        *,
        expected_version: int | None,
        now: datetime,
        read: Ticket | None = None,
    ) -> Ticket:
        self._require_staff(caller)

        def change(current: Ticket) -> TicketWrite | None:
            patch = dict(values)
            requester_name = current.requester_name
            if "requester_id" in patch and patch["requester_id"] != current.requester_id:
                requester = self._directory.get("user", patch["requester_id"])
                if requester is None:
                    raise ValidationFailed([FieldError("requester_id", "no such user")])
                if "organization_id" not in patch:
                    patch["organization_id"] = requester.data.get("organization_id")
                requester_name = requester.name
            if "channel_details" in patch or "channel" in patch:
                # The details must fit the channel the ticket ends up with (422 otherwise).
                details = patch.get("channel_details", current.channel_details)
                checked = validate_channel_details(patch.get("channel") or current.channel, details)
                if "channel_details" in patch:
                    patch["channel_details"] = checked
            catalog = self._statuses.catalog(
                must_know=patch.get("status"), pipeline=patch.get("pipeline_id", current.pipeline_id)
            )
            updated, changes = apply_patch(current, patch, catalog=catalog, now=now)
            if not changes:
                return None
            updated.requester_name = requester_name
            if updated.assignee_id != current.assignee_id:
                updated.assignee_name = self.display_name(caller, updated.assignee_id)
            checks = self.reference_checks(updated, {c.property for c in changes})
            # Property-change entries join the timeline in the same transaction.
            entries = property_change_activities(current.id, changes, caller, now, lambda: new_activity_id(now))
            return TicketWrite(updated, changes, checks, items_for(entries))

        return self.write(caller, ticket_id, change, expected_version=expected_version, now=now, read=read)

    def write(
        self,
        caller: Caller,
        ticket_id: str,
        change: Callable[[Ticket], TicketWrite | None],
        *,
        expected_version: int | None = None,
        now: datetime,
        read: Ticket | None = None,
    ) -> Ticket:
        """Read, change, write in one version-conditioned transaction; a writer that lost the race
        re-reads and re-applies `change` (unless the caller named a version: then 412). A caller
        that already `read` the ticket saves the first GetItem (the write is conditioned on its version)."""
        for attempt in range(UPDATE_ATTEMPTS):
            if attempt == 0 and read is not None and read.id == ticket_id and can_see(caller, read):
                current = read
            else:
                current = self.get(caller, ticket_id)
            if expected_version is not None and current.version != expected_version:
                raise VersionConflict(f"ticket is at version {current.version}")
            try:
                write = change(current)
            except UnknownPipeline:
                # A cached catalog older than the ticket's pipeline (another container made it):
                # read the catalog again, once; a pipeline that really is unknown stays a 422.
                self._statuses.invalidate()
                write = change(current)
            if write is None:
                return current
            write = self.settle_sla(current, write, now)
            try:
                event = _event(write.event, write.ticket, caller, now, write.changes, write.event_extra)
                self._tickets.update(
                    current,
                    write.ticket,
                    write.changes,
                    caller.user_id,
                    now,
                    write.checks,
                    also_put=[*write.also_put, event],
                    guarded=write.guarded,
                )
                return write.ticket
            except VersionConflict:
                if expected_version is not None:
                    raise
                self._sleep(backoff(attempt))
            except Contention:  # a transaction held the ticket: nothing was written; re-read, retry
                self._sleep(backoff(attempt))
        raise Conflict("the ticket is changing too often; retry shortly", retry_after=1)

    def open(self, caller: Caller, ticket_id: str, now: datetime, read: Ticket | None = None) -> Ticket:
        """GET by a caller: the assigned agent opening an unread ticket marks it read.

        A write on a GET, only in that case (one transaction, so the list entries agree with
        the ticket); a lost race leaves it unread for the next open. Everyone else: 1 GetItem
        (none when the caller already `read` the ticket, e.g. with its viewers).
        """
        if read is None:
            ticket = self.get(caller, ticket_id)
        elif can_see(caller, read):
            ticket = read
        else:
            raise TicketNotFound("ticket not found")
        status = activity_status_on_open(caller, ticket)
        if status is None:
            return ticket
        read = dataclasses.replace(ticket, activity_status=status, version=ticket.version + 1)
        event = _event(events.TICKET_UPDATED, read, caller, now, [Change("activity_status", ticket.activity_status, status)])
        try:
            self._tickets.update(ticket, read, [], caller.user_id, now, also_put=[event])
        except VersionConflict:
            return ticket
        return read

    def delete(self, caller: Caller, ticket_id: str, *, expected_version: int | None, now: datetime) -> None:
        self._require_staff(caller)
        current = self.get(caller, ticket_id)
        if expected_version is not None and current.version != expected_version:
            raise VersionConflict(f"ticket is at version {current.version}")
        deleted = dataclasses.replace(current, deleted_at=now, updated_at=now, version=current.version + 1)
        changes = [Change("deleted_at", None, now.isoformat())]
        event = _event(events.TICKET_DELETED, deleted, caller, now, changes)
        self._tickets.update(current, deleted, changes, caller.user_id, now, also_put=[event])

    def restore(self, caller: Caller, ticket_id: str, now: datetime) -> Ticket:
        self._require_staff(caller)
        current = self._tickets.get(ticket_id)
        if current is None or not can_see_even_if_deleted(caller, current):
            raise TicketNotFound("ticket not found")
        if current.deleted_at is None:
            return current
        if now - current.deleted_at > PURGE_AFTER:
            # TTL purges lazily (up to days late); the 90-day promise is enforced here.
            raise TicketNotFound("the ticket was deleted more than 90 days ago and is purged")
        restored = dataclasses.replace(current, deleted_at=None, updated_at=now, version=current.version + 1)
        changes = [Change("deleted_at", current.deleted_at.isoformat(), None)]
        event = _event(events.TICKET_RESTORED, restored, caller, now, changes)
        self._tickets.update(current, restored, changes, caller.user_id, now, also_put=[event])
        return restored

    # -- helpers ---------------------------------------------------------------------
    def settle_sla(self, current: Ticket, write: TicketWrite, now: datetime) -> TicketWrite:
        """Every write re-settles the SLA clocks (pause, resume, response, re-plan) in the same transaction."""
        ledger = self.sla_ledger(current, write.ticket, write.signals, now)
        return dataclasses.replace(write, also_put=[*write.also_put, *ledger]) if ledger else write

    def sla_ledger(self, current: Ticket | None, new: Ticket, signals: frozenset[str], now: datetime) -> list[StoredItem]:
        """Sets `new.sla`; answers the SLA ledger items the write must commit with it."""
        return self._sla.settle(current, new, signals, now) if self._sla is not None else []

    def display_name(self, caller: Caller, user_id: str | None) -> str | None:
        """A user's name for list entries: the caller's own from the request, else 1 GetItem."""
        if user_id is None:
            return None
        if user_id == caller.user_id:
            return caller.name or None
        entry = self._directory.get("user", user_id)
        return entry.name if entry is not None else None

    @staticmethod
    def _require_staff(caller: Caller) -> None:
        if not caller.is_staff:
            raise NotAllowed("only agents and admins may do this")

    def reference_checks(self, ticket: Ticket, changed: set[str]) -> list[ExistenceCheck]:
        """Conditions checked inside the write's transaction: referenced records exist."""
        checks: dict[tuple[str, str], ExistenceCheck] = {}

        def add(check: ExistenceCheck) -> None:
            key = (check.pk, check.sk)
            if key not in checks or check.condition is not None:
                checks[key] = check

        user_pk = keys.directory_pk("user")
        if "cc" in changed:
            for user in ticket.cc:
                add(ExistenceCheck("cc", user_pk, user))
        if "requester_id" in changed:
            add(ExistenceCheck("requester_id", user_pk, ticket.requester_id))
        if "assignee_id" in changed and ticket.assignee_id:
            add(ExistenceCheck.staff("assignee_id", ticket.assignee_id))
        if "team_id" in changed and ticket.team_id:
            add(ExistenceCheck("team_id", keys.directory_pk("team"), ticket.team_id))
        if "organization_id" in changed and ticket.organization_id:
            add(ExistenceCheck("organization_id", keys.directory_pk("organization"), ticket.organization_id))
        if "status" in changed and ticket.status != ticket.status_category:
            add(ExistenceCheck("status", keys.directory_pk("status"), ticket.status))
        if "pipeline_id" in changed and ticket.pipeline_id != DEFAULT_PIPELINE:
            add(ExistenceCheck("pipeline_id", keys.directory_pk("pipeline"), ticket.pipeline_id))
        return list(checks.values())


def _event(
    event_type: str, ticket: Ticket, caller: Caller, now: datetime, changes: list[Change], extra: Mapping[str, Any] | None = None
) -> StoredItem:
    """The change event that commits in the ticket's own transaction (the outbox)."""
    return ticket_event_item(
        event_type,
        ticket_id=ticket.id,
        version=ticket.version,
        actor_id=caller.user_id,
        now=now,
        changes=changes,
        extra=dict(extra or {}),
    )
