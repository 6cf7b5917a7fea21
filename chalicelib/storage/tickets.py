"""Ticket repository: the ticket item, its list entries and its property history."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import (
    Conflict,
    Contention,
    DomainError,
    FieldError,
    MalformedRequest,
    Unavailable,
    ValidationFailed,
    VersionConflict,
)
from chalicelib.domain.listing import LIST_FILTERS, NONE, ListPlan, PartitionPage, index_partitions, merge_pages
from chalicelib.domain.pipelines import DEFAULT_PIPELINE
from chalicelib.domain.tickets import Change, Ticket
from chalicelib.domain.visibility import Audience, Caller
from chalicelib.storage import keys
from chalicelib.storage.base import Repository, next_counter_value
from chalicelib.storage.errors import TransactionCancelled, translated
from chalicelib.storage.models import DirectoryItem, HistoryItem, Record, TicketEntry, TicketItem, TicketNumber, TimelineHead

PURGE_AFTER = timedelta(days=90)
_TICKET_FIELDS = [f.name for f in dataclasses.fields(Ticket)]


@dataclasses.dataclass(frozen=True)
class HistoryEntry:
    property: str
    old: Any
    new: Any
    actor_id: str
    at: datetime


@dataclasses.dataclass(frozen=True)
class ExistenceCheck:
    """A condition on another item checked inside the ticket's transaction (e.g. the team exists)."""

    field: str
    pk: str
    sk: str
    condition: Condition | None = None

    @classmethod
    def staff(cls, field: str, user_id: str) -> ExistenceCheck:
        """The user exists and is an agent or an admin (an assignee, a notified colleague)."""
        return cls(field, keys.directory_pk("user"), user_id, DirectoryItem.role.is_in("agent", "admin"))


@dataclasses.dataclass(frozen=True)
class ConditionalPut:
    """An item put inside the ticket's transaction only if `condition` holds (e.g. an inbound
    Message-ID not seen before); when it does not, the write raises `refused` and nothing commits."""

    item: Record
    condition: Condition
    refused: DomainError


Put = Record | ConditionalPut


def _put(tx: TransactWrite, item: Put) -> None:
    if isinstance(item, ConditionalPut):
        tx.save(item.item, condition=item.condition)
    else:
        tx.save(item)


def _to_ticket(item: TicketItem) -> Ticket:
    values = {name: getattr(item, name) for name in _TICKET_FIELDS}
    values["cc"] = list(values["cc"] or [])
    values["followers"] = list(values["followers"] or [])
    values["tags"] = list(values["tags"] or [])
    values["custom_fields"] = dict(values["custom_fields"] or {})
    values["links"] = list(values["links"] or [])
    values["merged_from"] = list(values["merged_from"] or [])
    values["merged_staff_only"] = list(values["merged_staff_only"] or [])
    values["time_spent_minutes"] = int(values["time_spent_minutes"] or 0)
    values["number"] = int(values["number"])
    values["sla"] = item.sla.as_dict() if item.sla is not None else None
    values["version"] = int(values["version"])
    values["pipeline_id"] = values["pipeline_id"] or DEFAULT_PIPELINE
    return Ticket(**values)


def ticket_from_item(item: TicketItem) -> Ticket:
    return _to_ticket(item)


def ticket_from_image(image: dict[str, Any]) -> Ticket:
    """The ticket of a stream record's image (DynamoDB JSON of the ticket item)."""
    return _to_ticket(TicketItem.from_raw_data(image))


def _fill(item: TicketItem, ticket: Ticket) -> TicketItem:
    for name in _TICKET_FIELDS:
        setattr(item, name, getattr(ticket, name))
    if ticket.pipeline_id == DEFAULT_PIPELINE:  # tickets from before pipelines have none: same item
        item.pipeline_id = None
    return item


def _ticket_item(ticket: Ticket) -> TicketItem:
    item = _fill(TicketItem(keys.ticket_pk(ticket.id), keys.TICKET_SK), ticket)
    if ticket.deleted_at is not None:
        item.ttl = ticket.deleted_at + PURGE_AFTER
    return item


def _entries(ticket: Ticket) -> dict[str, TicketEntry]:
    if ticket.is_deleted:
        return {}
    entries = {}
    for partition in index_partitions(ticket):
        entry = _fill(TicketEntry(keys.ticket_pk(ticket.id), keys.entry_sk(partition)), ticket)
        entry.description = ""  # lists omit it; keeps N copies of the ticket small
        entry.channel_details = None  # transcripts and threads: GET the ticket for them
        entry.GSI1PK = partition
        entry.GSI1SK = keys.list_sort_key(ticket.last_activity_at, ticket.id)
        entry.GSI2SK = keys.list_sort_key(ticket.created_at, ticket.id)
        entries[partition] = entry
    return entries


def number_item(ticket: Ticket) -> TicketNumber:
    return TicketNumber(
        keys.ticket_pk(ticket.id),
        keys.NUMBER_SK,
        ticket_id=ticket.id,
        number=ticket.number,
        GSI3PK=keys.number_index_pk(ticket.number),
        GSI3SK=keys.ticket_pk(ticket.id),
    )


def timeline_head(ticket: Ticket) -> TimelineHead:
    audience = Audience.of(ticket)
    return TimelineHead(
        keys.ticket_pk(ticket.id),
        keys.TIMELINE_HEAD_SK,
        requester_id=audience.requester_id,
        organization_id=audience.organization_id,
        assignee_id=audience.assignee_id,
        team_id=audience.team_id,
        cc=list(audience.cc),
        merged_from=list(audience.merged_from),
        merged_staff_only=list(audience.merged_staff_only),
        deleted=audience.deleted,
        GSI1PK=keys.public_timeline_pk(ticket.id),
        GSI1SK=keys.TIMELINE_HEAD_SK,
        ttl=ticket.deleted_at + PURGE_AFTER if ticket.deleted_at else None,
    )


def _head_changes(old: Ticket, new: Ticket) -> list[TimelineHead]:
    """The head is rewritten only when its fields change: most writes (replies, status) leave it."""
    return [timeline_head(new)] if Audience.of(old) != Audience.of(new) else []


def _history_items(ticket: Ticket, changes: Sequence[Change], actor_id: str, at: datetime) -> list[HistoryItem]:
    return [
        HistoryItem(
            keys.ticket_pk(ticket.id),
            keys.history_sk(at, ticket.version, seq),
            property=change.property,
            old=change.old,
            new=change.new,
            actor_id=actor_id,
            at=at,
        )
        for seq, change in enumerate(changes)
    ]


class TicketRepository(Repository):
    # -- numbers ---------------------------------------------------------------------
    def next_number(self) -> int:
        return next_counter_value(keys.TICKET_NUMBER_SK)

    # -- reads -----------------------------------------------------------------------
    def get(self, ticket_id: str) -> Ticket | None:
        with translated():
            try:
                item = TicketItem.get(keys.ticket_pk(ticket_id), keys.TICKET_SK, consistent_read=True)
            except TicketItem.DoesNotExist:
                return None
        return _to_ticket(item)

    def history(
        self, ticket_id: str, *, prop: str | None, limit: int, after: str | None
    ) -> tuple[list[HistoryEntry], str | None]:
        """Newest first, one Query; `prop` is a filter expression on the ticket's own partition."""
        range_condition = HistoryItem.SK.startswith(keys.HISTORY_PREFIX)
        if after is not None:
            if not after.startswith(keys.HISTORY_PREFIX):
                raise MalformedRequest("cursor does not belong to this list")
            range_condition = HistoryItem.SK.between(keys.HISTORY_PREFIX, keys.before(after))
        with translated():
            results = HistoryItem.query(
                keys.ticket_pk(ticket_id),
                range_condition,
                filter_condition=(HistoryItem.property == prop) if prop else None,
                scan_index_forward=False,
                limit=limit,
                page_size=limit,
            )
            page = next(results.page_iter)
        items = [HistoryItem.from_raw_data(raw) for raw in page.get("Items", [])]
        entries = [HistoryEntry(i.property, i.old, i.new, i.actor_id, i.at) for i in items]
        last = page.get("LastEvaluatedKey")
        return entries, (last["SK"]["S"] if last else None)

    def list(self, plan: ListPlan, caller: Caller, *, limit: int, position: str | None) -> tuple[list[Ticket], str | None]:
        """One Query per partition of the plan, merged by sort key."""
        index = TicketEntry.by_activity if plan.by == "last_activity_at" else TicketEntry.by_creation
        sort_attr = TicketEntry.GSI1SK if plan.by == "last_activity_at" else TicketEntry.GSI2SK
        sort_name = sort_attr.attr_name
        filters = _residual_condition(plan, caller)
        pages = []
        for partition in plan.partitions:
            try:
                range_condition = _range_condition(sort_attr, plan, position)
            except _Exhausted:
                pages.append(PartitionPage([], None))
                continue
            with translated():
                results = index.query(
                    partition,
                    range_condition,
                    filter_condition=filters,
                    scan_index_forward=not plan.descending,
                    limit=limit,
                    page_size=limit,
                )
                page = next(results.page_iter)
            raw_items = page.get("Items", [])
            last = page.get("LastEvaluatedKey")
            pages.append(PartitionPage(raw_items, last[sort_name]["S"] if last else None))
        chosen, next_position = merge_pages(
            pages, limit=limit, descending=plan.descending, sort_key=lambda raw: raw[sort_name]["S"]
        )
        return [_to_ticket(TicketEntry.from_raw_data(raw)) for raw in chosen], next_position

    def reindex_page(self, after: str | None, limit: int = 25) -> tuple[int, str | None]:
        """Re-put every list entry of the next `limit` live tickets of the `ALL` partition (newest
        activity first, after the position `after`), so tickets written before a new partition
        existed get it. One transaction per ticket, conditioned on the version read: a ticket
        written meanwhile got its entries from that write. Answers (tickets re-indexed, position)."""
        with translated():
            sort_attr = TicketEntry.GSI1SK
            range_condition = sort_attr < after if after is not None else None
            results = TicketEntry.by_activity.query(
                "ALL", range_condition, scan_index_forward=False, limit=limit, page_size=limit
            )
            page = next(results.page_iter)
        ids = [raw["id"]["S"] for raw in page.get("Items", [])]
        done = 0
        for ticket in self.get_many(ids).values():
            try:
                with translated(), self._transaction() as tx:
                    tx.condition_check(
                        TicketItem, keys.ticket_pk(ticket.id), keys.TICKET_SK, condition=TicketItem.version == ticket.version
                    )
                    for entry in _entries(ticket).values():
                        tx.save(entry)
                    tx.save(number_item(ticket))  # tickets written before the number index
                done += 1
            except (TransactionCancelled, Contention):
                continue  # changed meanwhile: that write put all of its entries
        last = page.get("LastEvaluatedKey")
        return done, (last["GSI1SK"]["S"] if last else None)

    def id_for_number(self, number: int) -> str | None:
        """The id of the ticket numbered `number`: one Query of GSI3 `NUMBER#<n>` (eventually
        consistent, like every index: a ticket created a moment ago may not be found yet)."""
        with translated():
            found = list(TicketNumber.by_number.query(keys.number_index_pk(number), limit=1))
        return str(found[0].ticket_id) if found else None

    def has_any(self, partition: str) -> bool:
        with translated():
            results = TicketEntry.by_activity.query(partition, limit=1, page_size=1)
            page = next(results.page_iter)
        return bool(page.get("Items"))

    # -- writes ----------------------------------------------------------------------
    def create(
        self,
        ticket: Ticket,
        changes: Sequence[Change],
        actor_id: str,
        checks: Iterable[ExistenceCheck] = (),
        also_put: Sequence[Put] = (),
    ) -> None:
        """One transaction: the ticket, its list entries, its initial history, the checks, and
        any other item that must appear with it (`also_put`, e.g. its first timeline entry)."""
        checks = list(checks)
        try:
            with translated(), self._transaction() as tx:
                tx.save(_ticket_item(ticket), condition=TicketItem.PK.does_not_exist())
                tx.save(timeline_head(ticket))
                tx.save(number_item(ticket))
                _add_checks(tx, checks)
                for entry in _entries(ticket).values():
                    tx.save(entry)
                for item in _history_items(ticket, changes, actor_id, ticket.created_at):
                    tx.save(item)
                for item in also_put:
                    _put(tx, item)
        except TransactionCancelled as cancelled:
            on_ticket = Conflict("ticket id already exists")
            raise _explain(cancelled, checks, ticket.id, on_ticket, _conditional(also_put)) from cancelled

    def update(
        self,
        old: Ticket,
        new: Ticket,
        changes: Sequence[Change],
        actor_id: str,
        at: datetime,
        checks: Iterable[ExistenceCheck] = (),
        also_put: Sequence[Put] = (),
        guarded: Sequence[tuple[Record, Condition]] = (),
    ) -> None:
        """One transaction, conditional on the version read: ticket, entry diff, history, and
        `also_put` items (a comment and its ticket change commit together or not at all).
        `guarded` items are put only if their condition holds (a round-robin cursor still at the
        turn the write was decided on); a failed one is Contention: re-read and decide again."""
        checks = list(checks)
        old_entries, new_entries = _entries(old), _entries(new)
        removed = old_entries.keys() - new_entries.keys()
        history = _history_items(new, changes, actor_id, at)
        turn_taken = Contention("the routing turn was taken meanwhile")
        also_put = [*also_put, *(ConditionalPut(item, condition, turn_taken) for item, condition in guarded)]
        try:
            with translated(), self._transaction() as tx:
                tx.save(_ticket_item(new), condition=TicketItem.version == old.version)
                for head in _head_changes(old, new):
                    tx.save(head)
                _add_checks(tx, checks)
                for entry in new_entries.values():
                    tx.save(entry)
                for partition in removed:
                    tx.delete(TicketEntry(keys.ticket_pk(old.id), keys.entry_sk(partition)))
                for item in history:
                    tx.save(item)
                for item in also_put:
                    _put(tx, item)
        except TransactionCancelled as cancelled:
            on_ticket = VersionConflict("the ticket changed meanwhile")
            raise _explain(cancelled, checks, new.id, on_ticket, _conditional(also_put)) from cancelled

    # -- upkeep after the commit (chalicelib/handlers/ticket_changes.py) ------------------
    def refresh_entries(self, ticket: Ticket, fields: Sequence[str]) -> int:
        """Copy `fields` of a ticket that a workflow changed (it updates the ticket item alone:
        the escalation stage, an SLA breach) onto the ticket's list entries. Each UpdateItem is
        conditioned on the entry being older than the ticket, so a redelivered record or a later
        API write (which rewrites the entries itself) is never undone. Answers how many changed."""
        if ticket.is_deleted:
            return 0
        changed = 0
        for partition in sorted(index_partitions(ticket)):
            entry = TicketEntry(keys.ticket_pk(ticket.id), keys.entry_sk(partition))
            actions = [getattr(TicketEntry, name).set(getattr(ticket, name)) for name in fields]
            try:
                with translated(lambda: VersionConflict("the entry is as new as the ticket")):
                    entry.update(
                        actions=[*actions, TicketEntry.version.set(ticket.version)],
                        condition=TicketEntry.PK.exists() & (TicketEntry.version < ticket.version),
                    )
                changed += 1
            except VersionConflict:
                continue  # already as new, or the ticket left this list meanwhile
        return changed

    def rename_page(self, user_id: str, role: str, name: str, after: str | None, limit: int) -> tuple[int, str | None]:
        """Give a page of the user's tickets (role `requester`: the `USER#<u>` list, CC'd tickets
        filtered out; `assignee`: `ASSIGNEE#<u>`) the name `name`, oldest activity first: a ticket
        written meanwhile moves to the end, ahead of `after`, so it is still reached. Each is one
        UpdateItem of the ticket item alone (`SET <role>_name`, `ADD version 1`), conditioned on the
        person still holding the role and the name differing, so a replay changes nothing; the
        ticket stream then copies the name onto the entries (a change of the ticket item alone,
        like a workflow's). Answers (tickets renamed, the sort key to continue after or None)."""
        partition = f"USER#{user_id}" if role == "requester" else f"ASSIGNEE#{user_id}"
        id_attr = TicketItem.requester_id if role == "requester" else TicketItem.assignee_id
        name_attr = TicketItem.requester_name if role == "requester" else TicketItem.assignee_name
        sort_attr: Any = TicketEntry.GSI1SK
        with translated():
            results = TicketEntry.by_activity.query(
                partition,
                sort_attr > after if after else None,
                filter_condition=id_attr == user_id,
                scan_index_forward=True,
                limit=limit,
                page_size=limit,
            )
            page = next(results.page_iter)
        renamed = 0
        for raw in page.get("Items", []):
            entry = TicketEntry.from_raw_data(raw)
            if getattr(entry, name_attr.attr_name) == name:
                continue
            try:
                with translated(lambda: VersionConflict("renamed already, or no longer theirs")):
                    TicketItem(keys.ticket_pk(entry.id), keys.TICKET_SK).update(
                        actions=[name_attr.set(name), TicketItem.version.add(1)],
                        condition=(id_attr == user_id)
                        & TicketItem.deleted_at.does_not_exist()
                        & (name_attr.does_not_exist() | (name_attr != name)),
                    )
                renamed += 1
            except VersionConflict:
                continue
        last = page.get("LastEvaluatedKey")
        return renamed, (last["GSI1SK"]["S"] if last else None)

    def purge(self, ticket_id: str) -> int:
        """Delete what TTL left of a purged ticket: its activities, revisions, history, SLA
        ledger, attachment records, timeline head and mail thread, and the `MSGID#` lookup of
        every Message-ID in that thread (TTL removes the ticket item itself; list entries went
        when it was deleted). Key-only pages, deleted 25 at a time; idempotent. Each thread item
        is deleted with its lookup in the same batch or after it, so a purge cut short finds the
        lookups again on its retry."""
        connection = Record._get_connection()
        deleted, start = 0, None
        while True:
            with translated():
                page = connection.query(keys.ticket_pk(ticket_id), attributes_to_get=["PK", "SK"], exclusive_start_key=start)
            batch = [{"PK": raw["PK"]["S"], "SK": raw["SK"]["S"]} for raw in page.get("Items", [])]
            lookups = [
                {"PK": keys.message_id_pk(message_id), "SK": keys.MESSAGE_ID_SK}
                for message_id in dict.fromkeys(keys.thread_message_id(k["SK"]) for k in batch)
                if message_id is not None
            ]
            batch = [*lookups, *batch]
            for offset in range(0, len(batch), 25):
                self._delete_batch(batch[offset : offset + 25])
            deleted += len(batch)
            start = page.get("LastEvaluatedKey")
            if start is None:
                return deleted

    @staticmethod
    def _delete_batch(batch: list[dict[str, str]]) -> None:
        with translated(), Record.batch_write() as writer:  # PynamoDB resends unprocessed items
            for key in batch:
                writer.delete(TicketEntry(key["PK"], key["SK"]))

    # -- several tickets at once (links, merge) -------------------------------------------
    def get_many(self, ticket_ids: Sequence[str]) -> dict[str, Ticket]:
        """One consistent BatchGetItem of up to 100 tickets; missing ids are left out."""
        wanted = [{"PK": keys.ticket_pk(i), "SK": keys.TICKET_SK} for i in dict.fromkeys(ticket_ids)]
        if not wanted:
            return {}
        with translated():
            response = TicketItem._get_connection().batch_get_item(wanted, consistent_read=True)
        if response.get("UnprocessedKeys"):
            raise Unavailable("the data store is busy; retry shortly")
        raws = next(iter(response.get("Responses", {}).values()), [])
        tickets = [_to_ticket(TicketItem.from_raw_data(raw)) for raw in raws]
        return {t.id: t for t in tickets}

    def update_together(self, writes: Sequence[TicketPairWrite], actor_id: str, at: datetime) -> None:
        """Several tickets in ONE transaction, each conditioned on the version read: all of them
        commit or none does (a merge or a link is never half-written). A lost race on any of
        them is VersionConflict; the caller re-reads and retries."""
        count = sum(w.item_count() for w in writes)
        if count > MAX_TRANSACTION_ITEMS:
            raise Conflict(f"this change touches {count} items; DynamoDB commits at most {MAX_TRANSACTION_ITEMS} atomically")
        try:
            with translated(), self._transaction() as tx:
                for write in writes:
                    old_entries, new_entries = _entries(write.old), _entries(write.new)
                    tx.save(_ticket_item(write.new), condition=TicketItem.version == write.old.version)
                    for head in _head_changes(write.old, write.new):
                        tx.save(head)
                    for entry in new_entries.values():
                        tx.save(entry)
                    for partition in old_entries.keys() - new_entries.keys():
                        tx.delete(TicketEntry(keys.ticket_pk(write.old.id), keys.entry_sk(partition)))
                    for item in _history_items(write.new, write.changes, actor_id, at):
                        tx.save(item)
                    for item in write.also_put:
                        tx.save(item)
        except TransactionCancelled as cancelled:
            if cancelled.transient:
                raise Unavailable("the tickets are being changed by another request; retry", retry_after=1) from cancelled
            raise VersionConflict("a ticket changed meanwhile") from cancelled


MAX_TRANSACTION_ITEMS = 100


@dataclasses.dataclass(frozen=True)
class TicketPairWrite:
    """One ticket's part of a multi-ticket transaction (`TicketRepository.update_together`)."""

    old: Ticket
    new: Ticket
    changes: Sequence[Change]
    also_put: Sequence[Record] = ()

    def item_count(self) -> int:
        old_entries, new_entries = _entries(self.old), _entries(self.new)
        entries = len(new_entries) + len(old_entries.keys() - new_entries.keys())
        return 1 + len(_head_changes(self.old, self.new)) + entries + len(self.changes) + len(self.also_put)


def _add_checks(tx: TransactWrite, checks: Sequence[ExistenceCheck]) -> None:
    for check in checks:
        condition = Record.PK.exists()
        if check.condition is not None:
            condition = condition & check.condition
        tx.condition_check(Record, check.pk, check.sk, condition=condition)


def _conditional(items: Sequence[Put]) -> list[ConditionalPut]:
    return [item for item in items if isinstance(item, ConditionalPut)]


def _explain(
    cancelled: TransactionCancelled,
    checks: Sequence[ExistenceCheck],
    ticket_id: str,
    on_ticket: DomainError,
    conditional: Sequence[ConditionalPut] = (),
) -> DomainError:
    """Which item of a cancelled transaction failed: a check, the ticket itself or a conditional
    put, found by the failed items' keys (never by position: PynamoDB chooses the order)."""
    failed = cancelled.failed_keys()
    bad = [check.field for check in checks if (check.pk, check.sk) in failed]
    if bad:
        return ValidationFailed([FieldError(name, "does not exist") for name in bad])
    if (keys.ticket_pk(ticket_id), keys.TICKET_SK) in failed:
        return on_ticket
    for put in conditional:
        if (put.item.PK, put.item.SK) in failed:
            return put.refused
    if cancelled.transient:
        return Unavailable("the ticket is being changed by another request; retry", retry_after=1)
    return Unavailable("the write was refused; retry")


def _range_condition(sort_attr: Any, plan: ListPlan, position: str | None) -> Condition | None:
    """After the cursor's position, and not below the plan's lower bound (both key conditions).
    Raises _Exhausted when nothing can be left (the cursor is already below the bound)."""
    low = plan.lower_bound
    if position is None:
        return sort_attr >= low if low is not None else None
    if low is None:
        return sort_attr < position if plan.descending else sort_attr > position
    if plan.descending:
        if position <= low:
            raise _Exhausted
        return sort_attr.between(low, keys.before(position))
    return sort_attr >= low if low > position else sort_attr > position


class _Exhausted(Exception):
    """A partition with nothing left in the plan's range: no Query is needed."""


def _residual_condition(plan: ListPlan, caller: Caller) -> Condition | None:
    conditions: list[Condition] = []
    for key, value in plan.filters.items():
        if key in LIST_FILTERS:
            conditions.append(getattr(TicketEntry, LIST_FILTERS[key]).contains(value))
            continue
        attribute = getattr(TicketEntry, key)
        if not value or value == NONE:
            conditions.append(attribute.does_not_exist())
        else:
            conditions.append(attribute == value)
    if plan.visibility_filter:
        conditions.append(_visibility_condition(caller))
    combined: Condition | None = None
    for condition in conditions:
        combined = condition if combined is None else combined & condition
    return combined


def _visibility_condition(caller: Caller) -> Condition:
    """The visibility rules of domain.visibility as a filter expression (same rules, same test)."""
    if caller.role == "agent":
        mine = TicketEntry.assignee_id == caller.user_id
        if caller.access == "team":
            team = TicketEntry.team_id.does_not_exist()
            if caller.teams:
                team = team | TicketEntry.team_id.is_in(*sorted(caller.teams))
            return mine | team
        return mine
    own = (TicketEntry.requester_id == caller.user_id) | TicketEntry.cc.contains(caller.user_id)
    if caller.org_admin and caller.org_id:
        own = own | (TicketEntry.organization_id == caller.org_id)
    return own
