"""Another help desk's export, mapped to our records: what an import creates and what it refuses.

Semantics, for every source (`zendesk.py`, `freshdesk.py`):
- **Ids are derived, never drawn**: a source record always maps to the same id of ours
  (`<source>-<source id>` for users, organizations and teams; a ticket id is 128 bits of
  SHA-256 of `<source>:ticket:<id>`, the shape of our random ones). A re-run, or a resumed run,
  therefore writes the same keys; the storage's `EXT#` item per source id (written in the
  record's own transaction) is what makes it add nothing.
- **Same rules as the API**: tickets go through `domain.tickets.create_ticket` (sanitized
  description, byte limits, at most 15 tags and CCs, custom field bounds) and comments through
  `domain.bodies.prepare_body` (sanitized, cut at 64K characters / 96 KiB with `…`).
- **Refused, with a reason**: a record that would break a rule or name a record the export does
  not have (an unknown requester, author, assignee, team or organization; an unknown role; a
  description over its byte limit) is not imported. Nothing is invented to make it fit.
- **One address, one person**: a user whose address is already a user's (in the directory, or an
  earlier record of the same export) is that user, not a duplicate: the record keeps the
  existing id and role (`matched`), only its `EXT#` item is written, and every reference of the
  export to it (requester, assignee, CC, author) names the existing user.
- **Timestamps are the source's**: created, updated, each comment's and each history entry's
  time. Imported tickets are marked (`Ticket.imported_from = "<source>:<number>"`) so the ticket
  stream routes nothing for them and the API can tell an imported record apart.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from chalicelib.domain.activities import Activity
from chalicelib.domain.bodies import prepare_body
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.mail.addresses import normalize_address
from chalicelib.domain.tickets import Ticket, is_blank

NO_SUBJECT = "(no subject)"
SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class Refusal:
    """A source record not imported, and why (printed by `--dry-run` and by every run)."""

    kind: str  # organization | user | team | ticket | comment
    source_id: str
    reason: str


@dataclass(frozen=True)
class DirectoryRecord:
    """An organization, user or team to create, under the id derived from its source id."""

    kind: str
    id: str
    source_id: str
    name: str
    data: dict[str, Any]
    created_at: datetime
    matched: bool = False  # `id` is an existing user's with the same address: not created again


@dataclass(frozen=True)
class HistoryRecord:
    """One property change the source's audit trail carries; `order` keeps same-second ones apart."""

    property: str
    old: Any
    new: Any
    actor_id: str
    at: datetime
    order: int


@dataclass(frozen=True)
class TicketRecord:
    source_id: str
    ticket: Ticket  # number 0: the importer takes a number of ours when it writes the ticket
    history: tuple[HistoryRecord, ...]
    activities: tuple[Activity, ...]  # the conversation after the description, oldest first


@dataclass
class Plan:
    """What an import of one export would create, in the order it is written, and what it refuses."""

    source: str
    organizations: list[DirectoryRecord] = field(default_factory=list)
    teams: list[DirectoryRecord] = field(default_factory=list)
    users: list[DirectoryRecord] = field(default_factory=list)
    tickets: list[TicketRecord] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "organizations": len(self.organizations),
            "teams": len(self.teams),
            "users": sum(not u.matched for u in self.users),
            "users matched by address": sum(u.matched for u in self.users),
            "tickets": len(self.tickets),
            "comments": sum(len(t.activities) for t in self.tickets),
            "history entries": sum(len(t.history) for t in self.tickets),
            "refused": len(self.refused),
        }


def directory_id(source: str, source_id: object) -> str:
    """Our id of a source's user, organization or team (a valid user id: `[A-Za-z0-9_.:@-]`)."""
    return f"{source}-{source_id}"


def ticket_id(source: str, source_id: object) -> str:
    return hashlib.sha256(f"{source}:ticket:{source_id}".encode()).hexdigest()[:32]


def external_ref(source: str, source_id: object) -> str:
    """`Ticket.imported_from`: where the ticket came from and its number there."""
    return f"{source}:{source_id}"


def activity_id(at: datetime, source: str, source_id: object) -> str:
    """Time-ordered like every activity id (`<stamp>-<suffix>`), the suffix derived from the source."""
    return f"{at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}-{source}{source_id}"


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time of an export (`2023-03-01T09:00:00Z`), as tz-aware UTC; None if absent."""
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def subject_of(value: object) -> str:
    text = str(value or "").strip()
    return NO_SUBJECT if is_blank(text) else text[:250]


_SLUG = re.compile(r"[^a-z0-9]+")


def field_key(title: object, source_id: object) -> str:
    """A custom field's key: its title in snake case (`Order number` -> `order_number`)."""
    slug = _SLUG.sub("_", str(title or "").lower()).strip("_")[:64]
    return slug or f"field_{source_id}"


def reason_of(error: ValidationFailed) -> str:
    return "; ".join(f"{e.field}: {e.message}" for e in error.errors) or error.detail


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")


def mail_domains(values: Iterable[object]) -> list[str]:
    """Valid host names of two labels or more, lowercased, in first-seen order."""
    out: dict[str, None] = {}
    for value in values:
        name = str(value or "").strip().lower().rstrip(".")
        if _DOMAIN.fullmatch(name):
            out.setdefault(name, None)
    return list(out)


def comment_activity(
    *,
    ticket_id: str,
    source: str,
    source_id: object,
    author_id: str,
    public: bool,
    html: str,
    at: datetime,
    fields: Mapping[str, Any],
) -> Activity:
    """A public reply (`comment`) or an internal `note`, with its body under the API's rules."""
    body = prepare_body(html or "(no text)")
    return Activity(
        id=activity_id(at, source, source_id),
        ticket_id=ticket_id,
        type="comment" if public else "note",
        visibility="public" if public else "internal",
        actor_id=author_id,
        at=at,
        body=body.text,
        truncated=body.truncated,
        fields=dict(fields),
    )


def files_entry(ticket_id: str, source: str, source_id: object, at: datetime, files: list[dict[str, Any]]) -> Activity:
    """The description's attachments (metadata and the source's URL: the bytes are not copied),
    an internal system entry since the description itself is not on the timeline."""
    return Activity(
        id=activity_id(at, source, f"files{source_id}"),
        ticket_id=ticket_id,
        type="system",
        visibility="internal",
        actor_id=SYSTEM_ACTOR,
        at=at,
        fields={"event": "imported_files", "source": source, "files": files},
    )


def last_activity_status(ticket: Ticket, activities: Iterable[Activity]) -> str:
    """Solved and closed tickets are `read`; otherwise who wrote the last public reply decides
    (the requester or a CC: waiting on an agent; anyone else: waiting on the contact)."""
    if ticket.status_category in ("resolved", "closed"):
        return "read"
    last = [a for a in activities if a.visibility == "public"]
    if not last:
        return "unread"
    author = last[-1].actor_id
    return "waiting_on_agent" if author == ticket.requester_id or author in ticket.cc else "waiting_on_contact"


Resolver = Callable[[object], str | None]


def resolver(source: str, known: Iterable[DirectoryRecord]) -> Resolver:
    """Our id of a source id, if the plan creates that record (None: unknown or refused)."""
    ids = {r.source_id: r.id for r in known}

    def resolve(source_id: object) -> str | None:
        return ids.get(str(source_id)) if source_id is not None else None

    return resolve


_R = TypeVar("_R", DirectoryRecord, TicketRecord)
ExistingUser = Callable[[str], tuple[str, str] | None]
"""(id, role) of the directory's user with this normalized address, if there is one."""


class UserBook:
    """Adds a dialect's users to the plan, one person per address: the first record of an
    address creates the user unless the directory (`existing`) has one; any other record with
    that address becomes that user (`matched`: its id and role, the directory's record unchanged)."""

    def __init__(self, plan: Plan, existing: ExistingUser | None = None) -> None:
        self._plan = plan
        self._existing = existing
        self._seen: dict[str, tuple[str, str]] = {}

    def add(self, record: DirectoryRecord) -> None:
        address = normalize_address(str(record.data.get("email") or ""))
        if address:
            found = self._seen.get(address) or (self._existing(address) if self._existing else None)
            if found is not None and found[0] != record.id:  # (its own id: an earlier run created it)
                user_id, role = found
                record = replace(record, id=user_id, matched=True, data={**record.data, "role": role})
            self._seen.setdefault(address, (record.id, str(record.data["role"])))
        self._plan.users.append(record)

    def users(self) -> Resolver:
        return resolver(self._plan.source, self._plan.users)

    def staff(self) -> Resolver:
        """Agents and admins (as the directory has them, for matched users)."""
        return resolver(self._plan.source, [u for u in self._plan.users if u.data["role"] != "customer"])


def file_metadata(name: object, content_type: object, size: object, url: object) -> dict[str, Any]:
    """An attachment as an import keeps it: metadata and the source's URL (the bytes stay there)."""
    return {
        "filename": str(name or ""),
        "content_type": str(content_type or "application/octet-stream"),
        "size": int(str(size or 0)),
        "url": str(url or ""),
    }


def organization_record(source: str, raw: Mapping[str, Any], domains: Iterable[object]) -> DirectoryRecord | Refusal:
    """A source's organization (Zendesk's organization, Freshdesk's company), its mail domains kept."""
    created = parse_time(raw.get("created_at"))
    if not raw.get("name") or created is None:
        return Refusal("organization", str(raw.get("id")), "no name or creation time")
    return DirectoryRecord(
        "organization",
        directory_id(source, raw["id"]),
        str(raw["id"]),
        str(raw["name"]),
        {"domains": mail_domains(domains)},
        created,
    )


def team_record(source: str, raw: Mapping[str, Any], created: datetime) -> DirectoryRecord:
    """A source's group, as a team."""
    return DirectoryRecord(
        "team",
        directory_id(source, raw["id"]),
        str(raw["id"]),
        str(raw.get("name") or raw["id"]),
        {"description": str(raw.get("description") or "")},
        created,
    )


def items_of(export: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    """The records of one endpoint (anything that is not an object is ignored)."""
    return [item for item in export.get(name) or [] if isinstance(item, Mapping)]


def check_references(
    source_id: str, assignee: object, users: Resolver, staff: Resolver, references: Iterable[tuple[str, object, Resolver]]
) -> Refusal | None:
    """A ticket naming a record the plan does not create (or refused) is refused; so is one
    assigned to a user who is a customer here (an agent matched by address to a customer)."""
    if assignee is not None and staff(assignee) is None and users(assignee) is not None:
        return Refusal("ticket", source_id, f"assignee {assignee} is not an agent here")
    for name, value, resolve in [("assignee", assignee, staff), *references]:
        if value is not None and resolve(value) is None:
            return Refusal("ticket", source_id, f"unknown {name} {value}")
    return None


def keep(plan: Plan, records: list[_R], mapped: Iterable[_R | Refusal]) -> None:
    """Each mapped record into `records` (a list of the plan's), each refusal into the plan's."""
    for record in mapped:
        if isinstance(record, Refusal):
            plan.refused.append(record)
        else:
            records.append(record)
