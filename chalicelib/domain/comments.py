"""Replies and internal notes: who a reply counts as, how the activity status moves, what a
comment may carry, closing a ticket and the requester's feedback."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from chalicelib.domain.bodies import prepare_body
from chalicelib.domain.errors import Conflict, FieldError, NotAllowed, ValidationFailed
from chalicelib.domain.tickets import Ticket
from chalicelib.domain.timestamps import iso
from chalicelib.domain.visibility import Caller, is_end_user_of

MAX_NOTIFY = 10
FEEDBACK_COMMENT_MAX = 5_000
FEEDBACK_COMMENT_MAX_BYTES = 16 * 1024  # on the ticket item
Relation = Literal["agent", "requester"]


# -- who a reply counts as, and the activity status ----------------------------------------
def author_relation(caller: Caller, ticket: Ticket) -> Relation:
    """Seed 004: a reply counts as the end user's or the technician's by the author's relation
    to the ticket: the assigned agent is staff; the requester or a CC'd user (even an agent
    who opened a ticket for themself) is the end user; other staff are staff."""
    if caller.is_staff and ticket.assignee_id == caller.user_id:
        return "agent"
    if is_end_user_of(caller, ticket):
        return "requester"
    return "agent" if caller.is_staff else "requester"


def activity_status_after_reply(current: str, relation: Relation, visibility: str) -> str:
    """Agent public reply → waiting on contact; end-user reply → waiting on agent; an agent's
    internal note means the ticket was read (unread → read) and waits as before."""
    if relation == "requester":
        return "waiting_on_agent" if visibility == "public" else current
    if visibility == "public":
        return "waiting_on_contact"
    return "read" if current == "unread" else current


def activity_status_on_open(caller: Caller, ticket: Ticket) -> str | None:
    """The new activity status when `caller` opens the ticket, or None (nothing to write)."""
    if caller.is_staff and ticket.assignee_id == caller.user_id and ticket.activity_status == "unread":
        return "read"
    return None


# -- comments --------------------------------------------------------------------------
def closed_notice(ticket: Ticket) -> str:
    """Seed 002: a closed ticket points the customer to a new ticket that references it."""
    return (
        f"Ticket #{ticket.number} is closed. To follow up, open a new ticket and reference "
        f"ticket #{ticket.number} (id {ticket.id})."
    )


def check_comment(
    caller: Caller, ticket: Ticket, *, visibility: str, status: str | None, notify: Sequence[str], cc: Sequence[str] = ()
) -> Relation:
    """Whether the caller may post this comment; the relation it counts as. Of the customers,
    only the requester adds CCs (a CC'd user may not widen who reads the ticket)."""
    if not caller.is_staff:
        cc_by_other = bool(cc) and ticket.requester_id != caller.user_id
        given_fields = (("status", status is not None), ("notify", bool(notify)), ("cc", cc_by_other))
        forbidden = [name for name, given in given_fields if given]
        if visibility != "public":
            forbidden.insert(0, "visibility")
        if forbidden:
            raise NotAllowed.for_fields(forbidden, "customers post public replies only")
        if not is_end_user_of(caller, ticket):
            # Seed 002: a ticket submitted by someone else cannot be replied to (org admins
            # read their organization's tickets but answer only their own or where CC'd).
            raise NotAllowed("only the ticket's requester and CC'd users can reply to it")
    if notify and visibility != "internal":
        raise ValidationFailed([FieldError("notify", "@notify is for internal notes")])
    if len(notify) > MAX_NOTIFY:
        raise ValidationFailed([FieldError("notify", f"at most {MAX_NOTIFY} agents")])
    if ticket.is_closed and visibility == "public":
        raise Conflict(closed_notice(ticket))
    return author_relation(caller, ticket)


def check_cc_by_customer(caller: Caller, organization_id: str | None, cc_orgs: Sequence[tuple[str, str | None]]) -> None:
    """Customers CC only users of the ticket's organization: anyone CC'd reads its public thread.
    `cc_orgs` is each requested user with their organization (None: none, or no such user, one
    answer for both so the check is no directory oracle). Staff CC whom they decide."""
    if caller.is_staff:
        return
    errors = [
        FieldError(f"cc[{i}]", "customers CC users of the ticket's organization only")
        for i, (_, org) in enumerate(cc_orgs)
        if organization_id is None or org != organization_id
    ]
    if errors:
        raise ValidationFailed(errors)


def comment_type(visibility: str) -> str:
    """A public reply is a `comment`; an internal one is a `note` (seed 004)."""
    return "comment" if visibility == "public" else "note"


def merged_cc(ticket: Ticket, added: Sequence[str]) -> list[str]:
    """The ticket's CC list after a comment CCs more users (the requester is never a CC)."""
    merged = list(ticket.cc)
    for user in added:
        if user != ticket.requester_id and user not in merged:
            merged.append(user)
    return merged


# -- close and feedback -----------------------------------------------------------------
def check_close(caller: Caller, ticket: Ticket) -> None:
    """Seed 002: the ticket's owner closes it: its requester, their org admin, or staff."""
    if ticket.is_closed:
        raise Conflict(closed_notice(ticket))
    if caller.is_staff or ticket.requester_id == caller.user_id:
        return
    if caller.org_admin and caller.org_id is not None and caller.org_id == ticket.organization_id:
        return
    raise NotAllowed("only the requester, their organization's admin or an agent can close a ticket")


def feedback_record(caller: Caller, ticket: Ticket, rating: int, comment: str, now: datetime) -> dict[str, Any]:
    """The feedback a requester leaves once on a closed ticket."""
    if ticket.requester_id != caller.user_id:
        raise NotAllowed("only the ticket's requester can leave feedback")
    if not ticket.is_closed:
        raise Conflict("feedback is for closed tickets; close the ticket first")
    if ticket.feedback is not None:
        raise Conflict("feedback was already left for this ticket; thank you")
    if not 1 <= rating <= 5:
        raise ValidationFailed([FieldError("rating", "must be 1 to 5")])
    text = prepare_body(comment, FEEDBACK_COMMENT_MAX, FEEDBACK_COMMENT_MAX_BYTES).text
    return {"rating": rating, "comment": text, "created_at": iso(now)}
