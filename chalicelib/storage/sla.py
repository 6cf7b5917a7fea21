"""The SLA ledger under each ticket, and the gateway that starts SLA timer workflows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.domain.errors import MalformedRequest
from chalicelib.domain.sla import LedgerEntry, TimerStart, format_instant
from chalicelib.storage import keys
from chalicelib.storage.errors import translated
from chalicelib.storage.executions import start_once
from chalicelib.storage.models import SlaLedgerItem


def ledger_items(ticket_id: str, version: int, entries: Sequence[LedgerEntry]) -> list[SlaLedgerItem]:
    """Items for the ticket's transaction; `version` is the ticket version the write creates."""
    return [
        SlaLedgerItem(
            keys.ticket_pk(ticket_id),
            keys.sla_ledger_sk(entry.at, version, seq),
            event=entry.event,
            at=format_instant(entry.at),
            metric=entry.metric,
            generation=entry.generation,
            due_at=None if entry.due_at is None else format_instant(entry.due_at),
            detail=dict(entry.detail) or None,
        )
        for seq, entry in enumerate(entries)
    ]


class SlaLedgerRepository:
    def page(self, ticket_id: str, *, limit: int, after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Oldest first, one Query on the ticket's partition (the ledger replays forwards)."""
        if after is not None and not after.startswith(keys.SLA_LEDGER_PREFIX):
            raise MalformedRequest("cursor does not belong to this list")
        condition = SlaLedgerItem.SK.startswith(keys.SLA_LEDGER_PREFIX)
        if after is not None:
            condition = SlaLedgerItem.SK.between(after + "\u0000", keys.SLA_LEDGER_PREFIX + "\U0010ffff")
        with translated():
            results = SlaLedgerItem.query(keys.ticket_pk(ticket_id), condition, limit=limit, page_size=limit)
            page = next(results.page_iter)
        items = [SlaLedgerItem.from_raw_data(raw) for raw in page.get("Items", [])]
        lines = [
            {
                "event": item.event,
                "at": item.at,
                "metric": item.metric,
                "generation": None if item.generation is None else int(item.generation),
                "due_at": item.due_at,
                "detail": item.detail or {},
            }
            for item in items
        ]
        last = page.get("LastEvaluatedKey")
        return lines, (last["SK"]["S"] if last else None)


class SlaTimers:
    """Starts one Standard execution of `statemachines/sla-timer.asl.json` per clock generation.

    The execution name is the generation's (`<ticket>-<metric>-<generation>`), so a repeated
    start (a redelivered stream batch) is refused by Step Functions and changes nothing.
    """

    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self._client = client
        self._arn = state_machine_arn

    def start(self, timer: TimerStart, payload: dict[str, Any]) -> bool:
        """True if this call started the timer, False if it was already started."""
        return start_once(self._client, self._arn, timer.name, payload, "the SLA timer")
