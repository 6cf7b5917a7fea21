"""Every key of the single table, built in one place (see docs/data-model.md)."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.listing import stamp  # positions are sort keys: one timestamp format for both

TICKET_SK = "TICKET"
ACTIVITY_PREFIX = "ACT#"
PINNED, UNPINNED = "9", "1"  # descending SK order puts pinned activities first
HISTORY_PREFIX = "HIST#"
ENTRY_PREFIX = "IDX#"
COUNTER_PK = "COUNTER"
TICKET_NUMBER_SK = "ticket_number"
IDEMPOTENCY_PK = "IDEMPOTENCY"


def ticket_pk(ticket_id: str) -> str:
    return f"TICKET#{ticket_id}"


def entry_sk(partition: str) -> str:
    return f"{ENTRY_PREFIX}{partition}"


def history_sk(at: datetime, version: int, seq: int) -> str:
    # Version orders entries of one timestamp; seq orders properties of one write.
    return f"{HISTORY_PREFIX}{stamp(at)}#{version:010d}#{seq:03d}"


def directory_pk(kind: str) -> str:
    """Users, organizations, teams and statuses: one partition per kind, the id as sort key."""
    return f"DIR#{kind}"


RENAMES_PK = "DIR#user-rename"  # SK <user id>: a rename still being copied onto the user's tickets
DELETED_USERS_PK = "DIR#user-deleted"  # SK <user id>: a deleted user, so an old token cannot bring them back


def list_sort_key(at: datetime, ticket_id: str) -> str:
    return f"{stamp(at)}#{ticket_id}"


def before(sort_key: str) -> str:
    """The greatest bound strictly below `sort_key` among keys of the same shape (for BETWEEN)."""
    return sort_key[:-1] + chr(ord(sort_key[-1]) - 1) + "\U0010ffff"


def activity_id(at: datetime, suffix: str) -> str:
    """Activity ids sort by time: `<stamp>-<random>`. Step Functions writes the same shape
    with `$$.State.EnteredTime` (millisecond precision) and a UUID suffix."""
    return f"{stamp(at)}-{suffix}"


def activity_sk(activity_id: str, pinned: bool) -> str:
    return f"{ACTIVITY_PREFIX}{PINNED if pinned else UNPINNED}#{activity_id}"


# The timeline head sorts above every activity (`~` > `9` > `1`), so a descending Query from
# it reads who may see the timeline and the first page together (docs/data-model.md).
TIMELINE_HEAD_SK = f"{ACTIVITY_PREFIX}~"
LAST_ACTIVITY_SK = f"{ACTIVITY_PREFIX}{PINNED}#\U0010ffff"  # above every activity, below the head


def public_timeline_pk(ticket_id: str) -> str:
    """GSI1 partition holding only a ticket's public activities: customers never read internal ones."""
    return f"PUBLIC#{ticket_id}"


ACTIVITY_REVISION_PREFIX = "ACTREV#"  # not "ACT#…": timeline Queries never read revisions


def activity_revision_sk(activity_id: str, at: datetime) -> str:
    return f"{ACTIVITY_REVISION_PREFIX}{activity_id}#{stamp(at)}"


ATTACHMENT_PREFIX = "ATT#"
ATTACHMENT_COUNT_PREFIX = "ATTN#"


def attachment_sk(attachment_id: str) -> str:
    return f"{ATTACHMENT_PREFIX}{attachment_id}"


def attachment_count_sk(comment_id: str | None) -> str:
    """One counter per message; the ticket's own first message is `ATTN#ticket`."""
    return f"{ATTACHMENT_COUNT_PREFIX}{comment_id or 'ticket'}"


def attachment_object_key(ticket_id: str, attachment_id: str, filename: str) -> str:
    return f"{attachment_prefix(ticket_id)}{attachment_id}/{filename}"


def attachment_prefix(ticket_id: str) -> str:
    """Every uploaded file of one ticket is under this S3 prefix (purged with the ticket)."""
    return f"tickets/{ticket_id}/"


ESCALATION_SK = "ESC"
ESCALATION_NUMBER_SK = "escalation_number"  # under COUNTER_PK, like ticket numbers


def escalation_pk(escalation_id: str) -> str:
    """One partition per escalation (`ESC#CP-12`): the workflow addresses it by its execution's input."""
    return f"ESC#{escalation_id}"


EVENTS_PK = "EVENTS"  # the outbox and change feed: one partition, sort key `<at>#<event id>`


def event_sk(at: str, event_id: str) -> str:
    """`at` is an RFC 3339 UTC string ending in `Z` (`stamp(now)`; workflows write
    `$$.State.EnteredTime`), so string order is time order."""
    return f"{at}#{event_id}"


def after(sort_key: str) -> str:
    """The least bound strictly above `sort_key` among keys of its shape (for BETWEEN).

    Sort keys here are made of characters above the space (stamps, `#`, ids), and no key is a
    proper prefix of another of the same partition, so `sort_key + " "` sorts after `sort_key`
    and before every key greater than it."""
    return sort_key + " "


SLA_LEDGER_PREFIX = "SLA#"


def sla_ledger_sk(at: datetime, version: int, seq: int) -> str:
    """One SLA ledger line under the ticket: time order, then the write (version), then its lines."""
    return f"{SLA_LEDGER_PREFIX}{stamp(at)}#{version:010d}#{seq:03d}"


# -- mail (issue 10): claims and thread ids live on the ticket partition (purged with it) --------
MAIL_CLAIM_PREFIX = "MAIL#SENT#"
MAIL_THREAD_PREFIX = "MAIL#THREAD#"
MESSAGE_ID_SK = "MSGID"
SUPPRESSION_PK = "MAIL#SUPPRESSED"  # one item per suppressed address, the address as sort key


def mail_claim_sk(event_id: str, address: str) -> str:
    """One message per (event, recipient address): the claim's key is that pair."""
    return f"{MAIL_CLAIM_PREFIX}{event_id}#{address}"


def mail_thread_sk(at: datetime, message_id: str) -> str:
    """A Message-ID the ticket sent or received, in time order (References reads the newest)."""
    return f"{MAIL_THREAD_PREFIX}{stamp(at)}#{message_id}"


def thread_message_id(sort_key: str) -> str | None:
    """The Message-ID of a ticket's `MAIL#THREAD#<at>#<message id>` item (None for other items);
    `at` is a stamp, which holds no `#`."""
    if not sort_key.startswith(MAIL_THREAD_PREFIX):
        return None
    _, _, message_id = sort_key.removeprefix(MAIL_THREAD_PREFIX).partition("#")
    return message_id or None


def message_id_pk(message_id: str) -> str:
    """Which ticket a Message-ID belongs to (inbound threading: one BatchGetItem of ids)."""
    return f"MSGID#{message_id}"


# -- views (issue 11) ----------------------------------------------------------------------
VIEW_SK = "VIEW"


def view_pk(view_id: str) -> str:
    return f"VIEW#{view_id}"


def view_audience(visibility: str, owner_id: str, team_id: str | None) -> str:
    """The GSI1 partition a saved view is listed under: who may use it."""
    if visibility == "team":
        return f"VIEWS#team#{team_id}"
    if visibility == "shared":
        return "VIEWS#shared"
    return f"VIEWS#private#{owner_id}"


PRESENCE_PREFIX = f"{TICKET_SK}#PRESENCE#"  # under the ticket's "TICKET" sort key: read with it


def presence_sk(user_id: str) -> str:
    return f"{PRESENCE_PREFIX}{user_id}"


# -- routing and counters (issue 11; docs/data-model.md, "Routing") --------------------------
STAFF_PARTITION = "STAFF"  # GSI1PK of every agent's and admin's user record
CURSOR_SK = "CURSOR"
COUNTED_SK = "COUNTED"


def routing_cursor_pk(team_id: str) -> str:
    return f"ROUTING#{team_id}"


def open_counter_key(counter: str) -> tuple[str, str]:
    """(PK, SK) of a counter named by `domain.counters.counter_id`: `COUNT#<partition>`, `<category>`."""
    partition, _, category = counter.rpartition("|")
    return f"COUNT#{partition}", category


# -- inbound mail (issue 10) ---------------------------------------------------------
INBOUND_ORIGINAL_PREFIX = "MAIL#IN#"
MAIL_PARKED_PK = "MAIL#PARKED"
MAIL_REFUSED_PK = "MAIL#REFUSED"  # SK <object key>: the refusal notice of that message was sent
ORG_DOMAIN_PK = "DIR#org-domain"


def inbound_original_sk(activity_id: str | None) -> str:
    """The raw message of an inbound comment, or (None) of the mail that opened the ticket."""
    return f"{INBOUND_ORIGINAL_PREFIX}{activity_id or 'ticket'}"


def mail_rate_pk(address: str) -> str:
    return f"MAIL#RATE#{address}"


def email_index_pk(address: str) -> str:
    """GSI3 partition of the users with this (normalized) address."""
    return f"EMAIL#{address}"


NUMBER_SK = "NUMBER"


def number_index_pk(number: int) -> str:
    """GSI3 partition of the ticket numbered `number` (one item: numbers are unique)."""
    return f"NUMBER#{number}"


# -- import (issue 13): one item per imported source record, and the run's checkpoint ----------
EXTERNAL_SK = "EXT"
CHECKPOINT_SK = "CHECKPOINT"


def external_pk(source: str, kind: str, source_id: str) -> str:
    """`EXT#zendesk#ticket#101`: a partition per source record, so an import's writes spread."""
    return f"EXT#{source}#{kind}#{source_id}"


def import_pk(source: str) -> str:
    return f"IMPORT#{source}"


AUTOMATION_RUN_PREFIX = "AUTO#"  # not under "ACT#" or "TICKET": timeline and presence never read runs


def automation_run_sk(event_at: str, event_id: str, rule_id: str, step: int) -> str:
    return f"{AUTOMATION_RUN_PREFIX}{event_at}#{event_id}#{rule_id}#{step:02d}"


# Written by statemachines/time-rule.asl.json (its PutItem builds the same key); under neither
# "ACT#" nor "TICKET": ticket reads and timelines never see it.
TIME_RULE_DUE_PREFIX = "TIMERULE#"


def time_rule_due_sk(expected_version: int, rule_id: str) -> str:
    return f"{TIME_RULE_DUE_PREFIX}{expected_version}#{rule_id}"
