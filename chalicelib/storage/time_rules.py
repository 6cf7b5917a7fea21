"""Time-rule waits (docs/data-model.md, "Automations"): one Standard execution of
`statemachines/time-rule.asl.json` per (ticket, version, rule), named so that a repeated start
changes nothing, and the due item it writes under the ticket when the rule is due."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.domain.errors import Unavailable
from chalicelib.storage import keys
from chalicelib.storage.executions import start_once

DUE_KIND = "time_rule_due"


def due_image(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The due item of a stream INSERT (plain values), None for any other record."""
    if record.get("eventName") != "INSERT":
        return None
    new = (record.get("dynamodb") or {}).get("NewImage") or {}
    if new.get("kind", {}).get("S") != DUE_KIND or not new.get("SK", {}).get("S", "").startswith(keys.TIME_RULE_DUE_PREFIX):
        return None
    try:
        return {
            "ticket_id": new["ticket_id"]["S"],
            "rule_id": new["rule_id"]["S"],
            "expected_version": int(new["expected_version"]["N"]),
            "anchor": new["anchor"]["S"],
            "due_at": new["due_at"]["S"],
        }
    except (KeyError, ValueError):
        return None


class TimeRuleWaits:
    """Starts the waits; a name already started (a redelivered stream batch) is not an error."""

    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self._client = client
        self._arn = state_machine_arn

    def start(self, name: str, payload: Mapping[str, Any]) -> bool:
        """True if this call started the wait, False if one of that name was already started."""
        if not self._arn:
            raise Unavailable("time rules are not configured here (HELPDESK_TIME_RULE_STATE_MACHINE is empty)")
        return start_once(self._client, self._arn, name, payload, "the time rule's wait")
