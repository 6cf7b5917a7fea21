"""Inbound mail end to end: a raw message in the inbound bucket and SES's "Received" notification
on the queue → `receive_mail` → a ticket, a comment on the ticket it threads to, or nothing
(counted); what customers and agents then read through the API."""

from __future__ import annotations

import email
import email.utils
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import boto3
import pytest

from tests.api import test_notifications
from tests.api.conftest import ApiUser
from tests.api.test_notifications import DOMAIN, mails_to, send_pending, sent

BUCKET = "helpdesk-test-inbound"
ATTACHMENTS = "helpdesk-local-attachments"  # Settings' default
mail = test_notifications.mail  # the bus, the notification queue and SES, as notifications use them
people = test_notifications.people


class Metrics:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, name: str, value: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + value


@pytest.fixture
def inbound(mail: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Metrics]:
    """The inbound bucket; the receiver counting into `Metrics`."""
    from chalicelib.handlers import inbound_mail as handler

    boto3.client("s3").create_bucket(Bucket=BUCKET)
    boto3.client("s3").create_bucket(Bucket=ATTACHMENTS)
    metrics = Metrics()
    monkeypatch.setattr(handler, "emit_metric", metrics)
    handler.receiver.cache_clear()
    yield metrics
    handler.receiver.cache_clear()


def message(
    sender: str = "alice@acme.example",
    subject: str = "Printer on fire",
    text: str = "It is really on fire.",
    *,
    to: str = f"support@{DOMAIN}",
    message_id: str | None = None,
    **headers: str,
) -> bytes:
    built = EmailMessage()
    built["From"] = sender
    built["To"] = to
    built["Subject"] = subject
    built["Date"] = format_datetime(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    built["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@mail.example>"
    for name, value in headers.items():
        built[name.replace("_", "-")] = value
    built.set_content(text)
    return built.as_bytes()


def stored(raw: bytes, key: str | None = None) -> str:
    key = key or f"inbound/{uuid.uuid4().hex}"
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=raw)
    return key


PASSED = {"spf": "PASS", "dkim": "PASS", "dmarc": "PASS", "spam": "PASS", "virus": "PASS"}


def record(
    key: str,
    recipients: tuple[str, ...] = (f"support@{DOMAIN}",),
    message_id: str | None = None,
    *,
    source: str | None = None,
    **verdicts: str,
) -> dict[str, Any]:
    """An SQS record as InboundMailQueue delivers SES's notification (raw delivery from SNS):
    every check passed and MAIL FROM is the From address unless said otherwise."""
    if source is None:
        try:
            head = boto3.client("s3").get_object(Bucket=BUCKET, Key=key, Range="bytes=0-65535")["Body"].read()
            source = email.utils.parseaddr(email.message_from_bytes(head).get("From", ""))[1]
        except boto3.client("s3").exceptions.NoSuchKey:
            source = "someone@example.com"
    checks = {f"{name}Verdict": {"status": status} for name, status in {**PASSED, **verdicts}.items()}
    notification = {
        "notificationType": "Received",
        "mail": {"messageId": key.rsplit("/", 1)[-1], "source": source, "destination": list(recipients)},
        "receipt": {
            "recipients": list(recipients),
            **checks,
            "action": {"type": "S3", "bucketName": BUCKET, "objectKey": key},
        },
    }
    return {"messageId": message_id or str(uuid.uuid4()), "body": json.dumps(notification), "eventSource": "aws:sqs"}


def receive(*records: dict[str, Any]) -> Any:
    """Through the registered Lambda entry point, as the SQS event source mapping calls it."""
    from app import app

    return app.handler_map["receive_mail"]({"Records": list(records)}, None)


def deliver(raw: bytes, **kw: Any) -> None:
    assert receive(record(stored(raw), **kw)) == {"batchItemFailures": []}


def tickets_of(user: ApiUser) -> list[dict[str, Any]]:
    return user.get("/v1/tickets?limit=100").data["items"]


def comments(user: ApiUser, ticket_id: str) -> list[dict[str, Any]]:
    return [e for e in user.get(f"/v1/tickets/{ticket_id}/timeline?type=comment").data["items"]]


@pytest.fixture
def emailed_ticket(people: dict[str, ApiUser], inbound: Metrics) -> dict[str, Any]:
    deliver(message())
    (ticket,) = tickets_of(people["agent"])
    return ticket


# -- new tickets and replies -----------------------------------------------------------------
def test_a_customers_first_mail_opens_an_email_ticket_they_requested(people, inbound):
    deliver(message(subject="Printer on fire", text="It is really on fire.\n\nAlice"))

    (ticket,) = tickets_of(people["alice"])
    assert ticket["subject"] == "Printer on fire" and ticket["channel"] == "email"
    assert ticket["requester_id"] == "alice" and ticket["organization_id"] == "acme"
    full = people["agent"].get(f"/v1/tickets/{ticket['id']}").data
    assert "It is really on fire." in full["description"]
    assert inbound.counts == {"MailInboundCreated": 1}


def test_a_reply_to_our_notification_becomes_one_trimmed_comment_on_the_same_ticket(people, emailed_ticket, inbound):
    tid = emailed_ticket["id"]
    assert people["agent"].post(f"/v1/tickets/{tid}/comments", {"body": "Is it still burning?"}).status_code == 201
    send_pending()
    (notification,) = mails_to("alice@acme.example")
    quoted = "> Is it still burning?"
    reply = message(
        subject=f"Re: {notification['Subject']}",
        text=f"Yes, it is.\n\nOn Tue, Dec 1, 2026 at 9:00 AM Help desk <support@{DOMAIN}> wrote:\n{quoted}\n",
        In_Reply_To=notification["Message-ID"],
        References=notification["References"],
    )
    deliver(reply)

    assert len(tickets_of(people["agent"])) == 1
    customer_view = comments(people["alice"], tid)
    mine = [c for c in customer_view if c["actor_id"] == "alice"]
    assert [c["body"] for c in mine] == ["Yes, it is."]
    assert mine[0]["visibility"] == "public" and mine[0]["fields"] == {"channel": "email"}
    ticket = people["agent"].get(f"/v1/tickets/{tid}").data
    assert ticket["activity_status"] == "waiting_on_agent"  # the customer answered


def test_the_reply_address_token_routes_a_mail_to_its_ticket(people, emailed_ticket, inbound):
    from chalicelib import composition
    from chalicelib.domain.mail.addresses import ReplyAddresses

    settings = composition.mail_settings()
    token_address = ReplyAddresses(DOMAIN, settings.secrets).address_for(emailed_ticket["id"])
    deliver(message(subject="another thing", text="Also the scanner.", to=token_address), recipients=(token_address,))

    assert len(tickets_of(people["agent"])) == 1
    assert [c["body"] for c in comments(people["alice"], emailed_ticket["id"])] == ["Also the scanner."]


def test_a_forged_token_opens_a_new_ticket_instead(people, emailed_ticket, inbound):
    forged = f"support+{emailed_ticket['id']}-aaaaaaaaaaaaaaaa@{DOMAIN}"
    deliver(message(subject="hello", text="Let me in.", to=forged), recipients=(forged,))

    assert len(tickets_of(people["agent"])) == 2
    assert comments(people["agent"], emailed_ticket["id"]) == []


def test_the_subject_number_routes_the_requesters_mail_but_a_stranger_gets_a_new_ticket(people, emailed_ticket, inbound):
    number, tid = emailed_ticket["number"], emailed_ticket["id"]
    deliver(message(subject=f"Re: [#{number}] Printer on fire", text="Now it smokes."))
    assert [c["body"] for c in comments(people["agent"], tid)] == ["Now it smokes."]

    deliver(message(sender="bob@acme.example", subject=f"[#{number}] Printer on fire", text="Let me read it."))
    assert comments(people["agent"], tid)[0]["body"] == "Now it smokes."  # bob added nothing there
    (bobs,) = tickets_of(people["bob"])
    assert bobs["id"] != tid and bobs["requester_id"] == "bob"


def test_an_unknown_sender_becomes_a_customer_who_requested_the_new_ticket(people, inbound):
    deliver(message(sender="Zoe Stranger <zoe@nowhere.example>", subject="Hi", text="Who are you?"))

    (ticket,) = tickets_of(people["agent"])
    user = people["admin"].get(f"/v1/users/{ticket['requester_id']}").data
    assert user["name"] == "Zoe Stranger" and user["email"] == "zoe@nowhere.example" and user["role"] == "customer"
    deliver(message(sender="zoe@nowhere.example", subject="Again", text="Hello?"))
    assert {t["requester_id"] for t in tickets_of(people["agent"])} == {user["id"]}  # the same user, not a second


def test_an_agent_replying_by_mail_posts_a_public_reply_as_themself(people, emailed_ticket, inbound):
    deliver(message(sender="agent@corp.example", subject=f"Re: [#{emailed_ticket['number']}] x", text="Turn it off."))
    # an agent is neither requester nor CC'd: [#n] does not route them; a token or thread does
    assert comments(people["agent"], emailed_ticket["id"]) == []

    from chalicelib import composition
    from chalicelib.domain.mail.addresses import ReplyAddresses

    token_address = ReplyAddresses(DOMAIN, composition.mail_settings().secrets).address_for(emailed_ticket["id"])
    deliver(message(sender="agent@corp.example", subject="x", text="Turn it off.", to=token_address))
    (reply,) = comments(people["alice"], emailed_ticket["id"])
    assert reply["actor_id"] == "agent-all" and reply["body"] == "Turn it off."


# -- duplicates, loops, rate -----------------------------------------------------------------
def test_a_redelivered_record_or_the_same_message_again_adds_nothing(people, emailed_ticket, inbound):
    tid, number = emailed_ticket["id"], emailed_ticket["number"]
    raw = message(subject=f"[#{number}] more", text="Once only.", message_id="<once@mail.example>")
    first = record(stored(raw))
    assert receive(first) == {"batchItemFailures": []}
    assert receive(first, first) == {"batchItemFailures": []}  # SQS redelivers the same record
    deliver(raw)  # the same Message-ID stored again under another key (sent twice)

    assert [c["body"] for c in comments(people["agent"], tid)] == ["Once only."]
    assert inbound.counts["MailInboundDuplicate"] == 3


def test_a_redelivered_first_mail_opens_one_ticket(people, inbound):
    first = record(stored(message(message_id="<first@mail.example>")))
    assert receive(first) == {"batchItemFailures": []}
    assert receive(first) == {"batchItemFailures": []}
    assert len(tickets_of(people["agent"])) == 1


def test_auto_replies_and_our_own_messages_create_nothing_and_mail_nobody(people, emailed_ticket, inbound):
    tid = emailed_ticket["id"]
    assert people["agent"].post(f"/v1/tickets/{tid}/comments", {"body": "Is it out?"}).status_code == 201
    send_pending()
    (ours,) = mails_to("alice@acme.example")
    before = len(sent())

    deliver(ours.as_bytes())  # our own notification came back (a forwarding rule)
    deliver(message(subject="Out of office", text="Back Monday.", Auto_Submitted="auto-replied", In_Reply_To=ours["Message-ID"]))
    deliver(message(sender="MAILER-DAEMON@mx.acme.example", subject="Undeliverable", text="550 no such user"))
    deliver(message(subject="Newsletter", text="Sale!", Precedence="bulk"))
    send_pending()

    assert len(tickets_of(people["agent"])) == 1
    assert [c["actor_id"] for c in comments(people["agent"], tid)] == ["agent-all"]
    assert len(sent()) == before
    assert inbound.counts["MailInboundLoop"] == 4


def test_a_sender_over_the_rate_is_parked_and_an_operator_releases_the_message(people, emailed_ticket, inbound, monkeypatch):
    from chalicelib import composition
    from chalicelib.handlers.inbound_mail import receiver
    from chalicelib.services.inbound_mail import RATE_LIMIT

    # one rate window for the whole test (the first mail counted in the window of the real clock)
    monkeypatch.setattr(composition, "clock", lambda: datetime(2026, 12, 1, 10, 1, tzinfo=UTC))
    receiver.cache_clear()
    deliver(message(subject=f"[#{emailed_ticket['number']}] n", text="First in the window."))

    number = emailed_ticket["number"]
    keys = [stored(message(subject=f"[#{number}] n{i}", text=f"Note {i}.")) for i in range(RATE_LIMIT + 1)]
    assert receive(*[record(k) for k in keys[: RATE_LIMIT - 1]]) == {"batchItemFailures": []}  # 1 + 19 = 20
    assert receive(record(keys[-2]), record(keys[-1])) == {"batchItemFailures": []}

    assert len(comments(people["agent"], emailed_ticket["id"])) == RATE_LIMIT
    assert inbound.counts["MailInboundParked"] == 2
    released = receiver().receive(BUCKET, keys[-1], release=True)
    assert released.outcome == "commented"
    assert len(comments(people["agent"], emailed_ticket["id"])) == RATE_LIMIT + 1


def test_a_message_retried_after_a_transient_failure_counts_once_toward_its_senders_rate(
    people, emailed_ticket, inbound, monkeypatch
):
    from chalicelib import composition
    from chalicelib.domain.errors import Unavailable
    from chalicelib.handlers.inbound_mail import receiver
    from chalicelib.services.conversation import ConversationService
    from chalicelib.services.inbound_mail import RATE_LIMIT

    monkeypatch.setattr(composition, "clock", lambda: datetime(2026, 12, 1, 10, 1, tzinfo=UTC))
    receiver.cache_clear()
    number = emailed_ticket["number"]
    deliver(message(subject=f"[#{number}] n", text="First in the window."))
    failed_once: set[str] = set()
    comment = ConversationService.comment

    def busy_the_first_time(self, caller, ticket_id, **kw):  # the table busy once per message
        if kw["body"] not in failed_once:
            failed_once.add(kw["body"])
            raise Unavailable("injected: the data store is busy")
        return comment(self, caller, ticket_id, **kw)

    monkeypatch.setattr(ConversationService, "comment", busy_the_first_time)
    for i in range(RATE_LIMIT - 1):  # 1 + 19 = 20 messages: within the rate, each delivered twice
        attempt = record(stored(message(subject=f"[#{number}] n{i}", text=f"Note {i}.")))
        assert receive(attempt) == {"batchItemFailures": [{"itemIdentifier": attempt["messageId"]}]}
        assert receive(attempt) == {"batchItemFailures": []}  # SQS redelivers it: the same message, counted once

    assert len(comments(people["agent"], emailed_ticket["id"])) == RATE_LIMIT
    assert inbound.counts.get("MailInboundParked", 0) == 0


# -- hostile and broken input ----------------------------------------------------------------
def test_malformed_and_hostile_messages_each_get_a_counted_outcome_and_the_batch_succeeds(people, inbound):
    many = ", ".join(f"r{i}@example.com" for i in range(10_000)).encode()
    injected = b"Subject: Hi\r\nBcc: evil@example.com\r\n =?utf-8?q?a=0D=0AX-Injected:_1?="
    nested = b"--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" * 3_000
    hostile = {
        "no_headers": b"just some text without any header\r\n",
        "empty": b"\r\n\r\n",
        "crlf_subject": message(subject="Hi", text="x").replace(b"Subject: Hi", injected),
        "no_from": b"Subject: nobody\r\nMessage-ID: <nf@x.example>\r\n\r\nbody\r\n",
        "many_recipients": message(text="to many").replace(b"To: support@", b"To: " + many + b", support@"),
        "five_mb_line": message(text="a" * (5 * 1024 * 1024)),
        "nested": b"Content-Type: multipart/mixed; boundary=b\r\nFrom: a@b.example\r\n\r\n" + nested,
    }
    records = [record(stored(raw)) for raw in hostile.values()]
    records.append({"messageId": "junk", "body": "not json", "eventSource": "aws:sqs"})
    records.append(record("inbound/missing-object"))

    assert receive(*records) == {"batchItemFailures": []}
    counted = sum(inbound.counts.values())
    assert counted == len(records)
    assert inbound.counts.get("MailInboundMalformed", 0) >= 4  # no headers, empty, no From, junk body, missing object
    for ticket in tickets_of(people["agent"]):
        assert "\r" not in ticket["subject"] and "\n" not in ticket["subject"]


# -- organizations' mail domains ---------------------------------------------------------------
def test_an_unknown_sender_at_an_organizations_domain_becomes_its_customer(people, inbound):
    admin = people["admin"]
    assert admin.patch("/v1/organizations/acme", {"domains": ["acme.example", "acme-corp.example"]}).status_code == 200
    deliver(message(sender="Carol <carol@acme-corp.example>", subject="Badge", text="My badge fails."))

    (ticket,) = tickets_of(people["agent"])
    carol = admin.get(f"/v1/users/{ticket['requester_id']}").data
    assert carol["organization_id"] == "acme" and carol["role"] == "customer"
    assert ticket["organization_id"] == "acme"
    deliver(message(sender="dan@elsewhere.example", subject="Hi", text="Hello."))
    dan = next(t for t in tickets_of(people["agent"]) if t["subject"] == "Hi")
    assert dan["organization_id"] is None


def test_a_mail_domain_belongs_to_one_organization_and_must_be_a_domain(people):
    admin = people["admin"]
    assert admin.patch("/v1/organizations/acme", {"domains": ["acme.example"]}).status_code == 200

    taken = admin.post("/v1/organizations", {"id": "globex", "name": "Globex", "domains": ["globex.example", "acme.example"]})
    assert taken.status_code == 409 and "acme.example" in taken.data["detail"]
    assert admin.get("/v1/organizations/globex").status_code == 404  # nothing half-written
    assert admin.post("/v1/organizations", {"id": "x", "name": "X", "domains": ["localhost"]}).status_code == 422

    assert admin.patch("/v1/organizations/acme", {"domains": []}).status_code == 200  # frees it
    created = admin.post("/v1/organizations", {"id": "globex", "name": "Globex", "domains": ["acme.example"]})
    assert created.status_code == 201 and created.data["domains"] == ["acme.example"]
    assert admin.delete("/v1/organizations/globex").status_code == 204
    assert admin.post("/v1/organizations", {"id": "initech", "name": "Initech", "domains": ["acme.example"]}).status_code == 201


# -- attachments -------------------------------------------------------------------------------
def with_files(*files: tuple[str, str, bytes], **kw: Any) -> bytes:
    built = EmailMessage()
    built["From"], built["To"] = kw.get("sender", "alice@acme.example"), f"support@{DOMAIN}"
    built["Subject"], built["Message-ID"] = kw.get("subject", "Logs"), f"<{uuid.uuid4().hex}@mail.example>"
    built.set_content(kw.get("text", "Logs attached."))
    for filename, content_type, data in files:
        maintype, subtype = content_type.split("/")
        built.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return built.as_bytes()


def test_an_allowed_file_is_stored_on_the_comment_and_a_disallowed_part_is_noted_for_agents(people, emailed_ticket, inbound):
    tid = emailed_ticket["id"]
    raw = with_files(
        ("vpn.log.txt", "text/plain", b"line 1\nline 2\n"),
        ("setup.exe", "application/x-msdownload", b"MZ" + b"\0" * 100),
        ("huge.pdf", "application/pdf", b"%PDF" + b"x" * 600_000),
        subject=f"[#{emailed_ticket['number']}] logs",
    )
    deliver(raw)

    (reply,) = comments(people["alice"], tid)
    assert reply["body"] == "Logs attached."
    assert [(a["filename"], a["size"]) for a in reply["attachments"]] == [("vpn.log.txt", 14)]
    listed = people["alice"].get(f"/v1/tickets/{tid}/attachments").data["items"]
    assert [a["filename"] for a in listed] == ["vpn.log.txt"]
    (key,) = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=ATTACHMENTS)["Contents"]]
    assert key.startswith(f"tickets/{tid}/") and key.endswith("/vpn.log.txt")
    assert boto3.client("s3").get_object(Bucket=ATTACHMENTS, Key=key)["Body"].read() == b"line 1\nline 2\n"

    notes = people["agent"].get(f"/v1/tickets/{tid}/timeline?type=note").data["items"]
    (note,) = notes
    assert "setup.exe" in note["body"] and "huge.pdf" in note["body"] and note["visibility"] == "internal"
    assert [e for e in people["alice"].get(f"/v1/tickets/{tid}/timeline").data["items"] if e["type"] == "note"] == []


def test_a_first_mail_with_a_file_opens_a_ticket_with_the_file_on_it(people, inbound):
    deliver(with_files(("report.csv", "text/csv", b"a,b\n1,2\n"), subject="Report"))
    (ticket,) = tickets_of(people["alice"])
    listed = people["alice"].get(f"/v1/tickets/{ticket['id']}/attachments").data["items"]
    assert [(a["filename"], a["comment_id"]) for a in listed] == [("report.csv", None)]


# -- refused -----------------------------------------------------------------------------------
def test_a_message_over_20_mb_opens_nothing_and_its_sender_gets_one_notice(people, inbound):
    big = with_files(("film.mp4", "video/mp4", b"\0" * (21 * 1024 * 1024)), subject="The video")
    once = record(stored(big))
    assert receive(once) == {"batchItemFailures": []}
    assert receive(once) == {"batchItemFailures": []}  # redelivered: no second notice

    assert tickets_of(people["agent"]) == []
    (notice,) = mails_to("alice@acme.example")
    assert notice["Subject"] == "Not delivered: The video" and notice["Auto-Submitted"] == "auto-replied"
    assert "larger than 20 MB" in notice.get_body(preferencelist=("plain",)).get_content()
    assert inbound.counts["MailInboundRefused"] == 2


def test_an_automated_message_over_20_mb_gets_no_notice(people, inbound):
    big = message(sender="robot@acme.example", subject="Backup", text="x" * (21 * 1024 * 1024), Auto_Submitted="auto-generated")
    deliver(big)
    assert sent() == [] and tickets_of(people["agent"]) == []
    assert inbound.counts == {"MailInboundRefused": 1}


# -- the original, for agents --------------------------------------------------------------------
def test_agents_download_the_original_of_an_emailed_comment_and_customers_get_404(people, emailed_ticket, inbound, client):
    import urllib.parse

    tid = emailed_ticket["id"]
    raw = message(subject=f"[#{emailed_ticket['number']}] more", text="See the headers.")
    deliver(raw)
    (reply,) = comments(people["agent"], tid)

    got = people["agent"].get(f"/v1/tickets/{tid}/activities/{reply['id']}/original")
    assert got.status_code == 200 and got.data["expires_in"] == 300
    from chalicelib.domain.mail.inbound import parse

    key = urllib.parse.unquote(urllib.parse.urlparse(got.data["download_url"]).path).lstrip("/").removeprefix(f"{BUCKET}/")
    assert parse(boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()).message_id == parse(raw).message_id
    first = people["agent"].get(f"/v1/tickets/{tid}/activities/description/original")
    assert first.status_code == 200
    assert people["alice"].get(f"/v1/tickets/{tid}/activities/{reply['id']}/original").status_code == 404
    agents_note = people["agent"].post(f"/v1/tickets/{tid}/comments", {"body": "typed", "visibility": "internal"}).data
    assert people["agent"].get(f"/v1/tickets/{tid}/activities/{agents_note['id']}/original").status_code == 404


# -- purge -----------------------------------------------------------------------------------------
def test_a_purged_ticket_leaves_no_message_id_lookup_behind(people, emailed_ticket, inbound):
    from app import app
    from chalicelib.storage.models import Record

    tid = emailed_ticket["id"]
    assert people["agent"].post(f"/v1/tickets/{tid}/comments", {"body": "On it."}).status_code == 201
    send_pending()  # our reply's Message-ID joins the thread and the lookup
    (notification,) = mails_to("alice@acme.example")
    table, dynamodb = Record.Meta.table_name, boto3.client("dynamodb")

    def lookups() -> list[str]:
        prefix = {":m": {"S": "MSGID#"}}
        items = dynamodb.scan(TableName=table, FilterExpression="begins_with(PK, :m)", ExpressionAttributeValues=prefix)
        return sorted(i["PK"]["S"] for i in items["Items"])

    assert f"MSGID#{notification['Message-ID'].lower()}" in lookups() and len(lookups()) == 2  # received and sent

    assert people["agent"].delete(f"/v1/tickets/{tid}").status_code == 204
    key = {"PK": {"S": f"TICKET#{tid}"}, "SK": {"S": "TICKET"}}
    dynamodb.delete_item(TableName=table, Key=key)  # what TTL does 90 days after the delete
    removed = {"eventName": "REMOVE", "eventSource": "aws:dynamodb", "dynamodb": {"Keys": key, "OldImage": key}}
    for _ in range(2):  # a redelivered record purges nothing twice and fails nothing
        assert app.handler_map["ticket_stream"]({"Records": [removed]}, None) == {"batchItemFailures": []}

    assert lookups() == []
    deliver(message(subject="Re: On it", text="Thanks!", In_Reply_To=notification["Message-ID"]))
    assert [t["id"] for t in tickets_of(people["agent"])] != [tid]  # the thread is gone: a new ticket


# -- SPF, DKIM, DMARC, spam and virus verdicts ------------------------------------------------------
def parked_reasons() -> dict[str, str]:
    from chalicelib.storage.inbound_mail import InboundMailRepository

    items, _ = InboundMailRepository().parked(limit=100)
    return {i["key"]: i["reason"] for i in items}


def test_a_forged_mail_from_a_known_customer_is_suspended_and_an_admin_can_release_it(people, emailed_ticket, inbound):
    from chalicelib.handlers.inbound_mail import receiver

    tid, number = emailed_ticket["id"], emailed_ticket["number"]
    forged = stored(message(subject=f"[#{number}] refund", text="Send the refund to my new account."))
    # the forger's own domain passes SPF, but it is not the From address's domain
    assert receive(record(forged, source="mallory@evil.example", spf="PASS", dkim="GRAY", dmarc="GRAY")) == {
        "batchItemFailures": []
    }
    unsigned = stored(message(subject=f"[#{number}] refund", text="Really."))
    assert receive(record(unsigned, spf="GRAY", dkim="GRAY", dmarc="GRAY")) == {"batchItemFailures": []}

    assert comments(people["agent"], tid) == []
    assert parked_reasons() == {forged: "unauthenticated", unsigned: "unauthenticated"}
    assert inbound.counts == {"MailInboundCreated": 1, "MailInboundSuspended": 2}

    released = receiver().receive(BUCKET, unsigned, release=True)  # an admin read it and lets it through
    assert released.outcome == "commented"
    assert [c["body"] for c in comments(people["alice"], tid)] == ["Really."]


def test_mail_failing_dmarc_or_marked_as_spam_is_suspended_with_its_reason(people, emailed_ticket, inbound):
    number = emailed_ticket["number"]
    dmarc = stored(message(subject=f"[#{number}] x", text="Forged."))
    spam = stored(message(sender="Zoe <zoe@nowhere.example>", subject="WIN", text="Cheap pills."))
    assert receive(record(dmarc, dmarc="FAIL"), record(spam, spam="FAIL")) == {"batchItemFailures": []}

    assert comments(people["agent"], emailed_ticket["id"]) == [] and len(tickets_of(people["agent"])) == 1
    assert parked_reasons() == {dmarc: "dmarc_failed", spam: "spam"}


def test_an_unknown_sender_without_spf_or_dkim_still_opens_a_ticket(people, inbound):
    key = stored(message(sender="Zoe <zoe@nowhere.example>", subject="Hello", text="New here."))
    assert receive(record(key, spf="GRAY", dkim="GRAY", dmarc="GRAY")) == {"batchItemFailures": []}

    (ticket,) = tickets_of(people["agent"])
    assert ticket["subject"] == "Hello" and inbound.counts == {"MailInboundCreated": 1}


def test_a_message_with_a_virus_is_never_stored_as_a_ticket_and_cannot_be_released(people, inbound):
    from chalicelib.handlers.inbound_mail import receiver

    infected = stored(with_files(("invoice.pdf", "application/pdf", b"%PDF infected"), subject="Invoice"))
    assert receive(record(infected, virus="FAIL")) == {"batchItemFailures": []}

    assert tickets_of(people["agent"]) == [] and sent() == []
    assert boto3.client("s3").list_objects_v2(Bucket=ATTACHMENTS).get("KeyCount") == 0  # no file stored
    assert parked_reasons() == {infected: "virus"} and inbound.counts == {"MailInboundQuarantined": 1}
    assert boto3.client("s3").get_object(Bucket=BUCKET, Key=infected)["Body"].read()  # the original, for admins
    assert receiver().receive(BUCKET, infected, release=True).outcome == "quarantined"
    assert tickets_of(people["agent"]) == []


def test_files_that_were_not_scanned_wait_for_an_admin(people, emailed_ticket, inbound):
    key = stored(with_files(("log.txt", "text/plain", b"x"), subject=f"[#{emailed_ticket['number']}] logs"))
    assert receive(record(key, virus="PROCESSING_FAILED")) == {"batchItemFailures": []}

    assert comments(people["agent"], emailed_ticket["id"]) == []
    assert parked_reasons() == {key: "virus_unscanned"}


def test_admins_list_held_mail_and_release_it_from_the_command_line(people, emailed_ticket, inbound, capsys, monkeypatch):
    from chalicelib import cli
    from tests.conftest import TABLE

    monkeypatch.setenv("HELPDESK_TABLE", TABLE)  # the command sets it for the composition root
    number = emailed_ticket["number"]
    held = stored(message(subject=f"[#{number}] x", text="Held back."))
    virus = stored(message(subject=f"[#{number}] y", text="Infected."))
    assert receive(record(held, spf="GRAY", dkim="GRAY"), record(virus, virus="FAIL")) == {"batchItemFailures": []}
    capsys.readouterr()

    assert cli.main(["parked-mail", "--table", TABLE]) == 0
    listed = sorted(line.split("\t")[:2] for line in capsys.readouterr().out.splitlines())
    assert listed == sorted([[held, "unauthenticated"], [virus, "virus"]])
    assert cli.main(["release-mail", virus, "--bucket", BUCKET, "--table", TABLE]) == 1
    assert cli.main(["release-mail", held, "--bucket", BUCKET, "--table", TABLE]) == 0
    assert "commented" in capsys.readouterr().out
    assert [c["body"] for c in comments(people["agent"], emailed_ticket["id"])] == ["Held back."]


# -- users written before the email and staff indexes ---------------------------------------------
def test_users_written_before_the_indexes_are_found_by_mail_and_routing_after_backfill_index(people, inbound, capsys):
    from chalicelib import cli
    from chalicelib.storage.directory import DirectoryRepository
    from tests.conftest import TABLE

    dynamodb = boto3.client("dynamodb")
    users = dynamodb.query(
        TableName=TABLE, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": "DIR#user"}}
    )["Items"]
    for user in users:  # as records written before GSI3 (email) and GSI1 STAFF existed
        key = {"PK": user["PK"], "SK": user["SK"]}
        dynamodb.update_item(TableName=TABLE, Key=key, UpdateExpression="REMOVE GSI3PK, GSI3SK, GSI1PK, GSI1SK")
    assert DirectoryRepository().users_by_email("alice@acme.example") == []
    assert DirectoryRepository().staff() == []
    versions = {u["SK"]["S"]: u["version"]["N"] for u in users}

    assert cli.main(["backfill-index", "--table", TABLE, "--page-size", "3"]) == 0
    out = capsys.readouterr().out
    assert f"backfilled {len(users)} of {len(users)} users" in out and "resume with --after" in out  # paged
    assert cli.main(["backfill-index", "--table", TABLE]) == 0  # again: nothing left to do
    assert f"backfilled 0 of {len(users)} users" in capsys.readouterr().out

    assert [u.id for u in DirectoryRepository().users_by_email("alice@acme.example")] == ["alice"]
    assert {u.id for u in DirectoryRepository().staff()} >= {"admin-1", "agent-all"}
    after = dynamodb.query(TableName=TABLE, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": users[0]["PK"]})
    assert {u["SK"]["S"]: u["version"]["N"] for u in after["Items"]} == versions  # ETags unchanged
    deliver(message(subject="After the upgrade", text="Still me."))
    (ticket,) = tickets_of(people["agent"])
    assert ticket["requester_id"] == "alice"  # not a second, mail-created customer


def test_backfill_index_resumes_after_the_position_it_printed(people, capsys):
    from chalicelib import cli
    from tests.conftest import TABLE

    dynamodb = boto3.client("dynamodb")
    dynamodb.update_item(
        TableName=TABLE, Key={"PK": {"S": "DIR#user"}, "SK": {"S": "alice"}}, UpdateExpression="REMOVE GSI3PK, GSI3SK"
    )
    assert cli.main(["backfill-index", "--table", TABLE, "--after", "alice"]) == 0  # past alice: not hers
    assert "GSI3PK" not in dynamodb.get_item(TableName=TABLE, Key={"PK": {"S": "DIR#user"}, "SK": {"S": "alice"}})["Item"]
    assert cli.main(["backfill-index", "--table", TABLE, "--after", "agent-named"]) == 0
    item = dynamodb.get_item(TableName=TABLE, Key={"PK": {"S": "DIR#user"}, "SK": {"S": "alice"}})["Item"]
    assert item["GSI3PK"]["S"] == "EMAIL#alice@acme.example"


# -- Cc --------------------------------------------------------------------------------------------
def test_people_copied_on_a_mail_are_ccd_when_they_are_users_or_new_customers_of_the_organizations_domain(people, inbound):
    admin = people["admin"]
    assert admin.patch("/v1/organizations/acme", {"domains": ["acme.example"]}).status_code == 200
    deliver(
        message(
            subject="Badge",
            text="Copying my colleagues.",
            Cc="Bob <bob@acme.example>, carol@acme.example, dan@elsewhere.example, agent@corp.example, BOB@acme.example",
        )
    )

    (ticket,) = tickets_of(people["agent"])
    full = people["agent"].get(f"/v1/tickets/{ticket['id']}").data
    carol = [u for u in full["cc"] if u not in ("bob",)]
    assert full["cc"][0] == "bob" and len(full["cc"]) == 2  # dan: unknown elsewhere; the agent: not by a customer
    assert admin.get(f"/v1/users/{carol[0]}").data["email"] == "carol@acme.example"
    assert admin.get(f"/v1/users/{carol[0]}").data["organization_id"] == "acme"
    assert [t["id"] for t in tickets_of(people["bob"])] == [ticket["id"]]  # bob reads it now

    reply = message(subject=f"Re: [#{ticket['number']}] Badge", text="And Erin.", Cc="erin@acme.example, support@helpdesk.local")
    deliver(reply)
    after = people["agent"].get(f"/v1/tickets/{ticket['id']}").data["cc"]
    assert after[:2] == full["cc"] and len(after) == 3


def test_a_ccd_customer_replying_by_mail_adds_nobody(people, inbound):
    assert people["admin"].patch("/v1/organizations/acme", {"domains": ["acme.example"]}).status_code == 200
    deliver(message(subject="Badge", text="Hi.", Cc="bob@acme.example"))
    (ticket,) = tickets_of(people["agent"])
    deliver(message(sender="bob@acme.example", subject=f"Re: [#{ticket['number']}] Badge", text="Me too.", Cc="zed@acme.example"))

    full = people["agent"].get(f"/v1/tickets/{ticket['id']}").data
    assert full["cc"] == ["bob"] and [c["body"] for c in comments(people["agent"], ticket["id"])] == ["Me too."]
