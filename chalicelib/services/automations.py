"""Automation use cases: the admins' rules (`/v1/automations`) and running them on the events the
ticket stream sees.

Rules are directory entries of kind `automation` (PK `DIR#automation`, SK the id): `name`,
`data` = {trigger, conditions, actions, active, position}. The built-in rules
(domain.automations.BUILT_IN) have no entry until an admin changes one: they are listed at
version 0, and the first PATCH stores the entry (turning one off is `{"active": false}`).

A rule's run writes through `TicketService.write` (its property actions, one write) and
`ConversationService.comment` (each note and reply), like any change: history, timeline, list
entries, event and SLA, with the rule as the actor (`automation:<rule id>`). Each of those
writes carries the claim of its step (storage/automations.py) in its own transaction, so a
redelivered stream batch repeats nothing and a crash between two steps redoes only the missing ones.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain import automations as auto
from chalicelib.domain.activities import property_change_activities
from chalicelib.domain.errors import (
    Conflict,
    DomainError,
    FieldError,
    NotAllowed,
    NotFound,
    TicketNotFound,
    ValidationFailed,
    VersionConflict,
)
from chalicelib.domain.sla import CUSTOMER_MESSAGE
from chalicelib.domain.tickets import Change, Ticket, apply_patch, stored_bytes
from chalicelib.domain.visibility import Caller
from chalicelib.services.conversation import ConversationService
from chalicelib.services.rule_sets import RuleSetService
from chalicelib.services.statuses import StatusCatalogCache
from chalicelib.services.templates import TemplateService
from chalicelib.services.tickets import TicketService, TicketWrite
from chalicelib.storage import keys
from chalicelib.storage.activities import items_for, new_activity_id
from chalicelib.storage.automations import AlreadyRun, AutomationRunRepository
from chalicelib.storage.directory import DirectoryRepository, Entry

KIND = "automation"
# The stream re-reads the rule set at most this often per container (like the status catalog);
# a change to a rule reaching the container's own stream (its `DIR#automation` record) reloads
# it at once, so only a container reading another shard can lag, by at most this long.
RULES_CACHE_SECONDS = 30.0
# What a built-in rule shows before an admin changed it (no entry yet: version 0).
BUILT_IN_SINCE = datetime(2026, 12, 1, tzinfo=UTC)
_log = logging.getLogger(__name__)
# Who reads the ticket for the rules: nobody in particular, allowed to see every ticket.
READER = Caller(user_id=auto.ACTOR_PREFIX, role="admin", access="all")


class AutomationService(RuleSetService):
    """CRUD for admins (agents may read, to know what will happen to their tickets)."""

    kind, noun, plural, max_rules = KIND, "automation", "automations", auto.MAX_RULES

    def list(self, caller: Caller) -> list[Entry]:
        """Every rule, built-in ones included, in the order they run."""
        self._require_staff(caller)
        entries = all_entries(self._directory)
        return sorted(entries, key=lambda e: (int(e.data.get("position", 0)), e.id))

    def delete(self, caller: Caller, rule_id: str, now: datetime | None = None) -> None:
        self._require_admin(caller)
        if rule_id in auto.BUILT_IN:
            raise Conflict('a built-in automation cannot be deleted; turn it off with PATCH {"active": false}')
        super().delete(caller, rule_id, now)

    def _find(self, rule_id: str) -> Entry | None:
        return super()._find(rule_id) or built_in_entry(rule_id)

    def _listed(self, stored: Sequence[Entry]) -> Sequence[Entry]:
        return with_built_ins(stored)

    def _store(self, caller: Caller, entry: Entry, name: str, data: dict[str, Any], now: datetime) -> Entry:
        if entry.version == 0:  # a built-in rule's first change stores it
            try:
                return self._directory.create(KIND, entry.id, name, data, now, actor_id=caller.user_id)
            except Conflict as exc:  # another admin stored it meanwhile
                raise VersionConflict("automation changed meanwhile") from exc
        return super()._store(caller, entry, name, data, now)

    def _checked(self, values: Mapping[str, Any]) -> dict[str, Any]:
        data = auto.check_rule(values)
        errors: list[FieldError] = []
        references = {"set_team": "team", "template_reply": "template"}
        for i, action in enumerate(data["actions"]):
            kind = references.get(action["type"])
            if kind is not None:
                name = "team_id" if kind == "team" else "template_id"
                if self._directory.get(kind, action[name]) is None:
                    errors.append(FieldError(f"actions[{i}].{name}", f"no such {kind}"))
            elif action["type"] == "set_status":
                if action["status"] not in auto.STATUS_CATEGORIES and self._directory.get("status", action["status"]) is None:
                    errors.append(FieldError(f"actions[{i}].status", "no such status"))
            elif action["type"] in ("set_assignee", "add_follower"):
                name = "assignee_id" if action["type"] == "set_assignee" else "user_id"
                user = self._directory.get("user", action[name]) if action[name] else None
                if action[name] and (user is None or user.data.get("role") not in ("agent", "admin")):
                    errors.append(FieldError(f"actions[{i}].{name}", "no such agent or admin"))
        if not errors and stored_bytes({**data, "name": values.get("name", "")}) > auto.MAX_RULE_BYTES:
            errors.append(FieldError("actions", f"an automation is at most {auto.MAX_RULE_BYTES} bytes as JSON"))
        if errors:
            raise ValidationFailed(errors)
        return data


def built_in_entry(rule_id: str) -> Entry | None:
    if rule_id not in auto.BUILT_IN:
        return None
    name, rule = auto.BUILT_IN[rule_id]
    return Entry(KIND, rule_id, name, rule.to_data(), BUILT_IN_SINCE, BUILT_IN_SINCE, 0)


def all_entries(directory: DirectoryRepository) -> list[Entry]:
    """Stored rules, and the built-in ones no admin changed yet (one Query)."""
    return with_built_ins(directory.list_all(KIND))


def with_built_ins(stored: Sequence[Entry]) -> list[Entry]:
    ids = {e.id for e in stored}
    return [*stored, *(e for r in auto.BUILT_IN if r not in ids and (e := built_in_entry(r)) is not None)]


class RuleSetCache:
    """The rules in the order they run, as the stream sees them: one Query per 30 s per container."""

    def __init__(self, directory: DirectoryRepository, clock: Callable[[], float] = time.monotonic) -> None:
        self._directory = directory
        self.clock = clock
        self._rules: list[auto.Rule] | None = None
        self._loaded_at = 0.0

    def rules(self) -> list[auto.Rule]:
        if self._rules is None or self.clock() - self._loaded_at >= RULES_CACHE_SECONDS:
            self._rules = [rule_of(e) for e in all_entries(self._directory)]
            self._loaded_at = self.clock()
        return self._rules

    def follow(self, record: Mapping[str, Any]) -> None:
        """Forget the rules when the record is a rule's change (its directory item)."""
        change = record.get("dynamodb") or {}
        image = change.get("NewImage") or change.get("OldImage") or change.get("Keys") or {}
        if image.get("PK", {}).get("S") == keys.directory_pk(KIND):
            self._rules = None


def rule_of(entry: Entry) -> auto.Rule:
    return auto.Rule.from_record(entry.id, entry.name, entry.data)


@dataclasses.dataclass(frozen=True)
class EventSeen:
    """An outbox event item as the stream delivers it."""

    id: str
    type: str
    at: str
    ticket_id: str
    detail: Mapping[str, Any]


def event_seen(record: Mapping[str, Any]) -> EventSeen | None:
    """The event of an outbox item's INSERT record (None for anything else)."""
    if record.get("eventName") != "INSERT":
        return None
    new = (record.get("dynamodb") or {}).get("NewImage") or {}
    if new.get("PK", {}).get("S") != keys.EVENTS_PK or new.get("kind", {}).get("S") != "event":
        return None
    try:
        detail = json.loads(new["detail"]["S"])
        return EventSeen(new["id"]["S"], new["type"]["S"], new["at"]["S"], new["ticket_id"]["S"], detail)
    except (KeyError, ValueError, TypeError):
        return None


class Automator:
    """Runs the rules an event triggers (the ticket stream calls `follow` for every record)."""

    def __init__(
        self,
        tickets: TicketService,
        conversation: ConversationService,
        templates: TemplateService,
        directory: DirectoryRepository,
        runs: AutomationRunRepository,
        statuses: StatusCatalogCache,
        route_new: Callable[[Ticket, datetime], Any] | None = None,
        count: Callable[[str, int], None] | None = None,
        rules: RuleSetCache | None = None,
    ) -> None:
        self._tickets = tickets
        self._conversation = conversation
        self._templates = templates
        self._directory = directory
        self._runs = runs
        self._statuses = statuses
        self._route_new = route_new
        self._count = count or (lambda name, value: None)
        self.rules = rules or RuleSetCache(directory)

    def follow(self, record: Mapping[str, Any], now: datetime) -> int:
        """Run what the record's event triggers; answers how many rules ran."""
        self.rules.follow(record)
        event = event_seen(record)
        if event is None or event.type not in auto.TRIGGERS:
            return 0
        actor_id = str(event.detail.get("actor_id") or "")
        if actor_id.startswith(auto.ACTOR_PREFIX):
            return 0  # the loop guard: an automation's own change triggers nothing (no read either)
        rules = [r for r in self.rules.rules() if r.active and r.trigger == event.type]
        if not rules:
            return 0
        try:
            ticket = self._tickets.get(READER, event.ticket_id)
            if event.type == auto.TICKET_CREATED and self._route_new is not None and ticket.version == 1:
                # Routing decides on the version inserted; a rule writing first would make it skip
                # the ticket. Routing first (idempotent), whichever record the stream hands over first.
                ticket = self._route_new(ticket, now) or ticket
        except TicketNotFound:
            return 0  # deleted (or purged) since
        occurrence = auto.Occurrence(
            event.type,
            actor_id,
            author_role=self._role_of(actor_id) if auto.needs_author_role(rules, event.type) else None,
            visibility=event.detail.get("visibility"),
        )
        fired = auto.triggered(rules, ticket, occurrence)
        if not fired:
            return 0
        since = keys.stamp(auto.window_start(datetime.fromisoformat(event.at.replace("Z", "+00:00"))))
        runs = self._runs.runs_since(ticket.id, since)
        if auto.over_cap(runs):
            self._count("AutomationsCapped", 1)
            _log.warning("automations capped", extra={"ticket_id": ticket.id, "event_id": event.id, "runs": runs})
            return 0
        customer_message = occurrence.author_role == "customer" and occurrence.visibility == "public"
        for rule in fired:
            self._run(rule, event, now, customer_message=customer_message)
        return len(fired)

    def run_rule(self, rule: auto.Rule, event: EventSeen, now: datetime) -> bool:
        """Run one rule for an occurrence that is not an outbox event (a time rule's due item),
        with the same step claims and cap; False if the cap skipped it."""
        since = keys.stamp(auto.window_start(datetime.fromisoformat(event.at.replace("Z", "+00:00"))))
        runs = self._runs.runs_since(event.ticket_id, since)
        if auto.over_cap(runs):
            self._count("AutomationsCapped", 1)
            _log.warning("automations capped", extra={"ticket_id": event.ticket_id, "event_id": event.id, "runs": runs})
            return False
        self._run(rule, event, now, customer_message=False)
        return True

    # -- one rule ---------------------------------------------------------------------------
    def _run(self, rule: auto.Rule, event: EventSeen, now: datetime, *, customer_message: bool) -> None:
        actor = Caller(user_id=rule.actor_id, role="admin", name=rule.name, access="all")
        steps: list[Callable[[], Any]] = [lambda: self._properties(rule, actor, event, now, customer_message)]
        for step, action in enumerate(auto.messages(rule), start=1):
            steps.append(lambda step=step, action=action: self._message(rule, actor, event, step, action, now))
        for step in steps:
            try:
                step()
            except AlreadyRun:
                continue
            except (ValidationFailed, Conflict, NotFound, NotAllowed) as exc:
                # The ticket refuses this step now (closed, a deleted assignee, a bad move):
                # the other steps still run; nothing half-written (each is one transaction).
                self._count("AutomationStepsRefused", 1)
                _log.info(
                    "automation step refused",
                    extra={"rule_id": rule.id, "ticket_id": event.ticket_id, "error": type(exc).__name__},
                )
            except DomainError:
                raise  # unavailable, contention: the batch item fails and the stream retries

    def _properties(self, rule: auto.Rule, actor: Caller, event: EventSeen, now: datetime, customer_message: bool) -> None:
        claim = self._runs.claim(event.ticket_id, event.at, event.id, rule.id, 0, now)

        def change(current: Ticket) -> TicketWrite | None:
            patch, followers = auto.property_patch(rule, current)
            if not patch and not followers:
                return None
            updated, changes = apply_patch(current, patch, catalog=self._statuses.catalog(), now=now) if patch else (current, [])
            if followers:
                before = list(updated.followers)
                updated = dataclasses.replace(
                    updated, followers=[*before, *followers], updated_at=now, version=current.version + 1
                )
                changes = [*changes, Change("followers", before, list(updated.followers))]
            if not changes:
                return None
            checks = self._tickets.reference_checks(updated, {c.property for c in changes})
            entries = property_change_activities(current.id, changes, actor, now, lambda: new_activity_id(now))
            signals = frozenset({CUSTOMER_MESSAGE}) if customer_message else frozenset()
            extra = {"automation_id": rule.id, "trigger_event_id": event.id}
            return TicketWrite(updated, changes, checks, [*items_for(entries), claim], event_extra=extra, signals=signals)

        self._tickets.write(actor, event.ticket_id, change, now=now)

    def _message(self, rule: auto.Rule, actor: Caller, event: EventSeen, step: int, action: auto.Action, now: datetime) -> None:
        if action.type == "template_reply":
            body, visibility = self._templates.render(actor, str(action.value), event.ticket_id)["body"], "public"
        else:
            body, visibility = str(action.value), "internal"
        self._conversation.comment(
            actor,
            event.ticket_id,
            body=body,
            visibility=visibility,
            cc=[],
            notify=[],
            status=None,
            now=now,
            also_put=[self._runs.claim(event.ticket_id, event.at, event.id, rule.id, step, now)],
        )

    def _role_of(self, actor_id: str) -> str | None:
        entry = self._directory.get("user", actor_id) if actor_id else None
        return str(entry.data.get("role")) if entry is not None and entry.data.get("role") else None
