"""The conversation on a ticket: replies, notes, logged activities and their timeline, edits,
restores, comments on activities, follow, close and feedback.

Every write of the ticket goes through `TicketService.write` (one version-conditioned
transaction, retried on a lost race) with its timeline entries in the same transaction.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from chalicelib.domain import sentiment
from chalicelib.domain.activities import (
    Activity,
    TimelineFilter,
    activity_comment,
    actor_teams,
    can_edit,
    check_restorable,
    edit_activity,
    property_change_activities,
    validate_activity,
    visible_to,
)
from chalicelib.domain.bodies import prepare_body
from chalicelib.domain.comments import (
    activity_status_after_reply,
    check_cc_by_customer,
    check_close,
    check_comment,
    closed_notice,
    comment_type,
    feedback_record,
    merged_cc,
)
from chalicelib.domain.errors import Conflict, FieldError, NotAllowed, NotFound, TicketNotFound, ValidationFailed, VersionConflict
from chalicelib.domain.events import (
    ACTIVITY_COMMENTED,
    ACTIVITY_DELETED,
    ACTIVITY_RESTORED,
    ACTIVITY_UPDATED,
    COMMENT_CREATED,
    FEEDBACK_RECEIVED,
)
from chalicelib.domain.followers import with_follower
from chalicelib.domain.sla import activity_signals, comment_signals
from chalicelib.domain.tickets import MAX_CC, Change, Ticket, apply_patch
from chalicelib.domain.timestamps import iso
from chalicelib.domain.visibility import Audience, Caller
from chalicelib.services.statuses import StatusCatalogCache
from chalicelib.services.tickets import UPDATE_ATTEMPTS, TicketService, TicketWrite, backoff
from chalicelib.services.timeline_cursor import TimelinePosition
from chalicelib.services.workspace_settings import WorkspaceSettings
from chalicelib.storage import keys
from chalicelib.storage.activities import ActivityRepository, Revision, items_for, new_activity_id
from chalicelib.storage.events import ticket_event_item
from chalicelib.storage.tickets import ExistenceCheck, Put


@dataclasses.dataclass(frozen=True)
class Posted:
    activity: Activity
    ticket: Ticket


class ConversationService:
    def __init__(
        self,
        tickets: TicketService,
        activities: ActivityRepository,
        statuses: StatusCatalogCache,
        settings: WorkspaceSettings,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._tickets = tickets
        self._activities = activities
        self._statuses = statuses
        self._settings = settings
        self._sleep = sleep

    # -- replies and notes -----------------------------------------------------------
    def comment(
        self,
        caller: Caller,
        ticket_id: str,
        *,
        body: str,
        visibility: str | None,
        cc: Sequence[str],
        notify: Sequence[str],
        status: str | None,
        now: datetime,
        activity_id: str | None = None,
        fields: Mapping[str, Any] | None = None,
        also_put: Sequence[Put] = (),
        attachments: Sequence[Mapping[str, Any]] = (),
        properties: Mapping[str, Any] | None = None,
        read: Ticket | None = None,
    ) -> Posted:
        """A public reply or internal note and the ticket change it causes, in one transaction.
        Channels (inbound mail) may name the activity's id, its `fields`, its already stored
        `attachments` and items that commit with it (`also_put`: the Message-ID claim, the
        attachment records). Staff may change other `properties` in the same write (the
        Zendesk layer's update with a comment: both or neither); a caller that already `read`
        the ticket passes it (`TicketService.write`)."""
        if properties and not caller.is_staff:
            raise NotAllowed.for_fields(sorted(properties), "only agents and admins may change ticket properties")
        if visibility is None:
            visibility = self._settings.default_reply_visibility() if caller.is_staff else "public"
        prepared = prepare_body(body)
        if not prepared.text.strip():
            raise ValidationFailed([FieldError("body", "is empty once unsafe markup is removed")])
        cc, notify = list(dict.fromkeys(cc)), list(dict.fromkeys(notify))
        activity_id = activity_id or new_activity_id(now)  # one id across retries: a retry never posts twice
        posted: dict[str, Activity] = {}
        cc_orgs = self._tickets.user_organizations(cc[: MAX_CC + 1]) if cc and not caller.is_staff else []

        def change(current: Ticket) -> TicketWrite:
            relation = check_comment(caller, current, visibility=visibility, status=status, notify=notify, cc=cc)
            check_cc_by_customer(caller, current.organization_id, cc_orgs)
            updated, changes = current, []
            patch = {**(properties or {}), **({"status": status} if status is not None else {})}
            if patch:
                catalog = self._statuses.catalog(must_know=patch.get("status"))
                updated, changes = apply_patch(current, patch, catalog=catalog, now=now)
                if updated.assignee_id != current.assignee_id:
                    updated.assignee_name = self._tickets.display_name(caller, updated.assignee_id)
            new_cc = merged_cc(updated, cc)
            if len(new_cc) > MAX_CC:
                raise ValidationFailed([FieldError("cc", f"a ticket has at most {MAX_CC} CC'd users")])
            if new_cc != updated.cc:
                changes = [*changes, Change("cc", list(updated.cc), new_cc)]
            customer_reply = relation == "requester" and visibility == "public"
            updated = dataclasses.replace(
                updated,
                cc=new_cc,
                last_activity_at=now,
                updated_at=now,
                activity_status=activity_status_after_reply(current.activity_status, relation, visibility),
                sentiment=sentiment.after_customer_comment(current.sentiment, prepared.text)
                if customer_reply
                else current.sentiment,
                version=current.version + 1,
            )
            activity = Activity(
                id=activity_id,
                ticket_id=current.id,
                type=comment_type(visibility),
                visibility=visibility,
                actor_id=caller.user_id,
                at=now,
                body=prepared.text,
                truncated=prepared.truncated,
                team_ids=actor_teams(caller),
                cc=[user for user in cc if user in new_cc],
                notify=notify,
                fields=dict(fields or {}),
                attachments=[dict(a) for a in attachments],
            )
            posted["activity"] = activity
            checks = self._tickets.reference_checks(updated, {c.property for c in changes} - {"cc"})
            checks += [ExistenceCheck("cc", keys.directory_pk("user"), user) for user in new_cc if user not in current.cc]
            checks += [ExistenceCheck.staff("notify", user) for user in notify]
            entries = [activity, *property_change_activities(current.id, changes, caller, now, lambda: new_activity_id(now))]
            extra = {"comment_id": activity_id, "visibility": visibility}
            signals = comment_signals(caller.is_staff, visibility)
            items: list[Put] = [*items_for(entries), *also_put]
            return TicketWrite(updated, changes, checks, items, COMMENT_CREATED, extra, signals=signals)

        ticket = self._tickets.write(caller, ticket_id, change, now=now, read=read)
        return Posted(posted["activity"], ticket)

    def log_activity(self, caller: Caller, ticket_id: str, values: Mapping[str, Any], now: datetime) -> Posted:
        """A call, meeting, task, email or note logged on the ticket (bumps its last activity)."""
        self._require_staff(caller)
        values = dict(values)
        activity_type = values.pop("type")
        visibility = values.pop("visibility", None) or "internal"
        subject = values.pop("subject", None)
        raw_body = values.pop("body", None)
        notify = list(dict.fromkeys(values.pop("notify", None) or []))
        if notify and activity_type != "note":
            raise ValidationFailed([FieldError("notify", "@notify is for internal notes")])
        prepared = prepare_body(raw_body) if raw_body is not None else None
        body = prepared.text if prepared else None
        fields = validate_activity(activity_type, visibility, subject, body, values)
        activity = Activity(
            id=new_activity_id(now),
            ticket_id=ticket_id,
            type=activity_type,
            visibility=visibility,
            actor_id=caller.user_id,
            at=now,
            subject=subject,
            body=body,
            fields=fields,
            truncated=bool(prepared and prepared.truncated),
            team_ids=actor_teams(caller),
            notify=notify,
        )
        checks = [ExistenceCheck.staff("notify", user) for user in notify]

        def change(current: Ticket) -> TicketWrite:
            updated = dataclasses.replace(current, last_activity_at=now, updated_at=now, version=current.version + 1)
            extra = {"activity_id": activity.id, "activity_type": activity.type}
            signals = activity_signals(activity_type, visibility)
            return TicketWrite(updated, [], list(checks), items_for([activity]), event_extra=extra, signals=signals)

        ticket = self._tickets.write(caller, ticket_id, change, now=now)
        return Posted(activity, ticket)

    # -- the timeline ----------------------------------------------------------------
    def timeline(
        self, caller: Caller, ticket_id: str, flt: TimelineFilter, *, limit: int, after: str | None, now: datetime
    ) -> tuple[list[Activity], str | None]:
        """One Query per page: staff read the ticket's partition, everyone else the public index
        partition, which holds no internal or deleted entry.

        Every page checks access: a first page starts at the timeline head, which answers who may
        read it; a later page reads the head alone first (GetItem + Query), so someone who lost
        access (un-CC'd, moved team, ticket deleted) gets 404 on the very next page. A merge
        target also reads each merged source's partition: one Query more per source
        (docs/decisions.md, "Merge", "Timeline in one call" and "Who may do what").
        """
        public_only = not caller.is_staff
        position = TimelinePosition.decode(after) if after is not None else None
        first = None
        if position is None:
            first = self._activities.page(ticket_id, public_only=public_only, flt=flt, limit=limit, after=None, with_head=True)
            audience = first.audience
        else:
            audience = self._activities.head(ticket_id)
        if audience is None:
            # No head yet: a ticket written before heads existed, or the public index still
            # catching up with a new ticket. The ticket decides; the page is read again.
            audience, first = Audience.of(self._tickets.get(caller, ticket_id)), None
        elif not audience.admits(caller):
            raise TicketNotFound("ticket not found")
        if not caller.is_staff:
            forbidden = [name for name, given in (("team_id", flt.team_id), ("deleted", flt.deleted)) if given]
            if forbidden:
                raise NotAllowed.for_fields(forbidden, "agents only")
        page = self._activities.page_merged(
            [ticket_id, *audience.merged_for(caller)],
            public_only=public_only,
            flt=flt,
            limit=limit,
            after=position.sk if position else None,
            first=first,
        )
        following = TimelinePosition(page.last).encode() if page.last else None
        return [a for a in page.activities if visible_to(caller, a)], following

    def activity(self, caller: Caller, ticket_id: str, activity_id: str) -> Activity:
        self._tickets.get(caller, ticket_id)
        return self._find(caller, ticket_id, activity_id)

    def activity_history(
        self, caller: Caller, ticket_id: str, activity_id: str, *, limit: int, after: str | None
    ) -> tuple[list[Revision], str | None]:
        self._require_staff(caller)
        self._tickets.get(caller, ticket_id)
        return self._activities.revisions(ticket_id, activity_id, limit=limit, after=after)

    # -- changing an activity ----------------------------------------------------------
    def edit(
        self,
        caller: Caller,
        ticket_id: str,
        activity_id: str,
        values: Mapping[str, Any],
        *,
        expected_version: int | None,
        now: datetime,
    ) -> Activity:
        """Pin/unpin (any agent) and content edits (the author; kept as revisions)."""
        self._require_staff(caller)
        values = dict(values)
        pinned = values.pop("pinned", None)
        subject = values.pop("subject", None)
        body = values.pop("body", None)
        content = subject is not None or body is not None or any(v is not None for v in values.values())

        def change(current: Activity) -> tuple[Activity, Revision | None] | None:
            if current.is_deleted:
                raise Conflict("the activity is deleted; restore it first")
            new, changed = current, {}
            if content:
                if not can_edit(caller, current):
                    if current.type in ("system", "chat") or current.version is None:
                        raise Conflict("system entries and transcripts cannot be edited")
                    raise NotAllowed("only the author or an admin can edit an activity")
                new, changed = edit_activity(current, subject=subject, body=body, values=values, now=now)
            if pinned is not None and pinned != current.pinned:
                new = dataclasses.replace(new, pinned=pinned)
            if new == current:
                return None
            revision = Revision(current.id, caller.user_id, now, changed) if changed else None
            return new, revision

        return self._change_activity(caller, ticket_id, activity_id, change, expected_version, ACTIVITY_UPDATED, now)

    def delete(self, caller: Caller, ticket_id: str, activity_id: str, *, expected_version: int | None, now: datetime) -> None:
        """Soft delete, restorable for 90 days (the entry also leaves the customers' index)."""
        self._require_staff(caller)

        def change(current: Activity) -> tuple[Activity, Revision | None] | None:
            if current.type == "system":
                raise Conflict("system entries are the ticket's record and cannot be deleted")
            if current.is_deleted:
                return None
            deleted = dataclasses.replace(current, deleted_at=now)
            return deleted, Revision(current.id, caller.user_id, now, {"deleted_at": {"old": None, "new": iso(now)}})

        self._change_activity(caller, ticket_id, activity_id, change, expected_version, ACTIVITY_DELETED, now)

    def restore(self, caller: Caller, ticket_id: str, activity_id: str, now: datetime) -> Activity:
        self._require_staff(caller)

        def change(current: Activity) -> tuple[Activity, Revision | None] | None:
            if not current.is_deleted:
                return None
            check_restorable(current, now)
            assert current.deleted_at is not None
            old = iso(current.deleted_at)
            return dataclasses.replace(current, deleted_at=None), Revision(
                current.id, caller.user_id, now, {"deleted_at": {"old": old, "new": None}}
            )

        return self._change_activity(caller, ticket_id, activity_id, change, None, ACTIVITY_RESTORED, now)

    def comment_on_activity(self, caller: Caller, ticket_id: str, activity_id: str, body: str, now: datetime) -> dict[str, Any]:
        self._require_staff(caller)
        comment_id = uuid.uuid4().hex
        added: dict[str, dict[str, Any]] = {}

        def change(current: Activity) -> tuple[Activity, Revision | None] | None:
            if current.is_deleted:
                raise Conflict("the activity is deleted; restore it first")
            comment = activity_comment(comment_id, caller, body, now, current)
            added["comment"] = comment
            return dataclasses.replace(current, comments=[*current.comments, comment]), None

        self._change_activity(caller, ticket_id, activity_id, change, None, ACTIVITY_COMMENTED, now)
        return added["comment"]

    def _change_activity(
        self,
        caller: Caller,
        ticket_id: str,
        activity_id: str,
        change: Callable[[Activity], tuple[Activity, Revision | None] | None],
        expected_version: int | None,
        event_type: str,
        now: datetime,
    ) -> Activity:
        """Find, change, replace conditioned on the version read (with its `event_type` event in
        the same transaction); re-read and re-apply on a lost race."""
        self._tickets.get(caller, ticket_id)
        for attempt in range(UPDATE_ATTEMPTS):
            current = self._find(caller, ticket_id, activity_id)
            if expected_version is not None and current.version != expected_version:
                raise VersionConflict(f"activity is at version {current.version}")
            result = change(current)
            if result is None:
                return current
            new, revision = result
            new = dataclasses.replace(new, version=(current.version or 0) + 1)
            event = ticket_event_item(
                event_type,
                ticket_id=ticket_id,
                version=None,
                actor_id=caller.user_id,
                now=now,
                extra={"activity_id": activity_id, "activity_version": new.version},
            )
            try:
                self._activities.replace(current, new, revision, also_put=[event])
                return new
            except VersionConflict:
                if expected_version is not None:
                    raise
                self._sleep(backoff(attempt))
        raise Conflict("the activity is changing too often; retry shortly", retry_after=1)

    def _find(self, caller: Caller, ticket_id: str, activity_id: str) -> Activity:
        activity = self._activities.find(ticket_id, activity_id)
        if activity is None or not visible_to(caller, activity):
            raise NotFound("activity not found")
        return activity

    # -- follow, close, feedback ---------------------------------------------------------
    def follow(self, caller: Caller, ticket_id: str, follow: bool, now: datetime) -> Ticket:
        def change(current: Ticket) -> TicketWrite | None:
            updated, changes = with_follower(current, caller.user_id, follow, now)
            return TicketWrite(updated, changes) if changes else None

        return self._tickets.write(caller, ticket_id, change, now=now)

    def close(self, caller: Caller, ticket_id: str, now: datetime) -> tuple[Ticket, str]:
        def change(current: Ticket) -> TicketWrite:
            check_close(caller, current)
            catalog = self._statuses.catalog()
            updated, changes = apply_patch(current, {"status": "closed"}, catalog=catalog, now=now)
            updated = dataclasses.replace(updated, last_activity_at=now)
            entries = property_change_activities(current.id, changes, caller, now, lambda: new_activity_id(now), event="closed")
            return TicketWrite(updated, changes, [], items_for(entries))

        ticket = self._tickets.write(caller, ticket_id, change, now=now)
        return ticket, closed_notice(ticket)

    def feedback(self, caller: Caller, ticket_id: str, rating: int, comment: str, now: datetime) -> Ticket:
        def change(current: Ticket) -> TicketWrite:
            record = feedback_record(caller, current, rating, comment, now)
            updated = dataclasses.replace(current, feedback=record, updated_at=now, version=current.version + 1)
            entry = Activity(
                id=new_activity_id(now),
                ticket_id=current.id,
                type="system",
                visibility="public",
                actor_id=caller.user_id,
                at=now,
                fields={"event": "feedback", "rating": record["rating"], "comment": record["comment"]},
            )
            return TicketWrite(updated, [Change("feedback", None, record)], [], items_for([entry]), FEEDBACK_RECEIVED)

        return self._tickets.write(caller, ticket_id, change, now=now)

    @staticmethod
    def _require_staff(caller: Caller) -> None:
        if not caller.is_staff:
            raise NotAllowed("only agents and admins may do this")
