"""Time entries on a ticket. Written through `TicketService.write`."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.activities import Activity
from chalicelib.domain.tickets import Ticket
from chalicelib.domain.time_entries import time_entry, with_time
from chalicelib.domain.visibility import Caller
from chalicelib.services.record_service import RecordService
from chalicelib.services.tickets import TicketWrite
from chalicelib.storage.activities import items_for, new_activity_id


class TimeEntryService(RecordService):
    # -- time entries ----------------------------------------------------------------------
    def log_time(
        self, caller: Caller, ticket_id: str, *, minutes: int, note: str, billable: bool, now: datetime
    ) -> tuple[Activity, Ticket]:
        self._require_staff(caller)
        entry_id = new_activity_id(now)  # one id across retries: a retry never logs twice
        logged: dict[str, Activity] = {}

        def change(current: Ticket) -> TicketWrite:
            entry = time_entry(caller, current, minutes, note, billable, now, entry_id)
            updated, changes = with_time(current, minutes, now)
            logged["entry"] = entry
            return TicketWrite(updated, changes, [], items_for([entry]))

        ticket = self._tickets.write(caller, ticket_id, change, now=now)
        return logged["entry"], ticket
