"""Who may see which ticket, and what each role may do."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.domain.tickets import Ticket


@dataclass(frozen=True)
class Caller:
    """The authenticated user of one request; built from the token's claims."""

    user_id: str
    role: str  # admin | agent | customer
    name: str = ""
    email: str = ""
    org_id: str | None = None
    org_admin: bool = False
    teams: frozenset[str] = field(default_factory=frozenset)
    access: str = "team"  # agents: all | team | assigned

    @property
    def is_staff(self) -> bool:
        return self.role in ("agent", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def sees_everything(self) -> bool:
        return self.role == "admin" or (self.role == "agent" and self.access == "all")


def can_see(caller: Caller, ticket: Ticket) -> bool:
    """API.md's visibility rules. Deleted tickets are visible to nobody."""
    return Audience.of(ticket).admits(caller)


def can_see_even_if_deleted(caller: Caller, ticket: Ticket) -> bool:
    """Visibility by the ticket's relations alone (restore needs it for deleted tickets)."""
    return Audience.of(ticket).relates_to(caller)


@dataclass(frozen=True)
class Audience:
    """The fields a ticket's visibility depends on, and the tickets merged into it: what the
    timeline head keeps, so a timeline page needs no read of the ticket itself."""

    requester_id: str
    cc: tuple[str, ...]
    organization_id: str | None
    team_id: str | None
    assignee_id: str | None
    deleted: bool
    merged_from: tuple[str, ...]
    merged_staff_only: tuple[str, ...] = ()

    @classmethod
    def of(cls, ticket: Ticket) -> Audience:
        return cls(
            requester_id=ticket.requester_id,
            cc=tuple(ticket.cc),
            organization_id=ticket.organization_id,
            team_id=ticket.team_id,
            assignee_id=ticket.assignee_id,
            deleted=ticket.is_deleted,
            merged_from=tuple(ticket.merged_from),
            merged_staff_only=tuple(ticket.merged_staff_only),
        )

    def merged_for(self, caller: Caller) -> tuple[str, ...]:
        """The merged tickets whose entries the caller reads on this ticket's timeline."""
        if caller.is_staff:
            return self.merged_from
        return tuple(t for t in self.merged_from if t not in self.merged_staff_only)

    def admits(self, caller: Caller) -> bool:
        """`can_see` of the ticket these fields came from."""
        return not self.deleted and self.relates_to(caller)

    def relates_to(self, caller: Caller) -> bool:
        """Visibility by the ticket's relations alone, deleted or not."""
        return sees_ticket_fields(
            caller,
            requester_id=self.requester_id,
            cc=list(self.cc),
            organization_id=self.organization_id,
            team_id=self.team_id,
            assignee_id=self.assignee_id,
        )


def sees_ticket_fields(
    caller: Caller,
    *,
    requester_id: str,
    cc: list[str],
    organization_id: str | None,
    team_id: str | None,
    assignee_id: str | None,
) -> bool:
    if caller.sees_everything:
        return True
    if caller.role == "agent":
        if assignee_id == caller.user_id:
            return True
        if caller.access == "team":
            return team_id is None or team_id in caller.teams
        return False
    if requester_id == caller.user_id or caller.user_id in cc:
        return True
    return caller.org_admin and caller.org_id is not None and organization_id == caller.org_id


def is_end_user_of(caller: Caller, ticket: Ticket) -> bool:
    """Whether the caller acts as the ticket's end user (requester or CC) rather than as staff."""
    return ticket.requester_id == caller.user_id or caller.user_id in ticket.cc


# Ticket properties customers never receive (api/views.AGENT_ONLY is built from this).
AGENT_ONLY_PROPERTIES = frozenset(
    {
        "team_id",
        "followers",
        "tags",
        "activity_status",
        "sentiment",
        "sla",
        "time_spent_minutes",
        "merged_from",
        "merged_staff_only",
    }
)
