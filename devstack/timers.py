"""After a restart, give the workflows moto lost their executions again (local stack only).

moto keeps no Step Functions executions across a restart, and the stream mapping starts at
LATEST, so restored tickets would never breach. The same starter the stream handler uses
starts each running clock's current generation again: a due time that passed while the stack
was down records its breach at once. Every open escalation gets a new run waiting in its
stage (`EscalationStarter.resume_all`: its task token died with moto).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib import composition
from chalicelib.domain.sla import timers_to_start
from chalicelib.handlers.sla_timers import plain_map, timer_payload


def restart_sla_timers(dynamodb: Any, table_name: str) -> int:
    """Answers how many timers were started. A Scan is fine here: it runs once, locally."""
    started = 0
    paginator = dynamodb.get_paginator("scan")
    pages = paginator.paginate(
        TableName=table_name,
        FilterExpression="SK = :ticket AND attribute_exists(sla) AND attribute_not_exists(deleted_at)",
        ExpressionAttributeValues={":ticket": {"S": "TICKET"}},
    )
    timers = composition.sla_timers()
    for page in pages:
        for item in page.get("Items", []):
            ticket_id = item["PK"]["S"].removeprefix("TICKET#")
            for timer in timers_to_start(ticket_id, None, plain_map(item["sla"])):
                started += bool(timers.start(timer, timer_payload(timer)))
    return started


def resume_escalations() -> list[str]:
    """The runs started, one per open escalation."""
    return composition.escalation_starter().resume_all(composition.escalation_repository(), datetime.now(UTC))


def restart_time_rule_waits(ledger: Any, dynamodb: Any, table_name: str) -> list[str]:
    """The pending time-rule waits started again, from the local ledger of waits (no Scan)."""
    from chalicelib.storage.time_rules import TimeRuleWaits
    from devstack.time_rule_waits import restart

    waits = TimeRuleWaits(composition.stepfunctions_client(), ledger.state_machine_arn)
    return restart(ledger, dynamodb, table_name, waits.start)
