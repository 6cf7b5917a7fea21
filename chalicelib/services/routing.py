"""Routing use cases: the admins' rules (`/v1/routing-rules`), routing a ticket (new ones from the
ticket stream, any one on demand), and the open-ticket counters the stream keeps.

Rules are directory entries of kind `routing_rule` (PK `DIR#routing_rule`, SK the id): `name`,
`data` = {position, conditions, team_id, assignment}. A routing decision is written through
`TicketService.write` like any change (history, timeline, list entries, event, SLA), with the
rule as the actor (`routing:<rule id>`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.domain import routing as rules
from chalicelib.domain.activities import property_change_activities
from chalicelib.domain.counters import assignee_counter, contribution
from chalicelib.domain.errors import FieldError, NotAllowed, TicketNotFound, ValidationFailed, VersionConflict
from chalicelib.domain.tickets import Ticket, apply_patch, stored_bytes
from chalicelib.domain.visibility import Caller
from chalicelib.services.rule_sets import RuleSetService
from chalicelib.services.statuses import StatusCatalogCache
from chalicelib.services.tickets import TicketService, TicketWrite
from chalicelib.storage.activities import items_for, new_activity_id
from chalicelib.storage.directory import DirectoryRepository, Entry
from chalicelib.storage.routing import RoutingRepository

KIND = "routing_rule"
# Every new ticket reads every rule (one Query): a bounded, small set.
MAX_RULES = 200


class RoutingRuleService(RuleSetService):
    """CRUD for admins; agents may read."""

    kind, noun, plural, max_rules = KIND, "routing rule", "routing rules", MAX_RULES

    def list(self, caller: Caller) -> list[Entry]:
        """Every rule, in the order they apply."""
        self._require_staff(caller)
        entries = self._directory.list_all(KIND)
        order = {r.id: i for i, r in enumerate(rules.ordered(rule_of(e) for e in entries))}
        return sorted(entries, key=lambda e: order[e.id])

    def _checked(self, values: Mapping[str, Any]) -> dict[str, Any]:
        errors: list[FieldError] = []
        data: dict[str, Any] = {"position": int(values["position"]), "team_id": values["team_id"]}
        for name, check in (("conditions", rules.check_conditions), ("assignment", rules.check_assignment)):
            try:
                data[name] = check(values.get(name) or ({} if name == "conditions" else "none"))
            except ValidationFailed as exc:
                errors += exc.errors
        if self._directory.get("team", values["team_id"]) is None:
            errors.append(FieldError("team_id", "no such team"))
        if not errors and stored_bytes({**data, "name": values.get("name", "")}) > rules.MAX_RULE_BYTES:
            errors.append(FieldError("conditions", f"a rule is at most {rules.MAX_RULE_BYTES} bytes as JSON"))
        if errors:
            raise ValidationFailed(errors)
        return data


def rule_of(entry: Entry) -> rules.Rule:
    return rules.Rule.from_record(entry.id, entry.name, entry.data)


class Router:
    """Applies the rules to a ticket through the tickets service's write path."""

    def __init__(
        self,
        tickets: TicketService,
        directory: DirectoryRepository,
        store: RoutingRepository,
        statuses: StatusCatalogCache,
    ) -> None:
        self._tickets = tickets
        self._directory = directory
        self._store = store
        self._statuses = statuses

    def route_new(self, ticket: Ticket, now: datetime, pending: Counter[str] | None = None) -> Ticket | None:
        """Route a ticket the stream saw inserted, at the version the record carries: if the
        ticket moved on since (a redelivered record after routing, or an edit first), nothing
        happens, so a replay never routes twice nor takes a second turn.

        `pending` counts the assignments made earlier in the same batch, whose own records the
        counters have not seen yet (least_open adds them to what the counters say)."""
        if not rules.should_route_new(ticket):
            return None
        rule = self._matching_rule(ticket)
        if rule is None:
            return None
        try:
            routed = self._apply(rule, ticket.id, expected_version=ticket.version, now=now, reroute=False, pending=pending)
        except (VersionConflict, TicketNotFound):
            return None
        if pending is not None and routed.assignee_id and routed.status_category == rules.OPEN_CATEGORY:
            pending[routed.assignee_id] += 1
        return routed

    def route(self, caller: Caller, ticket_id: str, now: datetime) -> tuple[Ticket, str | None]:
        """`POST /v1/tickets/{id}/route`: the rules applied now (team, and an assignee by the
        rule's strategy); the ticket and the rule's id (None: no rule matched, nothing changed)."""
        if not caller.is_staff:
            raise NotAllowed("only agents and admins may route tickets")
        ticket = self._tickets.get(caller, ticket_id)
        rule = self._matching_rule(ticket)
        if rule is None:
            return ticket, None
        return self._apply(rule, ticket_id, expected_version=None, now=now, reroute=True), rule.id

    # -- helpers -----------------------------------------------------------------------------
    def _matching_rule(self, ticket: Ticket) -> rules.Rule | None:
        all_rules = [rule_of(e) for e in self._directory.list_all(KIND)]
        email = None
        if rules.needs_requester_email(all_rules):
            requester = self._directory.get("user", ticket.requester_id)
            email = requester.data.get("email") if requester is not None else None
        return rules.first_match(all_rules, ticket, email)

    def _apply(
        self,
        rule: rules.Rule,
        ticket_id: str,
        *,
        expected_version: int | None,
        now: datetime,
        reroute: bool,
        pending: Counter[str] | None = None,
    ) -> Ticket:
        actor = Caller(user_id=rule.actor_id, role="admin", name=rule.name)

        def change(current: Ticket) -> TicketWrite | None:
            if not reroute and (current.is_closed or not rules.should_route_new(current)):
                return None
            patch: dict[str, Any] = {"team_id": rule.team_id}
            assignee, guarded = self._choose(rule, pending or Counter())
            if assignee is not None:
                patch["assignee_id"] = assignee
            updated, changes = apply_patch(current, patch, catalog=self._statuses.catalog(), now=now)
            if not changes:
                return None
            checks = self._tickets.reference_checks(updated, {c.property for c in changes})
            entries = property_change_activities(current.id, changes, actor, now, lambda: new_activity_id(now))
            extra = {"routing_rule_id": rule.id}
            return TicketWrite(updated, changes, checks, items_for(entries), event_extra=extra, guarded=guarded)

        return self._tickets.write(actor, ticket_id, change, expected_version=expected_version, now=now)

    def _choose(self, rule: rules.Rule, pending: Counter[str]) -> tuple[str | None, list[tuple[Any, Any]]]:
        """The assignee the rule's strategy picks now (None: the team's queue), and the cursor
        put that must commit with the assignment (round robin)."""
        if rule.assignment == "none":
            return None, []
        members = [
            rules.Member(e.id, e.data.get("availability") or rules.DEFAULT_AVAILABILITY)
            for e in self._directory.staff()
            if rule.team_id in (e.data.get("team_ids") or []) and not e.data.get("disabled")
        ]
        available = rules.candidates(members)
        if not available:
            return None, []
        if rule.assignment == "round_robin":
            last, version = self._store.cursor(rule.team_id)
            chosen = rules.next_in_turn(available, last)
            assert chosen is not None
            return chosen, [self._store.advanced_cursor(rule.team_id, chosen, version)]
        counts = self._store.counts(assignee_counter(user, rules.OPEN_CATEGORY) for user in available)
        loads = {user: counts[assignee_counter(user, rules.OPEN_CATEGORY)] + pending[user] for user in available}
        return rules.least_loaded(available, loads), []


class OpenCounters:
    """The stream's upkeep of the counters (storage/routing.RoutingRepository.apply_counts)."""

    def __init__(self, store: RoutingRepository) -> None:
        self._store = store

    def follow(self, ticket: Ticket) -> bool:
        return self._store.apply_counts(ticket.id, ticket.version, contribution(ticket))
