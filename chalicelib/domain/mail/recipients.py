"""Who is mailed about an event, and which version each gets (API.md "Email channel and
notifications"; the table is in docs/decisions.md, "Email channel: the pure core").

- The requester and CC'd users (the ticket's end users) get the customer version of: a public
  comment by someone else, a ticket created for them by someone else, a status change into a
  resolved or closed status, and every escalation stage change (verification needs their answer).
- Followers and the assignee get the agent version of every comment (public and internal) and
  of every change; agents named in a note's `notify` get that note.
- Never the actor; never anyone with notifications off, a suppressed address or no address;
  never an address at our own support domain (a user record holding it would loop).
- The version follows the person, not only the relation: a customer only ever gets the customer
  version, whatever list they are on (a customer cannot follow, but data can be wrong), and only
  of customer-visible events; staff get the agent version when they follow, are assigned or
  are named, and the customer version when they are only the requester or CC'd.
- The customer version carries no agent-only property (`customer_changes`).
One delivery per person (their reasons merged) and per address.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from chalicelib.domain.events import (
    COMMENT_CREATED,
    ESCALATION_STAGE_CHANGED,
    TICKET_CREATED,
    TICKET_UPDATED,
    Event,
)
from chalicelib.domain.mail.addresses import normalize_address
from chalicelib.domain.tickets import Ticket
from chalicelib.domain.visibility import AGENT_ONLY_PROPERTIES

Audience = Literal["customer", "agent"]
CUSTOMER_STATUS_CATEGORIES = frozenset({"resolved", "closed"})
STAFF_ROLES = frozenset({"agent", "admin"})


@dataclass(frozen=True)
class Person:
    id: str
    role: str  # admin | agent | customer
    email: str
    name: str = ""
    notifications: bool = True
    suppressed: bool = False  # the address bounced or complained

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


@dataclass(frozen=True)
class CommentFacts:
    """What the timeline entry of a `comment.created` event says (the event has no `notify`)."""

    visibility: str  # public | internal
    notify: Sequence[str] = ()


@dataclass(frozen=True)
class Delivery:
    user_id: str
    address: str
    name: str
    audience: Audience
    reasons: tuple[str, ...] = field(default_factory=tuple)  # requester | cc | follower | assignee | notified


def recipients(
    event: Event,
    ticket: Ticket,
    people: Mapping[str, Person],
    *,
    comment: CommentFacts | None = None,
    status_categories: Mapping[str, str] | None = None,
    support_domain: str | None = None,
) -> list[Delivery]:
    """The deliveries of one event, in a stable order (end users first, then staff)."""
    actor = str(event.detail.get("actor_id") or "")
    visibility = comment.visibility if comment is not None else str(event.detail.get("visibility") or "internal")
    customer_event = _concerns_customers(event, visibility, status_categories or {})

    wanted: dict[str, list[tuple[str, Audience]]] = {}

    def want(user_id: str | None, reason: str, audience: Audience) -> None:
        if user_id:
            wanted.setdefault(user_id, []).append((reason, audience))

    if customer_event:
        want(ticket.requester_id, "requester", "customer")
        for user_id in ticket.cc:
            want(user_id, "cc", "customer")
    for user_id in ticket.followers:
        want(user_id, "follower", "agent")
    want(ticket.assignee_id, "assignee", "agent")
    if event.type == COMMENT_CREATED and comment is not None and visibility == "internal":
        for user_id in comment.notify:
            want(user_id, "notified", "agent")

    deliveries: list[Delivery] = []
    seen_addresses: set[str] = set()
    for user_id, asks in wanted.items():
        person = people.get(user_id)
        if person is None or user_id == actor or not person.notifications or person.suppressed:
            continue
        address = normalize_address(person.email)
        if not address or address in seen_addresses:
            continue
        if support_domain is not None and address.rpartition("@")[2] == support_domain.strip().lower():
            continue
        audience = _audience(person, asks, customer_event)
        if audience is None:
            continue
        seen_addresses.add(address)
        reasons = tuple(dict.fromkeys(reason for reason, _ in asks))
        deliveries.append(Delivery(user_id, address, person.name, audience, reasons))
    return sorted(deliveries, key=lambda d: (d.audience != "customer", d.user_id))


def _audience(person: Person, asks: Iterable[tuple[str, Audience]], customer_event: bool) -> Audience | None:
    audiences = {audience for _, audience in asks}
    if person.is_staff and "agent" in audiences:
        return "agent"
    # customers get only customer-visible events, as customers, whatever list they are on
    return "customer" if customer_event else None


def _concerns_customers(event: Event, visibility: str, status_categories: Mapping[str, str]) -> bool:
    if event.type == COMMENT_CREATED:
        return visibility == "public"
    if event.type == ESCALATION_STAGE_CHANGED:
        return True
    if event.type == TICKET_CREATED:
        return True  # the requester hears of a ticket someone opened for them (never their own)
    if event.type == TICKET_UPDATED:
        for change in _changes(event):
            if change.get("property") == "status":
                new = str(change.get("new") or "")
                if status_categories.get(new, new) in CUSTOMER_STATUS_CATEGORIES:
                    return True
    return False


def _changes(event: Event) -> list[Mapping[str, Any]]:
    changes = event.detail.get("changes") or []
    return [change for change in changes if isinstance(change, Mapping)]


def customer_changes(event: Event) -> list[Mapping[str, Any]]:
    """The changes a customer version may mention: none of the agent-only properties."""
    return [c for c in _changes(event) if c.get("property") not in AGENT_ONLY_PROPERTIES and not c.get("truncated")]
