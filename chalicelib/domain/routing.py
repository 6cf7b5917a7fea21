"""Routing: which team and which agent a new ticket goes to (issue 11). Pure.

What routing *is*:

- **Rules are ordered** by `(position, id)`, lowest first; the first rule whose conditions all
  hold wins, and later rules are not looked at. No rule matching leaves the ticket as it is.
- **Conditions** are all optional and all must hold (none given: every ticket matches). Within
  one condition the values are alternatives ("any of"), except `tags_all`:
  `channels`, `types`, `priorities`, `organization_ids` (the ticket's value is one of them);
  `tags` (the ticket has at least one of them), `tags_all` (it has every one of them);
  `subject_contains` / `description_contains` (at least one keyword occurs as a whole word,
  case-insensitively: "Printer" matches "printer's on fire" but not "printers"; the
  description's markup is not text); `requester_domains` (the requester's email domain,
  exactly, lowercase).
- **A matching rule** files the ticket under its `team_id` and picks an assignee by its
  `assignment` strategy among the team's members whose availability is `available`:
  `none` (the team's queue), `round_robin` (the member after the team's cursor, in the order
  of member ids, wrapping around: every available member gets one turn before anyone gets a
  second), `least_open` (fewest open tickets, ties by id). No available member: team only.
- **Availability** (`available` | `away` | `offline`) is a staff user's own; customers have none.
  A staff user who never set it is `available` (DEFAULT_AVAILABILITY): a help desk upgraded to
  routing keeps assigning instead of starting with nobody on duty. Going away only stops new
  assignments; the agent's tickets stay theirs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.tickets import CHANNELS, PRIORITIES, TYPES, Ticket, normalize_tags

AVAILABILITIES = ("available", "away", "offline")
DEFAULT_AVAILABILITY = "available"
STRATEGIES = ("none", "round_robin", "least_open")
STAFF_ROLES = ("agent", "admin")
# The status category least_open counts: tickets waiting for the agent's work.
OPEN_CATEGORY = "open"
# The actor of an automated assignment in history and events: `routing:<rule id>`.
ACTOR_PREFIX = "routing:"

# Bounds: a rule is evaluated for every new ticket, and stored in one small item.
MAX_VALUES = 50  # per list condition
MAX_KEYWORDS = 20
KEYWORD_MAX_CHARS = 40
MAX_RULE_BYTES = 16 * 1024

CONDITION_KEYS = (
    "channels",
    "types",
    "priorities",
    "organization_ids",
    "tags",
    "tags_all",
    "subject_contains",
    "description_contains",
    "requester_domains",
)
_WORD = re.compile(r"\w+")
_MARKUP = re.compile(r"<[^>]*>")
_DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,62}\.)*[a-z0-9-]{1,63}$")


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    position: int
    team_id: str
    assignment: str = "none"
    conditions: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def actor_id(self) -> str:
        return f"{ACTOR_PREFIX}{self.id}"

    @classmethod
    def from_record(cls, rule_id: str, name: str, data: Mapping[str, Any]) -> Rule:
        return cls(
            id=rule_id,
            name=name,
            position=int(data.get("position", 0)),
            team_id=str(data["team_id"]),
            assignment=str(data.get("assignment", "none")),
            conditions={k: list(v) for k, v in (data.get("conditions") or {}).items() if k in CONDITION_KEYS},
        )


@dataclass(frozen=True)
class Member:
    """A team member as routing sees them."""

    user_id: str
    availability: str = DEFAULT_AVAILABILITY


# -- validation ---------------------------------------------------------------------------
def check_conditions(conditions: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The conditions normalized (lowercase keywords, tags and domains; duplicates dropped); every
    problem in one 422."""
    errors: list[FieldError] = []
    out: dict[str, list[str]] = {}
    allowed = {"channels": CHANNELS, "types": TYPES, "priorities": PRIORITIES}
    for key, values in conditions.items():
        where = f"conditions.{key}"
        if key not in CONDITION_KEYS:
            errors.append(FieldError(where, "is not a routing condition"))
            continue
        values = list(values)
        if not values:
            continue  # an empty list is the same as no condition
        if len(values) > MAX_VALUES:
            errors.append(FieldError(where, f"at most {MAX_VALUES} values"))
            continue
        if key in allowed:
            bad = [v for v in values if v not in allowed[key]]
            if bad:
                errors.append(FieldError(where, f"must be among {', '.join(allowed[key])}"))
                continue
            out[key] = list(dict.fromkeys(values))
        elif key in ("tags", "tags_all"):
            out[key] = normalize_tags(values)
        elif key in ("subject_contains", "description_contains"):
            words = list(dict.fromkeys(v.strip().casefold() for v in values))
            if len(words) > MAX_KEYWORDS:
                errors.append(FieldError(where, f"at most {MAX_KEYWORDS} keywords"))
            elif not all(_is_word(w) for w in words):
                errors.append(FieldError(where, f"each keyword is one word of letters or digits, at most {KEYWORD_MAX_CHARS}"))
            else:
                out[key] = words
        elif key == "requester_domains":
            domains = list(dict.fromkeys(v.strip().lower() for v in values))
            if not all(len(d) <= 253 and _DOMAIN.match(d) for d in domains):
                errors.append(FieldError(where, "each value is a domain name such as example.com"))
            else:
                out[key] = domains
        else:
            out[key] = list(dict.fromkeys(values))
    if errors:
        raise ValidationFailed(errors)
    return out


def check_assignment(assignment: str) -> str:
    if assignment not in STRATEGIES:
        raise ValidationFailed([FieldError("assignment", f"must be one of {', '.join(STRATEGIES)}")])
    return assignment


def check_availability(role: str, availability: str | None) -> None:
    """Staff users have an availability; customers have none (422 when one is set)."""
    if availability is None:
        return
    if role not in STAFF_ROLES:
        raise ValidationFailed([FieldError("availability", "only agents and admins have an availability")])
    if availability not in AVAILABILITIES:
        raise ValidationFailed([FieldError("availability", f"must be one of {', '.join(AVAILABILITIES)}")])


def availability_of(role: str, data: Mapping[str, Any]) -> str | None:
    if role not in STAFF_ROLES:
        return None
    value = data.get("availability")
    return value if value in AVAILABILITIES else DEFAULT_AVAILABILITY


def _is_word(text: str) -> bool:
    return 0 < len(text) <= KEYWORD_MAX_CHARS and _WORD.fullmatch(text) is not None


# -- matching -----------------------------------------------------------------------------
def ordered(rules: Iterable[Rule]) -> list[Rule]:
    return sorted(rules, key=lambda r: (r.position, r.id))


def words_of(text: str, *, markup: bool = False) -> frozenset[str]:
    if markup:
        text = _MARKUP.sub(" ", text)
    return frozenset(_WORD.findall(text.casefold()))


def needs_requester_email(rules: Iterable[Rule]) -> bool:
    return any(r.conditions.get("requester_domains") for r in rules)


def matches(rule: Rule, ticket: Ticket, requester_email: str | None = None) -> bool:
    c = rule.conditions
    if c.get("channels") and ticket.channel not in c["channels"]:
        return False
    if c.get("types") and ticket.type not in c["types"]:
        return False
    if c.get("priorities") and ticket.priority not in c["priorities"]:
        return False
    if c.get("organization_ids") and ticket.organization_id not in c["organization_ids"]:
        return False
    tags = set(ticket.tags)
    if c.get("tags") and not tags.intersection(c["tags"]):
        return False
    if c.get("tags_all") and not tags.issuperset(c["tags_all"]):
        return False
    if c.get("subject_contains") and not words_of(ticket.subject).intersection(c["subject_contains"]):
        return False
    if c.get("description_contains") and not words_of(ticket.description, markup=True).intersection(c["description_contains"]):
        return False
    if c.get("requester_domains"):
        domain = (requester_email or "").rpartition("@")[2].strip().lower()
        if not requester_email or domain not in c["requester_domains"]:
            return False
    return True


def first_match(rules: Iterable[Rule], ticket: Ticket, requester_email: str | None = None) -> Rule | None:
    """The rule that routes the ticket: the first matching one in order, or None."""
    for rule in ordered(rules):
        if matches(rule, ticket, requester_email):
            return rule
    return None


def should_route_new(ticket: Ticket) -> bool:
    """A new ticket is routed only when its creator left both team and assignee empty (an agent
    or import that named either made the choice routing would make). Imported tickets are never
    routed: they were triaged where they came from (domain.imports)."""
    return ticket.team_id is None and ticket.assignee_id is None and not ticket.is_deleted and ticket.imported_from is None


# -- strategies ---------------------------------------------------------------------------
def candidates(members: Iterable[Member]) -> list[str]:
    """The members routing may assign: available ones, in the stable order of their ids."""
    return sorted({m.user_id for m in members if m.availability == "available"})


def next_in_turn(available: Sequence[str], last: str | None) -> str | None:
    """Round robin: the first available id after `last` (the team's cursor) in id order, wrapping.

    The cursor is an id, not an index, so members joining, leaving or going away never shift
    whose turn it is among the others."""
    ids = sorted(set(available))
    if not ids:
        return None
    if last is None:
        return ids[0]
    return next((i for i in ids if i > last), ids[0])


def least_loaded(available: Sequence[str], open_counts: Mapping[str, int]) -> str | None:
    """least_open: the available id with the fewest open tickets, ties by id."""
    ids = sorted(set(available))
    if not ids:
        return None
    return min(ids, key=lambda i: (open_counts.get(i, 0), i))
