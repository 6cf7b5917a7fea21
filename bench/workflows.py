"""State transitions of the workflows, counted from real executions on moto (Step Functions
executing the ASL of `statemachines/`), and the monthly Step Functions cost they imply.

Run by `make bench` (bench/run.py). An escalation is walked through its happy path by the
API's own service (submitted → review → engineering → verification → resolved); SLA clocks
are started by the stream handler for a ticket created with its due time already past
(breached) and for one answered before its timer ran (stale).
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

PRICE_PER_1000_TRANSITIONS = 0.025  # USD, Standard workflows, us-east-1 list price
TICKETS_PER_MONTH = 10_000
ESCALATED_SHARE = 0.05
# Timers per ticket: first response and resolution, plus one next-response timer per customer
# follow-up answered by an agent and one more generation per pause/resume or re-plan.
ASSUMED_TIMERS_PER_TICKET = 5


def _wait(predicate: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _entered(sfn: Any, execution_arn: str) -> list[str]:
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def _finished(sfn: Any, execution_arn: str) -> None:
    _wait(lambda: sfn.describe_execution(executionArn=execution_arn)["status"] != "RUNNING", execution_arn)


def measure() -> dict[str, Any]:
    import boto3
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from chalicelib import composition
    from chalicelib.domain.errors import Conflict
    from chalicelib.domain.visibility import Caller
    from devstack import dynamodb_isolation
    from devstack.aws import InProcessAws
    from devstack.paths import TEMPLATE_PATH
    from devstack.provision import load_template, provision

    agent = Caller("bench-agent", "agent", access="all")
    admin = Caller("bench-admin", "admin")
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        dynamodb_isolation.install()
        template = load_template(TEMPLATE_PATH)
        provisioned = provision(template, InProcessAws(), name_prefix="bench-", template_dir=TEMPLATE_PATH.parent)
        os.environ.update(provisioned.env)
        composition.reset()
        sfn = boto3.client("stepfunctions")
        now = datetime.now(UTC)
        tickets, escalations = composition.ticket_service(), composition.escalation_service()

        # An escalation's happy path, signalled as the API signals it.
        ticket = tickets.create(agent, {"subject": "Export crashes", "description": "always"}, now)
        escalation = escalations.create(agent, ticket.id, "Crash in the exporter", now)
        for stage in ("review", "engineering", "verification", "resolved"):

            def moved(stage: str = stage) -> bool:
                try:
                    escalations.transition(agent, escalation.id, stage, "", None, datetime.now(UTC))
                except Conflict:
                    return False
                return True

            _wait(moved, f"the escalation to accept {stage}")

        escalation_arn = provisioned.physical["EscalationStateMachine"].replace(":stateMachine:", ":execution:")
        escalation_arn += f":{escalation.id}"
        _finished(sfn, escalation_arn)
        escalation_states = _entered(sfn, escalation_arn)

        # SLA clocks: one that breaches, one answered before its timer ran.
        composition.directory_service().create(
            admin, "sla_policy", {"id": "bench", "name": "Bench", "targets": {"normal": {"first_response_minutes": 1}}}, now
        )
        composition.sla_config_cache().invalidate()
        past = now - timedelta(minutes=2)
        breached = tickets.create(agent, {"subject": "Unanswered", "description": "?"}, past)
        answered = tickets.create(agent, {"subject": "Answered", "description": "?"}, past)
        composition.conversation_service().comment(
            agent, answered.id, body="Hello", visibility="public", cc=[], notify=[], status=None, now=past + timedelta(seconds=10)
        )
        from app import app

        table = provisioned.physical["HelpdeskTable"]
        shard = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(table).stream_shard
        records = [copy.deepcopy(r.record) for r in shard.items]
        for record in records:
            record["dynamodb"]["ApproximateCreationDateTime"] = 0
        app.handler_map["ticket_stream"]({"Records": records}, None)
        timer_arn = provisioned.physical["SlaTimerStateMachine"].replace(":stateMachine:", ":execution:")
        sla_states = {}
        for label, ticket_id in (("breached", breached.id), ("met before the timer (stale)", answered.id)):
            arn = f"{timer_arn}:{ticket_id}-first_response-1"
            _finished(sfn, arn)
            sla_states[label] = _entered(sfn, arn)
        composition.reset()

    per_escalation = len(escalation_states)
    per_clock = max(len(states) for states in sla_states.values())
    monthly = TICKETS_PER_MONTH * ESCALATED_SHARE * per_escalation + TICKETS_PER_MONTH * ASSUMED_TIMERS_PER_TICKET * per_clock
    return {
        "escalation": escalation_states,
        "sla": sla_states,
        "per_escalation": per_escalation,
        "per_clock": per_clock,
        "monthly_transitions": monthly,
        "monthly_cost": monthly / 1000 * PRICE_PER_1000_TRANSITIONS,
    }


def render(result: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "State transitions (counted from execution histories on moto):",
        "",
        f"- escalation happy path: {result['per_escalation']} ({' → '.join(result['escalation'])}); target ≤ 15",
    ]
    for label, states in result["sla"].items():
        lines.append(f"- SLA clock, {label}: {len(states)} ({' → '.join(states)}); target ≤ 5")
    lines += [
        "",
        f"Monthly Step Functions cost at list price (${PRICE_PER_1000_TRANSITIONS} per 1,000 transitions), "
        f"{TICKETS_PER_MONTH:,} tickets/month, {ESCALATED_SHARE:.0%} escalated, {ASSUMED_TIMERS_PER_TICKET} SLA timers per "
        f"ticket (first response, resolution, next responses, re-plans): {result['monthly_transitions']:,.0f} transitions "
        f"≈ ${result['monthly_cost']:.2f}/month (before the 4,000 free transitions).",
    ]
    return lines
