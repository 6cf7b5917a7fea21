"""Import another help desk's export (a `domain.imports.Plan`), resumably and idempotently.

Order: organizations, teams, users (each one transaction with its `EXT#` item), then tickets in
pages of `PAGE` (storage.imports: ticket transaction, conversation batches, `done`). After each
page the checkpoint records how many tickets of this export (by digest) are done, so a run that
stopped resumes at that page; within a page, the `EXT#` items say what is done already.

Imported tickets are not news: no outbox event is written (so no mail, webhook or feed entry),
routing skips them (`Ticket.imported_from`), and the SLA clocks are settled as for a new ticket
at the time of the import, which starts none for solved or closed tickets.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from chalicelib.domain.errors import DomainError
from chalicelib.domain.imports import DirectoryRecord, ExistingUser, Plan, Refusal, TicketRecord
from chalicelib.services.sla import SlaService
from chalicelib.storage.directory import DirectoryRepository
from chalicelib.storage.imports import DONE, AlreadyImported, ImportWriter
from chalicelib.storage.tickets import TicketRepository

PAGE = 25
SOURCES = ("zendesk", "freshdesk")


def read_export(path: Path) -> tuple[dict[str, list[Any]], str]:
    """An export as the source's API returns it: a directory of `<endpoint>*.json` pages (or one
    such file), each `{"<endpoint>": [...], "next_page": ...}`; lists of the same endpoint are
    joined in file-name order. Answers it with the SHA-256 of the files, which names the
    export in the checkpoint."""
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    export: dict[str, list[Any]] = {}
    digest = hashlib.sha256()
    for file in files:
        raw = file.read_bytes()
        digest.update(file.name.encode() + b"\0" + raw)
        for key, value in json.loads(raw).items():
            if isinstance(value, list):
                export.setdefault(key, []).extend(value)
    return export, digest.hexdigest()


def plan_of(source: str, export: Mapping[str, Any], existing: ExistingUser | None = None) -> Plan:
    """The plan of an export; with `existing` (`ImportService.existing_user`), an address the
    directory has is that user, not a new one."""
    if source == "zendesk":
        from chalicelib.domain.imports import zendesk

        return zendesk.map_export(export, existing)
    from chalicelib.domain.imports import freshdesk

    return freshdesk.map_export(export, existing)


@dataclasses.dataclass
class ImportReport:
    created: Counter[str] = dataclasses.field(default_factory=Counter)
    skipped: Counter[str] = dataclasses.field(default_factory=Counter)  # imported by an earlier run
    refused: list[Refusal] = dataclasses.field(default_factory=list)
    resumed_at: int = 0  # tickets the checkpoint said were done


class ImportService:
    def __init__(
        self,
        writer: ImportWriter,
        tickets: TicketRepository,
        sla: SlaService | None,
        clock: Callable[[], datetime],
        directory: DirectoryRepository | None = None,
    ) -> None:
        self._directory_repository = directory
        self._writer = writer
        self._tickets = tickets
        self._sla = sla
        self._clock = clock

    def plan(self, source: str, export: Mapping[str, Any]) -> Plan:
        """The plan, with each address matched to the directory's user of it."""
        return plan_of(source, export, self.existing_user if self._directory_repository is not None else None)

    def existing_user(self, address: str) -> tuple[str, str] | None:
        """(id, role) of the directory's user with this address (the first by id), if any."""
        assert self._directory_repository is not None
        found = self._directory_repository.users_by_email(address, limit=1)
        return (found[0].id, str(found[0].data.get("role") or "customer")) if found else None

    def run(self, plan: Plan, digest: str, progress: Callable[[str], None] = lambda line: None) -> ImportReport:
        report = ImportReport(refused=list(plan.refused))
        for kind, records in (("organization", plan.organizations), ("team", plan.teams), ("user", plan.users)):
            self._directory(plan.source, kind, records, report)
        checkpoint = self._writer.checkpoint(plan.source)
        start = int(checkpoint.position) if checkpoint is not None and checkpoint.digest == digest else 0
        report.resumed_at = start
        report.skipped["ticket"] += start  # done, as the checkpoint of this export says
        for offset in range(start, len(plan.tickets), PAGE):
            page = plan.tickets[offset : offset + PAGE]
            known = self._writer.known(plan.source, "ticket", [t.source_id for t in page])
            for record in page:
                state = known[record.source_id].state if record.source_id in known else None
                self._ticket(plan.source, record, state, report)
            self._writer.save_checkpoint(plan.source, digest, offset + len(page), self._clock())
            progress(f"tickets: {offset + len(page)} of {len(plan.tickets)}")
        return report

    def _directory(self, source: str, kind: str, records: list[DirectoryRecord], report: ImportReport) -> None:
        for offset in range(0, len(records), 100):
            page = records[offset : offset + 100]
            known = self._writer.known(source, kind, [r.source_id for r in page])
            for record in page:
                if record.source_id in known:
                    report.skipped[kind] += 1
                    continue
                try:
                    self._writer.write_directory(source, record, self._clock())
                except AlreadyImported:
                    report.skipped[kind] += 1
                    continue
                except DomainError as error:
                    report.refused.append(Refusal(kind, record.source_id, error.detail))
                    continue
                report.created[f"{kind} matched by address" if record.matched else kind] += 1

    def _ticket(self, source: str, record: TicketRecord, state: str | None, report: ImportReport) -> None:
        if state == DONE:
            report.skipped["ticket"] += 1
            return
        ticket = record.ticket
        if state is None:
            now = self._clock()
            ticket = dataclasses.replace(record.ticket, cc=list(ticket.cc), tags=list(ticket.tags))
            ledger = self._sla.settle(None, ticket, (), now) if self._sla is not None else []
            ticket.number = self._tickets.next_number()
            try:
                self._writer.start_ticket(source, record.source_id, ticket, ledger, now)
            except AlreadyImported:
                report.skipped["ticket"] += 1
                return
        self._writer.write_items(ticket, record.activities, record.history)
        self._writer.finish_ticket(source, record.source_id)
        report.created["ticket"] += 1
        report.created["comment"] += len(record.activities)
        report.created["history entry"] += len(record.history)
