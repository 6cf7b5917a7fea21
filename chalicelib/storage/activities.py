"""Activity repository: a ticket's timeline entries and their edit revisions.

Keys (docs/data-model.md, "Timeline activities"): `TICKET#<id>` / `ACT#<9|1>#<activity id>`;
public, undeleted entries also carry GSI1 `PUBLIC#<ticket id>` / the same SK, so a customer's
page is one Query on an index partition that holds nothing internal. Items are read raw and
deserialized leniently: Step Functions writes entries too (`at` with millisecond precision,
`fields` as a JSON string or a map, no `version`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from pynamodb.expressions.condition import Condition

from chalicelib.domain.activities import Activity, TimelineFilter
from chalicelib.domain.errors import MalformedRequest, Unavailable, VersionConflict
from chalicelib.domain.listing import PartitionPage, merge_pages
from chalicelib.domain.timestamps import iso
from chalicelib.domain.visibility import Audience
from chalicelib.storage import keys
from chalicelib.storage.base import Repository
from chalicelib.storage.errors import TransactionCancelled, translated
from chalicelib.storage.models import ActivityItem, ActivityRevisionItem, Record, TimelineHead

PURGE_AFTER = timedelta(days=90)
_DESERIALIZER = TypeDeserializer()


@dataclass(frozen=True)
class TimelinePage:
    activities: list[Activity]
    last: str | None  # the SK to continue below, if there may be more
    audience: Audience | None = None  # from the timeline head, when the Query read it


HEAD_KIND = "timeline_head"


def _audience(raw: Mapping[str, Any]) -> Audience:
    return _head_audience(TimelineHead.from_raw_data(raw))


def _head_audience(item: TimelineHead) -> Audience:
    return Audience(
        requester_id=item.requester_id,
        cc=tuple(item.cc or ()),
        organization_id=item.organization_id,
        team_id=item.team_id,
        assignee_id=item.assignee_id,
        deleted=bool(item.deleted),
        merged_from=tuple(item.merged_from or ()),
        merged_staff_only=tuple(item.merged_staff_only or ()),
    )


@dataclass(frozen=True)
class Revision:
    activity_id: str
    actor_id: str
    at: datetime
    changes: dict[str, Any]


def parse_time(value: str) -> datetime:
    """`keys.stamp()` (microseconds) or Step Functions' `$$.State.EnteredTime` (milliseconds)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, set):
        return sorted(_plain(v) for v in value)
    return value


def _json(value: Any, default: Any) -> Any:
    if value is None:
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return default
    return value


def from_raw(raw: Mapping[str, Any]) -> Activity:
    """An activity from a raw DynamoDB item, whoever wrote it."""
    item = {name: _plain(_DESERIALIZER.deserialize(value)) for name, value in raw.items()}
    activity_id = item.get("id") or item["SK"].split("#", 2)[-1]
    version = item.get("version")
    return Activity(
        id=activity_id,
        ticket_id=item.get("ticket_id") or item["PK"].removeprefix("TICKET#"),
        type=item.get("type") or "system",
        visibility=item.get("visibility") or "internal",
        actor_id=item.get("actor_id") or "system",
        at=parse_time(item.get("at") or activity_id[:27]),
        subject=item.get("subject"),
        body=item.get("body"),
        fields=dict(_json(item.get("fields"), {}) or {}),
        pinned=bool(item.get("pinned", False)),
        truncated=bool(item.get("truncated", False)),
        team_ids=list(item.get("team_ids") or []),
        cc=list(item.get("cc") or []),
        notify=list(item.get("notify") or []),
        comments=list(_json(item.get("comments"), []) or []),
        attachments=list(_json(item.get("attachments"), []) or []),
        edited_at=parse_time(item["edited_at"]) if item.get("edited_at") else None,
        deleted_at=parse_time(item["deleted_at"]) if item.get("deleted_at") else None,
        version=int(version) if version is not None else None,
    )


def to_item(activity: Activity) -> ActivityItem:
    """The item of an activity; only public, undeleted ones get the public-index keys."""
    sk = keys.activity_sk(activity.id, activity.pinned)
    item = ActivityItem(
        keys.ticket_pk(activity.ticket_id),
        sk,
        id=activity.id,
        ticket_id=activity.ticket_id,
        type=activity.type,
        visibility=activity.visibility,
        actor_id=activity.actor_id,
        at=keys.stamp(activity.at),
        subject=activity.subject,
        body=activity.body,
        fields=activity.fields or None,
        pinned=activity.pinned,
        truncated=activity.truncated or None,
        team_ids=activity.team_ids or None,
        search_text=activity.search_text,
        cc=activity.cc or None,
        notify=activity.notify or None,
        comments=activity.comments or None,
        attachments=activity.attachments or None,
        edited_at=keys.stamp(activity.edited_at) if activity.edited_at else None,
        deleted_at=keys.stamp(activity.deleted_at) if activity.deleted_at else None,
        ttl=activity.deleted_at + PURGE_AFTER if activity.deleted_at else None,
        version=activity.version if activity.version is not None else 1,
    )
    if activity.is_public and not activity.is_deleted:
        item.GSI1PK = keys.public_timeline_pk(activity.ticket_id)
        item.GSI1SK = sk
    return item


def new_activity_id(at: datetime) -> str:
    """A time-ordered activity id (`keys.activity_id`) with a random suffix."""
    return keys.activity_id(at, uuid.uuid4().hex)


def _filters(flt: TimelineFilter) -> Condition | None:
    conditions: list[Condition] = [ActivityItem.deleted_at.exists() if flt.deleted else ActivityItem.deleted_at.does_not_exist()]
    if flt.type:
        conditions.append(ActivityItem.type == flt.type)
    if flt.actor_id:
        conditions.append(ActivityItem.actor_id == flt.actor_id)
    if flt.team_id:
        conditions.append(ActivityItem.team_ids.contains(flt.team_id))
    if flt.q:
        conditions.append(ActivityItem.search_text.contains(flt.q))
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = combined & condition
    return combined


class ActivityRepository(Repository):
    # -- reads -----------------------------------------------------------------------
    def page(
        self,
        ticket_id: str,
        *,
        public_only: bool,
        flt: TimelineFilter,
        limit: int,
        after: str | None,
        with_head: bool = False,
    ) -> TimelinePage:
        """One Query, newest first with pinned entries first (descending `ACT#9#…` > `ACT#1#…`).

        Staff read the ticket's own partition; customers read GSI1 `PUBLIC#<ticket id>`, which
        holds only public, undeleted entries. `after` is the SK to continue strictly below.
        `with_head` (first pages) starts the range at the timeline head `ACT#~`, which sorts
        above every entry, so the same Query also answers who may read the timeline.
        """
        if after is not None and not after.startswith(keys.ACTIVITY_PREFIX):
            raise MalformedRequest("cursor does not belong to this timeline")
        if public_only:
            hash_key, index_name, sort_attr = keys.public_timeline_pk(ticket_id), "GSI1", ActivityItem.GSI1SK
            # Deleted entries leave the public index, so only the other filters apply.
            flt = TimelineFilter(flt.type, flt.actor_id, flt.team_id, flt.q, deleted=False)
        else:
            hash_key, index_name, sort_attr = keys.ticket_pk(ticket_id), None, ActivityItem.SK
        top = keys.TIMELINE_HEAD_SK if with_head and after is None else keys.LAST_ACTIVITY_SK
        range_condition = sort_attr.between(keys.ACTIVITY_PREFIX, top if after is None else keys.before(after))
        condition = _filters(flt)
        if top == keys.TIMELINE_HEAD_SK:
            condition = (Record.kind == TimelineHead) | condition
            limit += 1  # the head takes one place of the page
        # The connection-level query adds no `kind` filter: workflow-written entries count too.
        with translated():
            page = ActivityItem._get_connection().query(
                hash_key,
                range_key_condition=range_condition,
                filter_condition=condition,
                index_name=index_name,
                limit=limit,
                scan_index_forward=False,
            )
        raws = page.get("Items", [])
        head = _audience(raws[0]) if raws and raws[0].get("kind", {}).get("S") == HEAD_KIND else None
        activities = [from_raw(raw) for raw in raws[1 if head else 0 :]]
        last = page.get("LastEvaluatedKey")
        return TimelinePage(activities, last["SK"]["S"] if last else None, head)

    def head(self, ticket_id: str) -> Audience | None:
        """The timeline head alone (one consistent GetItem): who may read a later page."""
        with translated():
            try:
                item = TimelineHead.get(keys.ticket_pk(ticket_id), keys.TIMELINE_HEAD_SK, consistent_read=True)
            except TimelineHead.DoesNotExist:
                return None
        return _head_audience(item)

    def page_merged(
        self,
        ticket_ids: Sequence[str],
        *,
        public_only: bool,
        flt: TimelineFilter,
        limit: int,
        after: str | None,
        first: TimelinePage | None = None,
    ) -> TimelinePage:
        """A timeline over a ticket and the tickets merged into it: one Query per ticket, merged
        by SK (activity ids are `<stamp>-<random>`, unique across tickets, so one SK position
        continues every partition). Only entries above every unfinished partition's last key
        are returned, so nothing is skipped. `first` is the first ticket's page if already read."""
        pages = []
        for index, ticket_id in enumerate(ticket_ids):
            if index == 0 and first is not None:
                part = first
            else:
                part = self.page(ticket_id, public_only=public_only, flt=flt, limit=limit, after=after)
            if len(ticket_ids) == 1:
                return part
            rows = [{"sk": keys.activity_sk(a.id, a.pinned), "a": a} for a in part.activities]
            pages.append(PartitionPage(rows, part.last))
        chosen, position = merge_pages(pages, limit=limit, descending=True, sort_key=lambda row: str(row["sk"]))
        return TimelinePage([row["a"] for row in chosen], position, first.audience if first else None)

    def find(self, ticket_id: str, activity_id: str) -> Activity | None:
        """One BatchGetItem of the activity's two possible keys (pinned or not), consistent."""
        pk = keys.ticket_pk(ticket_id)
        wanted = [{"PK": pk, "SK": keys.activity_sk(activity_id, pinned)} for pinned in (True, False)]
        with translated():
            response = ActivityItem._get_connection().batch_get_item(wanted, consistent_read=True)
        if response.get("UnprocessedKeys"):
            raise Unavailable("the data store is busy; retry shortly")
        items = next(iter(response.get("Responses", {}).values()), [])
        return from_raw(items[0]) if items else None

    def revisions(self, ticket_id: str, activity_id: str, *, limit: int, after: str | None) -> tuple[list[Revision], str | None]:
        """An activity's edits, newest first: one Query on `ACTREV#<activity id>#`."""
        prefix = f"{keys.ACTIVITY_REVISION_PREFIX}{activity_id}#"
        condition = ActivityRevisionItem.SK.startswith(prefix)
        if after is not None:
            if not after.startswith(prefix):
                raise MalformedRequest("cursor does not belong to this list")
            condition = ActivityRevisionItem.SK.between(prefix, keys.before(after))
        with translated():
            results = ActivityRevisionItem.query(
                keys.ticket_pk(ticket_id), condition, scan_index_forward=False, limit=limit, page_size=limit
            )
            page = next(results.page_iter)
        items = [ActivityRevisionItem.from_raw_data(raw) for raw in page.get("Items", [])]
        revisions = [Revision(i.activity_id, i.actor_id, parse_time(i.at), dict(i.changes or {})) for i in items]
        last = page.get("LastEvaluatedKey")
        return revisions, (last["SK"]["S"] if last else None)

    # -- writes ----------------------------------------------------------------------
    def replace(self, old: Activity, new: Activity, revision: Revision | None = None, also_put: Sequence[Record] = ()) -> None:
        """One transaction conditioned on the version read: the new item (moved if the pin
        changed: delete + put), the revision of an edit and `also_put` (its event). A lost race
        is VersionConflict."""
        condition = ActivityItem.version == old.version if old.version is not None else ActivityItem.version.does_not_exist()
        condition = ActivityItem.PK.exists() & condition
        moved = old.pinned != new.pinned
        try:
            with translated(), self._transaction() as tx:
                if moved:
                    stale = ActivityItem(keys.ticket_pk(old.ticket_id), keys.activity_sk(old.id, old.pinned))
                    tx.delete(stale, condition=condition)
                    tx.save(to_item(new), condition=ActivityItem.PK.does_not_exist())
                else:
                    tx.save(to_item(new), condition=condition)
                if revision is not None:
                    tx.save(
                        ActivityRevisionItem(
                            keys.ticket_pk(old.ticket_id),
                            keys.activity_revision_sk(revision.activity_id, revision.at),
                            activity_id=revision.activity_id,
                            actor_id=revision.actor_id,
                            at=iso(revision.at),
                            changes=revision.changes,
                        )
                    )
                for item in also_put:
                    tx.save(item)
        except TransactionCancelled as cancelled:
            if cancelled.failed_keys():
                raise VersionConflict("the activity changed meanwhile") from cancelled
            raise Unavailable("the activity is being changed by another request; retry", retry_after=1) from cancelled


def items_for(activities: Sequence[Activity]) -> list[Record]:
    """Items to put in a ticket's own transaction (`TicketRepository.update(also_put=...)`)."""
    return [to_item(activity) for activity in activities]
