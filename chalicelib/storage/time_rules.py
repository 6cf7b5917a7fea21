"""Time-rule waits (docs/data-model.md, "Automations"): one Standard execution of
`statemachines/time-rule.asl.json` per (ticket, version, rule), named so that a repeated start
changes nothing, and the due item it writes under the ticket when the rule is due."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.errors import Throttled, Unavailable
from chalicelib.storage import keys
from chalicelib.storage.errors import THROTTLING

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
        try:
            self._client.start_execution(stateMachineArn=self._arn, name=name, input=json.dumps(dict(payload)))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ExecutionAlreadyExists":
                return False
            if code in THROTTLING:
                raise Throttled("Step Functions is throttling; retry shortly", retry_after=1) from error
            raise Unavailable(f"could not start the time rule's wait ({code})", retry_after=1) from error
        except BotoCoreError as error:
            raise Unavailable("could not reach Step Functions", retry_after=1) from error
        return True
