"""Time rules in the ticket stream (issue 11): "pending for 3 business days -> remind, then close
after 7", one Step Functions wait at a time per ticket, no sweep (docs/decisions.md, "Time rules:
the stream's part").

- **Plan.** An outbox event of a ticket change that is not an automation's, read while the ticket
  is still at the event's version, starts the wait of the first time rule due in the ticket's
  status category (`domain.time_rules.first_due`), anchored at the event's time, on the ticket's
  calendar (its SLA policy's business hours, else 24/7). The execution is named after (ticket,
  version, rule): a redelivered batch, or a second event of the same version, starts nothing twice.
- **Fire.** The wait writes `TIMERULE#<version>#<rule>` under the ticket when due; its INSERT runs
  the rule's actions through the Automator's step claims (the rule is the actor) only if the ticket
  is still at that version, in that category, matching the rule's conditions. Then the next rule of
  the same anchor (`next_due`) waits from the version the rule's own writes left, so a reminder
  does not cancel the close that follows it.
- **Cancel.** Any other change moves the ticket's version: the pending wait's due item then acts on
  nothing, and that change's own event plans afresh from its time. No StopExecution.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from chalicelib.domain import automations as auto
from chalicelib.domain import time_rules as tr
from chalicelib.domain.calendar import BusinessCalendar
from chalicelib.domain.errors import TicketNotFound
from chalicelib.domain.sla import choose_policy
from chalicelib.domain.tickets import Ticket
from chalicelib.services.automations import READER, Automator, EventSeen, event_seen
from chalicelib.services.sla import SlaConfigCache
from chalicelib.services.tickets import TicketService
from chalicelib.storage import keys
from chalicelib.storage.time_rules import TimeRuleWaits, due_image

_log = logging.getLogger(__name__)


class TimeRules:
    """Plans and fires time rules from the ticket stream's records (`follow`)."""

    def __init__(
        self,
        tickets: TicketService,
        automator: Automator,
        calendars: SlaConfigCache,
        waits: TimeRuleWaits,
        count: Callable[[str, int], None] | None = None,
    ) -> None:
        self._tickets = tickets
        self._automator = automator
        self._calendars = calendars
        self._waits = waits
        self._count = count or (lambda name, value: None)

    def follow(self, record: Mapping[str, Any], now: datetime) -> int:
        """Waits started by the record (a ticket's event or a due item); 0 for anything else."""
        due = due_image(record)
        if due is not None:
            return self._fire(due, now)
        event = event_seen(record)
        if event is None or not event.ticket_id:
            return 0
        if str(event.detail.get("actor_id") or "").startswith(auto.ACTOR_PREFIX):
            return 0  # an automation's own change keeps the anchor
        rules = auto.timed(self._automator.rules.rules())
        if not rules:
            return 0  # no read at all while no time rule exists
        ticket = self._ticket(event.ticket_id)
        version = event.detail.get("version")
        # Workflows' events (SLA breach, escalation stage) carry no version but move the ticket's:
        # they plan from the version read. An event that changed nothing on the ticket item (an
        # activity edit) then names the wait already started for that version: refused.
        if ticket is None or (isinstance(version, int) and ticket.version != version):
            return 0  # deleted, or changed again since: that change's own event plans from there
        anchor = tr.parse_stamp(tr.stamp(tr.parse_stamp(event.at)))  # whole seconds, as the wait carries it
        first = tr.first_due(self._applicable(rules, ticket), ticket.status_category, anchor, self._calendar(ticket))
        return self._start(ticket, anchor, first)

    def _fire(self, due: Mapping[str, Any], now: datetime) -> int:
        ticket = self._ticket(due["ticket_id"])
        if ticket is None or ticket.version != due["expected_version"]:
            self._count("TimeRulesSuperseded", 1)  # a later change cancelled this wait
            return 0
        rules = auto.timed(self._automator.rules.rules())
        rule = next((r for r in rules if r.id == due["rule_id"]), None)
        if rule is None or rule.timing is None or not self._holds(rule, ticket):
            return 0  # turned off, deleted or changed since the wait started
        due_at = tr.parse_stamp(due["due_at"])
        occurrence = EventSeen(
            id=f"timerule-v{ticket.version}",
            type=auto.TIME_TRIGGER,
            at=keys.stamp(due_at),
            ticket_id=ticket.id,
            detail={"actor_id": rule.actor_id, "version": ticket.version},
        )
        self._automator.run_rule(rule, occurrence, now)
        self._count("TimeRulesFired", 1)
        after = self._ticket(ticket.id)
        if after is None or after.status_category != rule.timing.status_category:
            return 0  # the rule moved the ticket on (closed it): nothing more of this anchor
        anchor = tr.parse_stamp(due["anchor"])
        fired = tr.Due(rule.id, due_at)
        following = tr.next_due(self._applicable(rules, after), after.status_category, anchor, self._calendar(after), fired)
        return self._start(after, anchor, following)

    def _start(self, ticket: Ticket, anchor: datetime, due: tr.Due | None) -> int:
        if due is None:
            return 0
        name = tr.wait_name(ticket.id, ticket.version, due.rule_id)
        started = self._waits.start(name, tr.wait_input(ticket.id, ticket.version, anchor, due))
        _log.info("time rule wait", extra={"ticket_id": ticket.id, "rule_id": due.rule_id, "started": started})
        return int(started)

    def _applicable(self, rules: Sequence[auto.Rule], ticket: Ticket) -> list[tuple[str, tr.TimeTrigger]]:
        return [(r.id, r.timing) for r in rules if r.timing is not None and auto.conditions_hold(r, ticket)]

    @staticmethod
    def _holds(rule: auto.Rule, ticket: Ticket) -> bool:
        timing = rule.timing
        return (
            timing is not None
            and not ticket.is_deleted
            and ticket.status_category == timing.status_category
            and auto.conditions_hold(rule, ticket)
        )

    def _calendar(self, ticket: Ticket) -> BusinessCalendar:
        """The business hours of the ticket's SLA policy: the one its clocks run on, else the one
        that matches it (a policy with no goal for its priority starts no clock), else 24/7."""
        config = self._calendars.config()
        if ticket.sla is not None:
            return config.calendar_for(ticket.sla.get("business_hours_id"))
        policy = choose_policy(config.policies, ticket)
        return config.calendar_for(policy.business_hours_id if policy is not None else None)

    def _ticket(self, ticket_id: str) -> Ticket | None:
        try:
            ticket = self._tickets.get(READER, ticket_id)
        except TicketNotFound:
            return None
        return None if ticket.is_deleted else ticket
