"""Automation rules: what a ticket event makes the help desk do by itself (issue 11). Pure.

What an automation *is*:

- **A trigger** names one event type (`TRIGGERS`: ticket created or updated, comment created,
  SLA breached, escalation stage changed). A rule is looked at only for events of its type,
  and only while it is `active`.
- **Conditions** are all optional and all must hold (none given: every event of the type).
  Within one condition the values are alternatives ("any of"), except `tags_all`. On the
  ticket as the event left it: `statuses`, `status_categories`, `priorities`, `types`,
  `channels`, `team_ids`, `organization_ids`, `tags` (at least one), `tags_all` (every one).
  On the event: `author_roles` (the role of whoever caused it: `customer`, `agent`, `admin`)
  and, for comments, `comment_visibilities` (`public`, `internal`).
- **Actions**, applied in the order listed, against the ticket as it is when they run:
  `set_status`, `set_priority`, `set_type`, `set_team`, `set_assignee`, `add_tags`,
  `remove_tags`, `add_follower` (ticket properties, one write), then `internal_note` and
  `template_reply` (a comment each). A property action that would change nothing, or that the
  ticket's state refuses (a closed ticket is read-only), is left out; the rest still apply.
- **Order**: rules matching one event run lowest `position` first (ties by id); each sees the
  ticket the event left, not another rule's output (no rule fires because of another).
- **Loops are impossible by construction**: an event whose actor is an automation
  (`automation:<id>`, ACTOR_PREFIX) triggers no rule at all, so a rule's own changes (and its
  notes and replies) never trigger anything, whatever the rules say. As a second, independent
  line, a ticket takes at most CAP_PER_WINDOW automated writes per CAP_WINDOW; past it,
  automations skip the ticket and the skip is counted and logged.
- **Defaults** every deployment has (BUILT_IN), on unless an admin turns them off: a
  customer's public reply on a pending or resolved ticket sets it back to `open`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.tickets import CHANNELS, PRIORITIES, TYPES, Ticket, normalize_tags
from chalicelib.domain.time_rules import TimeTrigger, check_trigger

TICKET_CREATED = "ticket.created"
TICKET_UPDATED = "ticket.updated"
COMMENT_CREATED = "comment.created"
SLA_BREACHED = "sla.breached"
ESCALATION_STAGE_CHANGED = "escalation.stage_changed"
TRIGGERS = (TICKET_CREATED, TICKET_UPDATED, COMMENT_CREATED, SLA_BREACHED, ESCALATION_STAGE_CHANGED)
# `{"event": "time", "status_category", "after"}` (domain.time_rules): run by the ticket stream
# from the due items the time-rule waits write, never by an event.
TIME_TRIGGER = "time"
# Conditions on the event itself: a time rule has no event, only the ticket.
EVENT_CONDITIONS = ("author_roles", "comment_visibilities")

ACTOR_PREFIX = "automation:"
ROLES = ("customer", "agent", "admin")
VISIBILITIES = ("public", "internal")
STATUS_CATEGORIES = ("open", "pending", "resolved", "closed")

# Bounds: every rule of a trigger is read for every event of it, from one small item each.
MAX_RULES = 100
MAX_VALUES = 50  # per list condition
MAX_ACTIONS = 10
MAX_NOTE_CHARS = 4_000
MAX_RULE_BYTES = 16 * 1024
CAP_PER_WINDOW = 20
CAP_WINDOW = timedelta(hours=1)

LIST_CONDITIONS = ("statuses", "status_categories", "priorities", "types", "channels", "team_ids", "organization_ids")
CONDITION_KEYS = (*LIST_CONDITIONS, "tags", "tags_all", "author_roles", "comment_visibilities")
# Action type -> the field it carries.
PROPERTY_ACTIONS: Mapping[str, str] = {
    "set_status": "status",
    "set_priority": "priority",
    "set_type": "ticket_type",  # not "type": that key names the action
    "set_team": "team_id",
    "set_assignee": "assignee_id",
    "add_tags": "tags",
    "remove_tags": "tags",
    "add_follower": "user_id",
}
_PATCHED = {"set_type": "type"}  # the ticket property an action's field sets, where named otherwise
MESSAGE_ACTIONS: Mapping[str, str] = {"internal_note": "body", "template_reply": "template_id"}
ACTION_TYPES = (*PROPERTY_ACTIONS, *MESSAGE_ACTIONS)


@dataclass(frozen=True)
class Action:
    type: str
    value: Any  # a string, or for add_tags / remove_tags a list of tags

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, _field(self.type): self.value}


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    trigger: str
    conditions: Mapping[str, Sequence[str]] = field(default_factory=dict)
    actions: Sequence[Action] = ()
    active: bool = True
    position: int = 0
    timing: TimeTrigger | None = None  # a time rule's status category and delay

    @property
    def actor_id(self) -> str:
        return f"{ACTOR_PREFIX}{self.id}"

    @classmethod
    def from_record(cls, rule_id: str, name: str, data: Mapping[str, Any]) -> Rule:
        trigger = data.get("trigger") or {}
        timing = check_trigger(trigger, []) if trigger.get("event") == TIME_TRIGGER else None
        return cls(
            id=rule_id,
            name=name,
            trigger=str(trigger.get("event", "")),
            conditions={k: list(v) for k, v in (data.get("conditions") or {}).items() if k in CONDITION_KEYS},
            actions=tuple(Action(str(a["type"]), a.get(_field(str(a["type"])))) for a in data.get("actions") or []),
            active=bool(data.get("active", True)),
            position=int(data.get("position", 0)),
            timing=timing,
        )

    def to_data(self) -> dict[str, Any]:
        return {
            "trigger": self.timing.to_data() if self.timing is not None else {"event": self.trigger},
            "conditions": {k: list(v) for k, v in self.conditions.items()},
            "actions": [a.to_dict() for a in self.actions],
            "active": self.active,
            "position": self.position,
        }


@dataclass(frozen=True)
class Occurrence:
    """An event as automations see it: its type, who caused it and, for comments, how."""

    type: str
    actor_id: str
    author_role: str | None = None
    visibility: str | None = None

    @property
    def by_automation(self) -> bool:
        return self.actor_id.startswith(ACTOR_PREFIX)


# -- the defaults ---------------------------------------------------------------------------
REOPEN_ON_CUSTOMER_REPLY = "reopen-on-customer-reply"
BUILT_IN: Mapping[str, tuple[str, Rule]] = {
    REOPEN_ON_CUSTOMER_REPLY: (
        "Reopen on the customer's reply",
        Rule(
            id=REOPEN_ON_CUSTOMER_REPLY,
            name="Reopen on the customer's reply",
            trigger=COMMENT_CREATED,
            conditions={
                "author_roles": ["customer"],
                "comment_visibilities": ["public"],
                "status_categories": ["pending", "resolved"],
            },
            actions=(Action("set_status", "open"),),
            position=0,
        ),
    ),
}


def _field(action_type: str) -> str:
    return PROPERTY_ACTIONS.get(action_type) or MESSAGE_ACTIONS.get(action_type) or "value"


# -- validation -----------------------------------------------------------------------------
def check_rule(data: Mapping[str, Any]) -> dict[str, Any]:
    """The stored form of a rule (`trigger`, `conditions`, `actions`, `active`, `position`),
    normalized (tags lowercase, duplicates dropped); every problem in one 422."""
    errors: list[FieldError] = []
    given = data.get("trigger") or {}
    trigger = str(given.get("event", ""))
    stored_trigger: dict[str, Any] = {"event": trigger}
    if trigger == TIME_TRIGGER:
        timing = check_trigger(given, errors)
        if timing is not None:
            stored_trigger = timing.to_data()
    elif trigger not in TRIGGERS:
        errors.append(FieldError("trigger.event", f"must be one of {', '.join(TRIGGERS)}"))
    elif given.get("status_category") is not None or given.get("after") is not None:
        errors.append(FieldError("trigger", "status_category and after are for time rules only"))
    conditions = _check_conditions(data.get("conditions") or {}, trigger, errors)
    actions = _check_actions(data.get("actions") or [], errors)
    if errors:
        raise ValidationFailed(errors)
    return {
        "trigger": stored_trigger,
        "conditions": conditions,
        "actions": actions,
        "active": bool(data.get("active", True)),
        "position": int(data.get("position", 0)),
    }


def _check_conditions(conditions: Mapping[str, Any], trigger: str, errors: list[FieldError]) -> dict[str, list[str]]:
    allowed: Mapping[str, Sequence[str]] = {
        "status_categories": STATUS_CATEGORIES,
        "priorities": PRIORITIES,
        "types": TYPES,
        "channels": CHANNELS,
        "author_roles": ROLES,
        "comment_visibilities": VISIBILITIES,
    }
    out: dict[str, list[str]] = {}
    for key, raw in conditions.items():
        where = f"conditions.{key}"
        if key not in CONDITION_KEYS:
            errors.append(FieldError(where, "is not an automation condition"))
            continue
        values = [str(v) for v in raw or []]
        if not values:
            continue  # an empty list is the same as no condition
        if len(values) > MAX_VALUES:
            errors.append(FieldError(where, f"at most {MAX_VALUES} values"))
            continue
        if key in EVENT_CONDITIONS and trigger == TIME_TRIGGER:
            errors.append(FieldError(where, "a time rule has no event: only conditions on the ticket"))
            continue
        if key == "comment_visibilities" and trigger != COMMENT_CREATED:
            errors.append(FieldError(where, "only comment.created events have a visibility"))
            continue
        if key in allowed and any(v not in allowed[key] for v in values):
            errors.append(FieldError(where, f"must be among {', '.join(allowed[key])}"))
            continue
        out[key] = normalize_tags(values) if key in ("tags", "tags_all") else list(dict.fromkeys(values))
    return out


def _check_actions(actions: Sequence[Any], errors: list[FieldError]) -> list[dict[str, Any]]:
    if not actions:
        errors.append(FieldError("actions", "a rule does at least one thing"))
        return []
    if len(actions) > MAX_ACTIONS:
        errors.append(FieldError("actions", f"at most {MAX_ACTIONS} actions"))
        return []
    allowed: Mapping[str, Sequence[str]] = {"set_priority": PRIORITIES, "set_type": TYPES}
    out: list[dict[str, Any]] = []
    for i, action in enumerate(actions):
        where = f"actions[{i}]"
        kind = str(action.get("type", "")) if isinstance(action, Mapping) else ""
        if kind not in ACTION_TYPES:
            errors.append(FieldError(f"{where}.type", f"must be one of {', '.join(ACTION_TYPES)}"))
            continue
        name = _field(kind)
        value = action.get(name)
        if kind in ("add_tags", "remove_tags"):
            tags = normalize_tags([str(t) for t in value or []])
            if not tags or len(tags) > MAX_VALUES:
                errors.append(FieldError(f"{where}.{name}", f"between 1 and {MAX_VALUES} tags"))
                continue
            value = tags
        elif kind == "set_assignee" and value is None:
            pass  # unassigns
        elif not isinstance(value, str) or not value.strip():
            errors.append(FieldError(f"{where}.{name}", "is required"))
            continue
        elif kind in allowed and value not in allowed[kind]:
            errors.append(FieldError(f"{where}.{name}", f"must be one of {', '.join(allowed[kind])}"))
            continue
        elif kind == "internal_note" and len(value) > MAX_NOTE_CHARS:
            errors.append(FieldError(f"{where}.{name}", f"at most {MAX_NOTE_CHARS} characters"))
            continue
        out.append({"type": kind, name: value})
    return out


# -- matching -------------------------------------------------------------------------------
def ordered(rules: Iterable[Rule]) -> list[Rule]:
    return sorted(rules, key=lambda r: (r.position, r.id))


def matches(rule: Rule, ticket: Ticket, occurrence: Occurrence) -> bool:
    if not rule.active or rule.trigger != occurrence.type:
        return False
    return conditions_hold(rule, ticket, occurrence)


def conditions_hold(rule: Rule, ticket: Ticket, occurrence: Occurrence | None = None) -> bool:
    """The rule's conditions on the ticket (and on the event, if there is one)."""
    c = rule.conditions
    values = {
        "statuses": ticket.status,
        "status_categories": ticket.status_category,
        "priorities": ticket.priority,
        "types": ticket.type,
        "channels": ticket.channel,
        "team_ids": ticket.team_id,
        "organization_ids": ticket.organization_id,
        "author_roles": occurrence.author_role if occurrence else None,
        "comment_visibilities": occurrence.visibility if occurrence else None,
    }
    for key, value in values.items():
        if c.get(key) and value not in c[key]:
            return False
    tags = set(ticket.tags)
    if c.get("tags") and not tags.intersection(c["tags"]):
        return False
    return not (c.get("tags_all") and not tags.issuperset(c["tags_all"]))


def triggered(rules: Iterable[Rule], ticket: Ticket, occurrence: Occurrence) -> list[Rule]:
    """The rules the event sets off, in the order they run. None for an automation's own event
    (the loop guard), nor for a deleted ticket."""
    if occurrence.by_automation or ticket.is_deleted:
        return []
    return [r for r in ordered(rules) if matches(r, ticket, occurrence)]


def needs_author_role(rules: Iterable[Rule], event_type: str) -> bool:
    return any(r.active and r.trigger == event_type and r.conditions.get("author_roles") for r in rules)


# -- what the actions change ----------------------------------------------------------------
def property_patch(rule: Rule, ticket: Ticket) -> tuple[dict[str, Any], list[str]]:
    """The ticket PATCH the rule's property actions make to `ticket` (later actions win over
    earlier ones on the same property), and the followers to add."""
    patch: dict[str, Any] = {}
    tags = list(ticket.tags)
    followers: list[str] = []
    for action in rule.actions:
        if action.type in ("add_tags", "remove_tags"):
            given = list(action.value or [])
            if action.type == "add_tags":
                tags = [*tags, *[t for t in given if t not in tags]]
            else:
                tags = [t for t in tags if t not in given]
        elif action.type == "add_follower":
            if action.value not in ticket.followers and action.value not in followers:
                followers.append(str(action.value))
        elif action.type in PROPERTY_ACTIONS:
            patch[_PATCHED.get(action.type, PROPERTY_ACTIONS[action.type])] = action.value
    if tags != list(ticket.tags):
        patch["tags"] = tags
    for name in [n for n, v in patch.items() if n != "tags" and getattr(ticket, n) == v]:
        del patch[name]  # already so: no write, no history entry
    return patch, followers


def messages(rule: Rule) -> list[Action]:
    """The notes and replies the rule posts, in order."""
    return [a for a in rule.actions if a.type in MESSAGE_ACTIONS]


# -- the cap --------------------------------------------------------------------------------
def window_start(now: datetime) -> datetime:
    """The start of the cap window `now` falls in (fixed windows: countable with one range)."""
    seconds = int(CAP_WINDOW.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


def over_cap(writes_in_window: int) -> bool:
    return writes_in_window >= CAP_PER_WINDOW


def timed(rules: Iterable[Rule]) -> list[Rule]:
    """The active time rules, in the order they run."""
    return [r for r in ordered(rules) if r.active and r.trigger == TIME_TRIGGER and r.timing is not None]
