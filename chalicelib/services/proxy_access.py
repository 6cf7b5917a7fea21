"""Proxy-login access to a ticket (the requester allows it; audited). Written through `TicketService.write`."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.proxy_access import proxy_audit_entry, set_proxy_access
from chalicelib.domain.tickets import Ticket
from chalicelib.domain.visibility import Caller
from chalicelib.services.record_service import RecordService
from chalicelib.services.tickets import TicketWrite
from chalicelib.storage.activities import items_for, new_activity_id


class ProxyAccessService(RecordService):
    # -- proxy-login access --------------------------------------------------------------
    def set_proxy_access(self, caller: Caller, ticket_id: str, enabled: bool, now: datetime) -> Ticket:
        entry_id = new_activity_id(now)

        def change(current: Ticket) -> TicketWrite | None:
            updated, changes = set_proxy_access(caller, current, enabled, now)
            if not changes:
                return None
            return TicketWrite(updated, changes, [], items_for([proxy_audit_entry(current, caller, enabled, now, entry_id)]))

        return self._tickets.write(caller, ticket_id, change, now=now)
