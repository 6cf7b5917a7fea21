"""The import's writer: external-id items, directory records and tickets in their transactions,
the conversation and history in batches, the run's checkpoint (docs/data-model.md, "Import").

A ticket is written in three steps, each idempotent: (1) one transaction with the ticket, its
list entries and timeline head, its SLA ledger and its `EXT#` item in state `started` (put only
if absent); (2) its activities and history items with BatchWriteItem (deterministic keys: a
repeat rewrites the same items); (3) the `EXT#` item set `done`. A run that stops between them
finds `started` and repeats (2) and (3).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from chalicelib.domain.activities import Activity
from chalicelib.domain.errors import Conflict, DomainError
from chalicelib.domain.imports import DirectoryRecord, HistoryRecord
from chalicelib.domain.tickets import Ticket
from chalicelib.storage import keys
from chalicelib.storage.activities import to_item
from chalicelib.storage.base import Repository
from chalicelib.storage.directory import DirectoryRepository
from chalicelib.storage.errors import TransactionCancelled, translated
from chalicelib.storage.models import (
    DirectoryItem,
    ExternalIdItem,
    HistoryItem,
    ImportCheckpointItem,
    OrgDomainItem,
    Record,
)
from chalicelib.storage.tickets import ConditionalPut, TicketRepository

STARTED, DONE = "started", "done"


class AlreadyImported(DomainError):
    """The source record's `EXT#` item exists: another run (or this one, earlier) imported it."""


def _external(source: str, kind: str, source_id: str, target_id: str, state: str, now: datetime) -> ExternalIdItem:
    return ExternalIdItem(
        keys.external_pk(source, kind, source_id), keys.EXTERNAL_SK, target_id=target_id, state=state, at=keys.stamp(now)
    )


class ImportWriter(Repository):
    def __init__(self, tickets: TicketRepository | None = None) -> None:
        super().__init__()
        self._tickets = tickets or TicketRepository()

    # -- reads -------------------------------------------------------------------------
    def known(self, source: str, kind: str, source_ids: Sequence[str]) -> dict[str, ExternalIdItem]:
        """The `EXT#` items of these source ids that exist: one BatchGetItem per 100."""
        found: dict[str, ExternalIdItem] = {}
        wanted = list(dict.fromkeys(source_ids))
        for start in range(0, len(wanted), 100):
            chunk = wanted[start : start + 100]
            with translated():
                items = ExternalIdItem.batch_get(
                    [(keys.external_pk(source, kind, i), keys.EXTERNAL_SK) for i in chunk], consistent_read=True
                )
                for item in items:
                    found[item.PK.rsplit("#", 1)[-1]] = item
        return found

    def checkpoint(self, source: str) -> ImportCheckpointItem | None:
        with translated():
            try:
                return ImportCheckpointItem.get(keys.import_pk(source), keys.CHECKPOINT_SK, consistent_read=True)
            except ImportCheckpointItem.DoesNotExist:
                return None

    # -- writes ------------------------------------------------------------------------
    def save_checkpoint(self, source: str, digest: str, position: int, now: datetime) -> None:
        item = ImportCheckpointItem(
            keys.import_pk(source), keys.CHECKPOINT_SK, digest=digest, position=position, at=keys.stamp(now)
        )
        with translated():
            item.save()

    def write_directory(self, source: str, record: DirectoryRecord, now: datetime) -> None:
        """The record, its `EXT#` item and (organizations) its mail domains, one transaction;
        AlreadyImported if the `EXT#` item exists, Conflict if a domain is another organization's.
        A `matched` user (the id is an existing user's) is only its `EXT#` item."""
        item = DirectoryRepository._new_item(record.kind, record.id, record.name, record.data, now)
        item.created_at = record.created_at
        external = _external(source, record.kind, record.source_id, record.id, DONE, now)
        domains = record.data.get("domains") or []
        try:
            with translated(), self._transaction() as tx:
                tx.save(external, condition=ExternalIdItem.PK.does_not_exist())
                if record.matched:
                    tx.condition_check(DirectoryItem, item.PK, item.SK, condition=DirectoryItem.PK.exists())
                else:
                    tx.save(item, condition=DirectoryItem.PK.does_not_exist())
                for domain in domains:
                    claim = OrgDomainItem(keys.ORG_DOMAIN_PK, domain, organization_id=record.id)
                    tx.save(claim, condition=OrgDomainItem.PK.does_not_exist() | (OrgDomainItem.organization_id == record.id))
        except TransactionCancelled as cancelled:
            failed = cancelled.failed_keys()
            if (external.PK, external.SK) in failed:
                raise AlreadyImported(f"{record.kind} {record.source_id} was imported before") from cancelled
            if (item.PK, item.SK) in failed and record.matched:
                raise Conflict(f"the {record.kind} {record.id} this one was matched to is gone") from cancelled
            if (item.PK, item.SK) in failed:
                raise Conflict(f"a {record.kind} with id {record.id} exists and was not imported") from cancelled
            taken = [domain for domain in domains if (keys.ORG_DOMAIN_PK, domain) in failed]
            raise Conflict(f"the domain {taken[0] if taken else '?'} belongs to another organization") from cancelled

    def start_ticket(self, source: str, source_id: str, ticket: Ticket, also_put: Sequence[Record], now: datetime) -> None:
        """Step 1: the ticket (with its entries and head, as the API's create writes them), `also_put`
        (its SLA ledger) and its `EXT#` item in state `started`, one transaction."""
        external = _external(source, "ticket", source_id, ticket.id, STARTED, now)
        external.number = ticket.number
        refused = AlreadyImported(f"ticket {source_id} was imported before")
        guard = ConditionalPut(external, ExternalIdItem.PK.does_not_exist(), refused)
        try:
            self._tickets.create(ticket, [], "import", also_put=[guard, *also_put])
        except Conflict as exc:  # the ticket item exists without its EXT# item: imported under another name
            raise AlreadyImported(f"ticket {source_id} exists") from exc

    def write_items(self, ticket: Ticket, activities: Iterable[Activity], history: Iterable[HistoryRecord]) -> int:
        """Step 2: the conversation and history, BatchWriteItem of 25 (PynamoDB resends unprocessed
        items). Keys are derived from the source, so writing them again changes nothing."""
        items: list[Record] = [to_item(a) for a in activities]
        for entry in history:
            items.append(
                HistoryItem(
                    keys.ticket_pk(ticket.id),
                    keys.history_sk(entry.at, entry.order // 1000, entry.order % 1000),
                    property=entry.property,
                    old=entry.old,
                    new=entry.new,
                    actor_id=entry.actor_id,
                    at=entry.at,
                )
            )
        with translated(), Record.batch_write() as batch:
            for item in items:
                batch.save(item)
        return len(items)

    def finish_ticket(self, source: str, source_id: str) -> None:
        """Step 3: the `EXT#` item says `done`."""
        item = ExternalIdItem(keys.external_pk(source, "ticket", source_id), keys.EXTERNAL_SK)
        with translated():
            item.update(actions=[ExternalIdItem.state.set(DONE)], condition=ExternalIdItem.PK.exists())
