"""Automation runs (docs/data-model.md, "Automations"): the claim of one step of one rule for one
event, and how many steps a ticket took in a cap window. Rules are directory entries (kind
`automation`), read through DirectoryRepository."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain.errors import DomainError
from chalicelib.storage import keys
from chalicelib.storage.errors import translated
from chalicelib.storage.models import AutomationRunItem
from chalicelib.storage.tickets import ConditionalPut

# A stream record is redelivered for at most 24 hours (the stream's retention); a claim outlives it.
RUN_RETENTION = timedelta(days=2)


class AlreadyRun(DomainError):
    """This step of this rule already ran for this event (a redelivered stream record)."""


class AutomationRunRepository:
    @staticmethod
    def claim(ticket_id: str, event_at: str, event_id: str, rule_id: str, step: int, now: datetime) -> ConditionalPut:
        """The run item to put in the step's own write, only if absent (else AlreadyRun)."""
        item = AutomationRunItem(
            keys.ticket_pk(ticket_id),
            keys.automation_run_sk(event_at, event_id, rule_id, step),
            rule_id=rule_id,
            event_id=event_id,
            ttl=now + RUN_RETENTION,
        )
        return ConditionalPut(item, AutomationRunItem.PK.does_not_exist(), AlreadyRun("already run"))

    @staticmethod
    def runs_since(ticket_id: str, since: str) -> int:
        """Steps run for the ticket's events stamped at or after `since` (one Query, keys only)."""
        low = f"{keys.AUTOMATION_RUN_PREFIX}{since}"
        high = f"{keys.AUTOMATION_RUN_PREFIX}\U0010ffff"
        with translated():
            return int(
                AutomationRunItem.count(keys.ticket_pk(ticket_id), range_key_condition=AutomationRunItem.SK.between(low, high))
            )
