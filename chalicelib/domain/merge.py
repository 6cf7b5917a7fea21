"""Merging a ticket into another: which organizations may be crossed, what moves, and the entries both timelines get."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from chalicelib.domain.activities import Activity, actor_teams
from chalicelib.domain.errors import Conflict, FieldError, NotAllowed, ValidationFailed
from chalicelib.domain.links import MAX_LINKS, _check_pair
from chalicelib.domain.tickets import MAX_CC, Change, Ticket
from chalicelib.domain.timestamps import iso
from chalicelib.domain.visibility import Caller


# -- merge --------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Merge:
    target: Ticket
    target_changes: list[Change]
    source: Ticket
    source_changes: list[Change]


def crosses_organizations(target: Ticket, source: Ticket) -> bool:
    """Whether merging would put one organization's thread under another's (or no one's) ticket."""
    return target.organization_id != source.organization_id


def check_organizations(caller: Caller, target: Ticket, source: Ticket, *, force: bool) -> None:
    """A merge across organizations would show the source's replies and files to the target's
    customers: refused (409) unless an admin forces it, and then the source's thread stays
    staff-only on the target (`merge`)."""
    if not crosses_organizations(target, source):
        return
    if not force:
        raise Conflict("the tickets belong to different organizations; an admin can merge them with force")
    if not caller.is_admin:
        raise NotAllowed.for_fields(["force"], "only admins merge tickets of different organizations")


def merge(target: Ticket, source: Ticket, now: datetime) -> Merge:
    """The source merged into the target: the source is closed with `merged_into`; the target
    gains `merged_from` (the source and whatever was merged into it), its followers and CCs
    (the source's requester becomes a CC, so they keep receiving updates), its links and its
    time worked. Deleted tickets never reach here (they are not found).

    Across organizations (forced by an admin, `check_organizations`) nobody of the source gains
    the target: its CCs, requester and followers are not carried over, and the source with
    everything merged into it is `merged_staff_only` on the target."""
    _check_pair(target, source, "be merged into")
    if target.is_closed:
        raise Conflict("a closed ticket cannot receive a merge; it is read-only")
    apart = crosses_organizations(target, source)
    cc = list(dict.fromkeys([*target.cc, *([] if apart else [*source.cc, source.requester_id])]))
    cc = [user for user in cc if user != target.requester_id]
    if len(cc) > MAX_CC:
        raise ValidationFailed([FieldError("source_id", f"the merged ticket would have more than {MAX_CC} CC'd users")])
    followers = list(dict.fromkeys([*target.followers, *([] if apart else source.followers)]))
    links = [t for t in dict.fromkeys([*target.links, *source.links]) if t not in (target.id, source.id)]
    merged_from = list(dict.fromkeys([*target.merged_from, source.id, *source.merged_from]))
    staff_only = [*target.merged_staff_only, *([source.id, *source.merged_from] if apart else source.merged_staff_only)]
    new_target = dataclasses.replace(
        target,
        cc=cc,
        followers=followers,
        links=links[:MAX_LINKS],
        merged_from=merged_from,
        merged_staff_only=list(dict.fromkeys(staff_only)),
        time_spent_minutes=target.time_spent_minutes + source.time_spent_minutes,
        updated_at=now,
        last_activity_at=now,
        version=target.version + 1,
    )
    target_changes = [
        Change(name, getattr(target, name), getattr(new_target, name))
        for name in ("cc", "followers", "links", "merged_from", "merged_staff_only", "time_spent_minutes")
        if getattr(target, name) != getattr(new_target, name)
    ]
    new_source = dataclasses.replace(
        source,
        status="closed",
        status_category="closed",
        closed_at=source.closed_at or now,
        merged_into=target.id,
        updated_at=now,
        last_activity_at=now,
        version=source.version + 1,
    )
    source_changes = [
        Change(name, _plain(getattr(source, name)), _plain(getattr(new_source, name)))
        for name in ("status", "merged_into", "closed_at")
        if getattr(source, name) != getattr(new_source, name)
    ]
    return Merge(new_target, target_changes, new_source, source_changes)


def _plain(value: Any) -> Any:
    return iso(value) if isinstance(value, datetime) else value


def merge_activities(result: Merge, caller: Caller, now: datetime, target_entry_id: str, source_entry_id: str) -> list[Activity]:
    """One system entry on each timeline: customers of both tickets read that they merged, unless
    the tickets belong to different organizations (then the entries are internal: neither
    organization learns the other's ticket)."""
    target, source = result.target, result.source
    visibility = "internal" if source.id in target.merged_staff_only else "public"
    common = {"type": "system", "visibility": visibility, "actor_id": caller.user_id, "at": now, "team_ids": actor_teams(caller)}
    return [
        Activity(
            id=target_entry_id,
            ticket_id=target.id,
            fields={"event": "merged", "source_id": source.id, "source_number": source.number},
            **common,  # type: ignore[arg-type]
        ),
        Activity(
            id=source_entry_id,
            ticket_id=source.id,
            fields={"event": "merged_into", "target_id": target.id, "target_number": target.number},
            **common,  # type: ignore[arg-type]
        ),
    ]
