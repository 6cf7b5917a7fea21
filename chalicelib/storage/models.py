"""PynamoDB models of the single table. Table name and endpoint are bound at start-up (bind)."""

from __future__ import annotations

import threading

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import TableConnection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib import config

# PynamoDB builds a connection per model class, and each connection a botocore session of its own
# (per thread): the first use of every further item type loaded botocore's endpoint and DynamoDB
# models again (~0.2 s of a cold request each). Every connection shares one session per thread
# (botocore sessions are not thread-safe; clients built from one are); bind() starts new ones,
# as new connections had before.
_sessions = threading.local()


def botocore_sessions() -> threading.local:
    """Where every connection keeps its per-thread botocore session."""
    return _sessions


class Record(Model):
    """Root of every item type; `kind` tells them apart when one query returns several."""

    class Meta:
        table_name = "helpdesk-unbound"
        region = "us-east-1"
        max_retry_attempts = 3

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()

    @classmethod
    def _get_connection(cls) -> TableConnection:
        table = super()._get_connection()
        table.connection._local = _sessions  # where pynamodb keeps its per-thread session
        return table


def bind(table_name: str, region: str | None = None, host: str | None = None) -> None:
    """Point every model at the deployment's table (called by the composition root)."""
    env = config.environ()
    Record.Meta.table_name = table_name
    Record.Meta.region = region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    Record.Meta.host = host
    global _sessions
    _sessions = threading.local()
    # Connections are cached per class; drop them so the new binding takes effect.
    for cls in [Record, *Record.kind.get_registered_subclasses(Record)]:
        cls._connection = None


class ByActivity(GlobalSecondaryIndex["TicketEntry"]):
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class ByCreation(GlobalSecondaryIndex["TicketEntry"]):
    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI2SK = UnicodeAttribute(range_key=True)


class ByEmail(GlobalSecondaryIndex["DirectoryItem"]):
    class Meta:
        index_name = "GSI3"
        projection = AllProjection()

    GSI3PK = UnicodeAttribute(hash_key=True)
    GSI3SK = UnicodeAttribute(range_key=True)


class TicketItem(Record, discriminator="ticket"):
    """PK TICKET#<id>, SK TICKET: the ticket record itself."""

    id = UnicodeAttribute()
    number = NumberAttribute()
    subject = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    status = UnicodeAttribute()
    status_category = UnicodeAttribute()
    pipeline_id = UnicodeAttribute(null=True)  # absent: the default pipeline (domain.pipelines)
    priority = UnicodeAttribute()
    type = UnicodeAttribute()
    channel = UnicodeAttribute()
    requester_id = UnicodeAttribute()
    organization_id = UnicodeAttribute(null=True)
    assignee_id = UnicodeAttribute(null=True)
    team_id = UnicodeAttribute(null=True)
    cc = ListAttribute(of=UnicodeAttribute, default=list)
    followers = ListAttribute(of=UnicodeAttribute, default=list)
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    custom_fields = JSONAttribute(default=dict)
    activity_status = UnicodeAttribute()
    sentiment = UnicodeAttribute(null=True)
    escalation = JSONAttribute(null=True)
    sla = MapAttribute(null=True)  # native map: the SLA timer workflow updates one clock in place
    proxy_access = BooleanAttribute(default=False)
    feedback = JSONAttribute(null=True)
    merged_into = UnicodeAttribute(null=True)
    links = ListAttribute(of=UnicodeAttribute, default=list)
    merged_from = ListAttribute(of=UnicodeAttribute, default=list)
    merged_staff_only = ListAttribute(of=UnicodeAttribute, default=list)
    time_spent_minutes = NumberAttribute(default=0)
    channel_details = JSONAttribute(null=True)  # list entries leave it out (like the description)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    last_activity_at = UTCDateTimeAttribute()
    closed_at = UTCDateTimeAttribute(null=True)
    deleted_at = UTCDateTimeAttribute(null=True)
    requester_name = UnicodeAttribute(null=True)
    assignee_name = UnicodeAttribute(null=True)
    imported_from = UnicodeAttribute(null=True)  # `<source>:<number>` of an imported ticket
    version = NumberAttribute()
    ttl = TTLAttribute(null=True)


class TicketEntry(TicketItem, discriminator="ticket_entry"):
    """PK TICKET#<id>, SK IDX#<partition>: the ticket filed under one list partition.

    A copy of the ticket without its description, rewritten in every write of the
    ticket, so a list page is one Query that returns what it reads.
    """

    GSI1PK = UnicodeAttribute()
    GSI1SK = UnicodeAttribute()
    GSI2SK = UnicodeAttribute()
    by_activity = ByActivity()
    by_creation = ByCreation()


class ByNumber(GlobalSecondaryIndex["TicketNumber"]):
    class Meta:
        index_name = "GSI3"
        projection = AllProjection()

    GSI3PK = UnicodeAttribute(hash_key=True)
    GSI3SK = UnicodeAttribute(range_key=True)


class TicketNumber(Record, discriminator="ticket_number"):
    """PK TICKET#<id>, SK NUMBER: the ticket's number, findable on GSI3 `NUMBER#<n>` (the Zendesk
    API addresses tickets by number). Written once with the ticket, never updated; it lives in the
    ticket's partition, so the purge removes it with the rest."""

    ticket_id = UnicodeAttribute()
    number = NumberAttribute()
    GSI3PK = UnicodeAttribute()
    GSI3SK = UnicodeAttribute()
    by_number = ByNumber()


class TimelineHead(Record, discriminator="timeline_head"):
    """PK TICKET#<id>, SK ACT#~: the ticket's visibility fields at the top of its timeline range.

    Written with the ticket whenever one of them changes, so one descending Query answers both
    "may the caller read this timeline?" and its first page. Public index too (GSI1
    `PUBLIC#<id>`), for customers.
    """

    requester_id = UnicodeAttribute()
    organization_id = UnicodeAttribute(null=True)
    assignee_id = UnicodeAttribute(null=True)
    team_id = UnicodeAttribute(null=True)
    cc = ListAttribute(of=UnicodeAttribute, default=list)
    merged_from = ListAttribute(of=UnicodeAttribute, default=list)
    merged_staff_only = ListAttribute(of=UnicodeAttribute, default=list)
    deleted = BooleanAttribute(default=False)
    GSI1PK = UnicodeAttribute()
    GSI1SK = UnicodeAttribute()
    ttl = TTLAttribute(null=True)  # purged with the deleted ticket


class HistoryItem(Record, discriminator="history"):
    """PK TICKET#<id>, SK HIST#<at>#<version>#<seq>: one property change."""

    property = UnicodeAttribute()
    old = JSONAttribute(null=True)
    new = JSONAttribute(null=True)
    actor_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    ttl = TTLAttribute(null=True)


class CounterItem(Record, discriminator="counter"):
    """PK COUNTER, SK <name>: a monotonically increasing number."""

    value = NumberAttribute(default=0)


class StaffIndex(GlobalSecondaryIndex["DirectoryItem"]):
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class DirectoryItem(Record, discriminator="directory"):
    """PK DIR#<kind>, SK <id>: a user, organization, team or custom status."""

    id = UnicodeAttribute()
    name = UnicodeAttribute()
    role = UnicodeAttribute(null=True)  # users only: top level so a transaction can check it
    # Users only: the user's own choice, top level so recording a token's claims (which replaces
    # `data`) never resets it. None: never chosen (mail on).
    notifications = BooleanAttribute(null=True)
    data = JSONAttribute(default=dict)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = NumberAttribute(default=1)
    # Staff users only (agents, admins): GSI1 `STAFF` / <user id>, so routing reads a team's
    # members from the staff alone, never from every customer (docs/data-model.md, "Routing").
    GSI1PK = UnicodeAttribute(null=True)
    GSI1SK = UnicodeAttribute(null=True)
    staff = StaffIndex()
    # Users with an email only: GSI3 `EMAIL#<address>` / `USER#<id>`, so inbound mail finds its
    # sender (one index Query); organizations: one item per domain instead (OrgDomainItem).
    # (GSI1 and GSI2 share GSI1PK, which staff records use: the address needs its own index.)
    GSI3PK = UnicodeAttribute(null=True)
    GSI3SK = UnicodeAttribute(null=True)
    by_email = ByEmail()


class OrgDomainItem(Record, discriminator="org_domain"):
    """PK DIR#org-domain, SK <domain>: the organization a mail domain belongs to (one each: the
    put is conditional), written in the organization's own transaction."""

    organization_id = UnicodeAttribute()


class PublicTimeline(GlobalSecondaryIndex["ActivityItem"]):
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class ActivityItem(Record, discriminator="activity"):
    """PK TICKET#<id>, SK ACT#<9 pinned|1>#<activity id>: one timeline entry.

    Public entries also carry GSI1PK PUBLIC#<ticket id> / GSI1SK = SK, so a customer's
    timeline is one Query on an index that holds no internal entry. `at` and the id are
    strings (not PynamoDB datetimes) because Step Functions writes entries too.
    """

    id = UnicodeAttribute()
    ticket_id = UnicodeAttribute()
    type = UnicodeAttribute()  # comment | note | call | meeting | task | email | chat | system
    visibility = UnicodeAttribute()  # public | internal
    actor_id = UnicodeAttribute()
    at = UnicodeAttribute()  # keys.stamp() format, UTC
    subject = UnicodeAttribute(null=True)
    body = UnicodeAttribute(null=True)
    fields = JSONAttribute(null=True)  # type-specific: call duration, meeting start, stage...
    pinned = BooleanAttribute(default=False)
    GSI1PK = UnicodeAttribute(null=True)
    GSI1SK = UnicodeAttribute(null=True)
    public_timeline = PublicTimeline()
    # Written by the API (workflow-written entries may lack them; readers default them).
    truncated = BooleanAttribute(null=True)  # body was cut at 65,536 characters
    team_ids = ListAttribute(of=UnicodeAttribute, null=True)  # the actor's teams: `team_id` filter
    search_text = UnicodeAttribute(null=True)  # lowercased searchable text: `q` filter
    cc = ListAttribute(of=UnicodeAttribute, null=True)  # users a reply CC'd
    notify = ListAttribute(of=UnicodeAttribute, null=True)  # agents @notified (internal notes only)
    comments = JSONAttribute(null=True)  # agents' comments on the activity, [{id, actor_id, at, body}]
    attachments = JSONAttribute(null=True)  # uploaded files, [{id, filename, content_type, size}]
    edited_at = UnicodeAttribute(null=True)
    deleted_at = UnicodeAttribute(null=True)  # soft delete: restorable for 90 days
    ttl = TTLAttribute(null=True)  # deleted_at + 90 d
    version = NumberAttribute(null=True)  # optimistic concurrency of edits, pins, deletes


class ActivityRevisionItem(Record, discriminator="activity_revision"):
    """PK TICKET#<id>, SK ACTREV#<activity id>#<at>: one edit of an activity (old and new values).

    Separate items, not a list on the activity: bodies reach 64 KiB, and an activity with its
    edit history inline would outgrow DynamoDB's 400 KB item limit.
    """

    activity_id = UnicodeAttribute()
    actor_id = UnicodeAttribute()
    at = UnicodeAttribute()
    changes = JSONAttribute()  # {field: {"old", "new"}}


class AttachmentItem(Record, discriminator="attachment"):
    """PK TICKET#<id>, SK ATT#<attachment id>: one file of a message (metadata; the bytes are in S3
    under `object_key`). `visibility` is the message's: an internal note's files are agent-only."""

    id = UnicodeAttribute()
    ticket_id = UnicodeAttribute()
    comment_id = UnicodeAttribute(null=True)  # None: the ticket's own first message
    filename = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()
    visibility = UnicodeAttribute()  # public | internal
    object_key = UnicodeAttribute()
    uploaded_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    uploaded_at = UTCDateTimeAttribute(null=True)  # None: reserved, the file not yet confirmed in S3


class AttachmentCountItem(Record, discriminator="attachment_count"):
    """PK TICKET#<id>, SK ATTN#<comment id | ticket>: files per message, so the 5-per-message cap is
    one conditional ADD in the attachment's own transaction (no Query, no race)."""

    count = NumberAttribute(default=0)


class EventItem(Record, discriminator="event"):
    """PK EVENTS, SK <at>#<event id>: one change event, written in the change's own transaction
    (the outbox). A stream handler publishes new ones to EventBridge; `GET /v1/events` reads
    them back. Workflows write the same shape from ASL, so every attribute is a plain string:
    `at` RFC 3339 UTC ending in Z, `detail` the event detail as a JSON string."""

    id = UnicodeAttribute()
    type = UnicodeAttribute()  # the EventBridge detail-type, e.g. ticket.updated
    at = UnicodeAttribute()
    ticket_id = UnicodeAttribute()
    detail = UnicodeAttribute()
    ttl = TTLAttribute(null=True)


class StageEntryAttribute(MapAttribute[str, str]):
    stage = UnicodeAttribute()
    entered_at = UnicodeAttribute()  # RFC 3339 with Z; the workflow writes it from $$.State.EnteredTime
    note = UnicodeAttribute(default="")  # agent-only
    actor_id = UnicodeAttribute()


class OverrunAttribute(MapAttribute[str, str]):
    stage = UnicodeAttribute()
    target_seconds = NumberAttribute()
    at = UnicodeAttribute()


class EscalationItem(Record, discriminator="escalation"):
    """PK ESC#CP-<n>, SK ESC: one escalation; `stage`, `stages`, `overruns`, `failure` and the
    task token are written by the escalation workflow through direct DynamoDB integrations, so
    timestamps are strings (RFC 3339, Z) and `estimated_resolution_date` a JSON string."""

    id = UnicodeAttribute()
    ticket_id = UnicodeAttribute()
    description = UnicodeAttribute()
    stage = UnicodeAttribute()
    stages = ListAttribute(of=StageEntryAttribute, default=list)
    estimated_resolution_date = JSONAttribute(null=True)  # "YYYY-MM-DD" or null
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)
    task_token = UnicodeAttribute(null=True)  # the waiting execution's token; set by the workflow
    task_stage = UnicodeAttribute(null=True)  # the stage the token belongs to
    claim_id = UnicodeAttribute(null=True)  # a signal in flight: who claimed the token, until when
    claimed_at = UnicodeAttribute(null=True)
    claimed_to = UnicodeAttribute(null=True)
    # A transition accepted while the workflow was between two waits: the signal it would have
    # sent (JSON), taken by the workflow at its next wait in `queued_from`.
    run = NumberAttribute(null=True)  # the workflow run (execution) that drives it; absent: the first
    # Written with a raised `run` (the workflow's renewal, an operator's restart): when that run's
    # age counts from (its renew_at), and the stage timer the previous run left (renewal only).
    run_started_at = UnicodeAttribute(null=True)
    timer_left = NumberAttribute(null=True)
    queued_signal = UnicodeAttribute(null=True)
    queued_from = UnicodeAttribute(null=True)
    overruns = ListAttribute(of=OverrunAttribute, null=True)
    failure = MapAttribute(null=True)  # {error, cause, at, execution} when the workflow failed


class SlaLedgerItem(Record, discriminator="sla_ledger"):
    """PK TICKET#<id>, SK SLA#<at>#<version>#<seq>: one line of the ticket's append-only SLA ledger.

    The API writes lines in the ticket's own transaction; the SLA timer workflow writes the
    `breached` line, so times are strings (RFC 3339, Z) like other workflow-written items.
    """

    event = UnicodeAttribute()
    at = UnicodeAttribute()
    metric = UnicodeAttribute(null=True)
    generation = NumberAttribute(null=True)
    due_at = UnicodeAttribute(null=True)
    detail = JSONAttribute(null=True)


class MailClaimItem(Record, discriminator="mail_claim"):
    """PK TICKET#<id>, SK MAIL#SENT#<event id>#<address>: one notification, claimed before SES is
    called (conditional put) and marked sent after, so a redelivered event mails nobody twice.
    `state` sending (until `lease_until`, then another attempt may take it over) | sent | rejected."""

    event_id = UnicodeAttribute()
    address = UnicodeAttribute()
    message_id = UnicodeAttribute()
    state = UnicodeAttribute()
    token = UnicodeAttribute()  # who holds the claim: only they mark it sent or release it
    lease_until = UnicodeAttribute()  # keys.stamp() format, UTC
    ttl = TTLAttribute(null=True)


class MailThreadItem(Record, discriminator="mail_thread"):
    """PK TICKET#<id>, SK MAIL#THREAD#<at>#<message id>: a Message-ID of the ticket's thread;
    `address` is the recipient for mail we sent (None for mail received)."""

    message_id = UnicodeAttribute()
    address = UnicodeAttribute(null=True)
    at = UnicodeAttribute()


class MessageIdItem(Record, discriminator="message_id"):
    """PK MSGID#<message id>, SK MSGID: the ticket a Message-ID belongs to. Inbound ones are put
    only if absent, in the transaction of the comment or ticket they became (duplicates add
    nothing), and name that message and where its original is kept."""

    ticket_id = UnicodeAttribute()
    direction = UnicodeAttribute()  # outbound | inbound
    at = UnicodeAttribute()
    activity_id = UnicodeAttribute(null=True)  # inbound: the comment (None: the ticket's description)
    original_bucket = UnicodeAttribute(null=True)  # inbound: the raw message as received
    original_key = UnicodeAttribute(null=True)


class InboundOriginalItem(Record, discriminator="inbound_original"):
    """PK TICKET#<id>, SK MAIL#IN#<activity id | ticket>: where the raw message of an inbound
    comment (or of the mail that opened the ticket) is kept; agents only (never on the timeline)."""

    message_id = UnicodeAttribute()
    bucket = UnicodeAttribute()
    object_key = UnicodeAttribute()
    at = UnicodeAttribute()


class MailRateItem(Record, discriminator="mail_rate"):
    """PK MAIL#RATE#<address>, SK <window start>: inbound messages of one sender in one window,
    by stored object (`messages`, at most the rate limit: a redelivery is the same message)."""

    count = NumberAttribute(default=0)  # items written before `messages`
    messages = UnicodeSetAttribute(null=True)
    ttl = TTLAttribute(null=True)


class ParkedMailItem(Record, discriminator="mail_parked"):
    """PK MAIL#PARKED, SK <at>#<object key>: a message not processed (sender over its rate);
    the raw message stays in the inbound bucket until an operator releases it."""

    bucket = UnicodeAttribute()
    object_key = UnicodeAttribute()
    reason = UnicodeAttribute()
    at = UnicodeAttribute()
    ttl = TTLAttribute(null=True)


class SuppressionItem(Record, discriminator="mail_suppression"):
    """PK MAIL#SUPPRESSED, SK <address>: an address that bounced (permanently) or complained."""

    address = UnicodeAttribute()
    reason = UnicodeAttribute()  # bounce | complaint | rejected
    at = UnicodeAttribute()


class ViewsByAudience(GlobalSecondaryIndex["ViewItem"]):
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class ViewItem(Record, discriminator="view"):
    """PK VIEW#<id>, SK VIEW: a saved view. GSI1 files it under who may use it
    (`VIEWS#private#<owner>`, `VIEWS#team#<team>`, `VIEWS#shared`), sorted by creation, so the
    sidebar's list is one Query per audience the caller belongs to."""

    id = UnicodeAttribute()
    name = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    visibility = UnicodeAttribute()
    team_id = UnicodeAttribute(null=True)
    filters = JSONAttribute(default=dict)
    sort = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = NumberAttribute(default=1)
    GSI1PK = UnicodeAttribute()
    GSI1SK = UnicodeAttribute()
    by_audience = ViewsByAudience()


class PresenceItem(Record, discriminator="presence"):
    """PK TICKET#<id>, SK TICKET#PRESENCE#<user>: an agent viewing the ticket (one heartbeat
    write). The SK starts with `TICKET`, so GET of a ticket reads it and its viewers in one Query
    (`begins_with(SK, "TICKET")`). The viewer's access (role, access, teams) is kept so readers
    show only viewers who may see the ticket: a heartbeat never reads the ticket."""

    user_id = UnicodeAttribute()
    name = UnicodeAttribute()
    role = UnicodeAttribute()
    access = UnicodeAttribute()
    teams = ListAttribute(of=UnicodeAttribute, default=list)
    since = UnicodeAttribute()  # keys.stamp(): the first heartbeat of this viewing
    seen_at = UnicodeAttribute()  # keys.stamp(): the last heartbeat
    ttl = TTLAttribute(null=True)  # seen_at + 60 s; deletion is late, readers filter on seen_at


class RoundRobinCursorItem(Record, discriminator="round_robin_cursor"):
    """PK ROUTING#<team id>, SK CURSOR: the member whose turn was last (round robin), advanced
    only in the transaction that assigns the next ticket, conditioned on `version`."""

    last_user_id = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)


class OpenCounterItem(Record, discriminator="open_counter"):
    """PK COUNT#<partition>, SK <status category>: how many tickets the partition holds."""

    count = NumberAttribute(default=0)


class RenameItem(Record, discriminator="user_rename"):
    """PK DIR#user-rename, SK <user id>: where copying a user's new name onto their tickets
    continues (the sort key of the last ticket done, per role; null: that role is done). Each
    put bumps `step`, so the stream sees a record and runs the next page."""

    requester_after = UnicodeAttribute(null=True)
    assignee_after = UnicodeAttribute(null=True)
    step = NumberAttribute(default=0)
    ttl = TTLAttribute(null=True)


class CountedItem(Record, discriminator="counted"):
    """PK TICKET#<id>, SK COUNTED: the ticket version the counters last applied, and the
    counters it added 1 to then (domain.counters.contribution)."""

    version = NumberAttribute()
    counters = ListAttribute(of=UnicodeAttribute, default=list)


class ExternalIdItem(Record, discriminator="external_id"):
    """PK EXT#<source>#<kind>#<source id>, SK EXT: the record an import made of a source record,
    put only if absent in that record's own transaction (a re-run adds nothing). Tickets are
    `started` until their conversation and history are written, then `done`."""

    target_id = UnicodeAttribute()
    state = UnicodeAttribute()  # started | done
    number = NumberAttribute(null=True)  # tickets: the number ours took
    at = UnicodeAttribute()


class ImportCheckpointItem(Record, discriminator="import_checkpoint"):
    """PK IMPORT#<source>, SK CHECKPOINT: how far the last run of an export got (its digest and
    the tickets done in order), so an interrupted run resumes without re-reading what it did."""

    digest = UnicodeAttribute()
    position = NumberAttribute(default=0)
    at = UnicodeAttribute()


class AutomationRunItem(Record, discriminator="automation_run"):
    """PK TICKET#<id>, SK AUTO#<event at>#<event id>#<rule id>#<step>: one step of one rule run
    for one event, put only if absent in the step's own transaction (a replayed event repeats
    nothing); counted by range for the ticket's cap window."""

    rule_id = UnicodeAttribute()
    event_id = UnicodeAttribute()
    ttl = TTLAttribute(null=True)
