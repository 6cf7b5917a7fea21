"""Mail notifications end to end: API change → outbox → bus (the template's rule) → the
notification queue → `send_notifications` → SES (moto keeps what was sent)."""

from __future__ import annotations

import email
import json
from collections.abc import Callable, Iterator
from email import policy
from typing import Any

import boto3
import pytest

from tests.api.conftest import ApiUser
from tests.api.test_event_publisher import invoke_handler as publish
from tests.api.test_event_publisher import stream_records
from tests.api.test_webhooks import BUS, take
from tests.conftest import ROOT, TABLE
from tests.faults.injection import Call, Fault, Injector

DOMAIN = "helpdesk.local"


def template_rule_pattern() -> dict[str, Any]:
    template = json.loads((ROOT / "infra" / "template.json").read_text())
    return template["Resources"]["NotificationRule"]["Properties"]["EventPattern"]


@pytest.fixture
def mail(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The bus with the template's notification rule into a queue, SES with the verified domain."""
    from chalicelib.handlers import notifications as handler

    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name=BUS)
    queue = sqs.create_queue(QueueName="notifications")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="notifications", EventBusName=BUS, EventPattern=json.dumps(template_rule_pattern()))
    events.put_targets(Rule="notifications", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": arn}])
    boto3.client("ses").verify_domain_identity(Domain=DOMAIN)
    monkeypatch.setenv("HELPDESK_EVENT_BUS", BUS)
    handler.sender.cache_clear()
    yield {"queue": queue}
    handler.sender.cache_clear()


@pytest.fixture
def people(mail: dict[str, Any], login: Callable[..., ApiUser]) -> dict[str, ApiUser]:
    users = {
        "admin": login("admin-1", "admin", email="admin@corp.example"),
        "agent": login("agent-all", "agent", teams=["support"], access="all", email="agent@corp.example"),
        "assignee": login("agent-assigned", "agent", teams=["support"], access="all", email="assignee@corp.example"),
        "follower": login("agent-follower", "agent", teams=["support"], access="all", email="follower@corp.example"),
        "named": login("agent-named", "agent", teams=["support"], access="all", email="named@corp.example"),
        "alice": login("alice", "customer", org="acme", email="alice@acme.example"),
        "bob": login("bob", "customer", org="acme", email="bob@acme.example"),
    }
    assert users["admin"].post("/v1/organizations", {"id": "acme", "name": "Acme"}).status_code == 201
    for user in users.values():
        assert user.get("/v1/statuses").status_code == 200
    return users


def sent() -> list[Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def addressees() -> list[str]:
    """The Destinations of each SendRawEmail (moto appends the To header's addresses after them)."""
    return [m.destinations[0] for m in sent()]


def mails_to(address: str) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(m.raw_data.encode("utf-8"), policy=policy.default)  # type: ignore[misc]
        for m in sent()
        if m.destinations[0] == address
    ]


def queued_events() -> list[dict[str, Any]]:
    """Publish what the outbox holds since the last call; the records the queue then holds."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    records = stream_records()
    dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(TABLE).stream_shard.items.clear()
    assert publish(records) == {"batchItemFailures": []}
    return [record for record, _ in take(queue_url())]


def queue_url() -> str:
    return boto3.client("sqs").get_queue_url(QueueName="notifications")["QueueUrl"]


def deliver(records: list[dict[str, Any]]) -> Any:
    """Through the registered Lambda entry point, as the SQS event source mapping calls it."""
    from app import app

    return app.handler_map["send_notifications"]({"Records": records}, None)


def send_pending() -> None:
    assert deliver(queued_events()) == {"batchItemFailures": []}


def body_of(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.fixture
def ticket(people: dict[str, ApiUser]) -> dict[str, Any]:
    created = people["alice"].post("/v1/tickets", {"subject": "VPN drops", "description": "Every hour."})
    assert created.status_code == 201
    send_pending()  # the requester opened it herself: nobody is told
    assert sent() == []
    return created.data


def test_public_reply_mails_the_requester_and_cc_never_the_author(people, ticket):
    reply = people["agent"].post(f"/v1/tickets/{ticket['id']}/comments", {"body": "Fixed, please confirm.", "cc": ["bob"]})
    assert reply.status_code == 201, reply.body
    send_pending()

    assert sorted(addressees()) == ["alice@acme.example", "bob@acme.example"]
    (to_alice,) = mails_to("alice@acme.example")
    assert to_alice["Subject"] == f"[#{ticket['number']}] VPN drops"
    assert to_alice["Auto-Submitted"] == "auto-generated"
    assert to_alice["From"].addresses[0].addr_spec == f"support@{DOMAIN}"
    assert to_alice["Reply-To"].addresses[0].addr_spec.startswith(f"support+{ticket['id']}-")
    assert "Fixed, please confirm." in body_of(to_alice)
    assert "internal" not in body_of(to_alice)
    assert mails_to("agent@corp.example") == []


def test_internal_note_reaches_assignee_followers_and_named_agents_but_no_customer(people, ticket):
    tid = ticket["id"]
    assert people["agent"].patch(f"/v1/tickets/{tid}", {"assignee_id": "agent-assigned"}).status_code == 200
    assert people["follower"].request("PUT", f"/v1/tickets/{tid}/followers/me").status_code in (200, 204)
    send_pending()
    before = len(sent())

    note = {"body": "Root cause: expired cert", "visibility": "internal", "notify": ["agent-named"]}
    assert people["agent"].post(f"/v1/tickets/{tid}/comments", note).status_code == 201
    send_pending()

    new = sent()[before:]
    assert sorted(m.destinations[0] for m in new) == [
        "assignee@corp.example",
        "follower@corp.example",
        "named@corp.example",
    ]
    for address in ("assignee@corp.example", "named@corp.example"):
        text = body_of(mails_to(address)[-1])
        assert "internal note" in text and "Root cause: expired cert" in text
    assert mails_to("alice@acme.example") == []


def test_a_redelivered_batch_sends_nothing_twice(people, ticket):
    assert people["agent"].post(f"/v1/tickets/{ticket['id']}/comments", {"body": "On it", "cc": ["bob"]}).status_code == 201
    records = queued_events()
    assert deliver(records) == {"batchItemFailures": []}
    assert len(sent()) == 2

    assert deliver(records) == {"batchItemFailures": []}  # SQS redelivers the same messages
    assert deliver(records + records) == {"batchItemFailures": []}
    assert len(sent()) == 2


def test_ses_throttling_fails_the_item_and_the_retry_sends_each_mail_once(people, ticket):
    assert people["agent"].post(f"/v1/tickets/{ticket['id']}/comments", {"body": "On it", "cc": ["bob"]}).status_code == 201
    records = queued_events()
    injector = Injector()
    throttled = Fault("ThrottlingException", "throttled", "ThrottlingException")
    with injector.installed(), injector.watching(at=(Call("ses", "SendRawEmail"), 1), fault=throttled) as calls:
        first = deliver(records)
    assert first == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
    assert calls.count(Call("ses", "SendRawEmail")) == 2  # one accepted, one throttled
    assert len(sent()) == 1

    assert deliver(records) == {"batchItemFailures": []}  # the retry: only the one not sent
    assert sorted(addressees()) == ["alice@acme.example", "bob@acme.example"]


def test_the_second_mail_threads_to_the_first(people, ticket):
    tid = ticket["id"]
    for text in ("First answer", "Second answer"):
        assert people["agent"].post(f"/v1/tickets/{tid}/comments", {"body": text}).status_code == 201
        send_pending()

    first, second = mails_to("alice@acme.example")
    assert first["Message-ID"] != second["Message-ID"]
    assert second["In-Reply-To"] == first["Message-ID"]
    references = second["References"].split()
    assert references[-1] == first["Message-ID"] and references[0] == first["References"].split()[0]  # the root


def test_each_sent_mail_is_on_the_timeline_for_agents_not_customers(people, ticket):
    tid = ticket["id"]
    assert people["agent"].post(f"/v1/tickets/{tid}/comments", {"body": "Hello"}).status_code == 201
    send_pending()
    (message,) = mails_to("alice@acme.example")

    entries = people["agent"].get(f"/v1/tickets/{tid}/timeline?type=email").data["items"]
    (entry,) = entries
    assert entry["subject"] == f"[#{ticket['number']}] VPN drops"
    assert entry["fields"]["to"] == ["alice@acme.example"] and entry["fields"]["message_id"] == message["Message-ID"]
    customer_view = people["alice"].get(f"/v1/tickets/{tid}/timeline").data["items"]
    assert [e for e in customer_view if e["type"] == "email"] == []


def test_a_permanent_bounce_suppresses_the_address(people, ticket):
    from app import app

    bounce = {
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "Alice@Acme.example"}]},
    }
    transient = {
        "eventType": "Bounce",
        "bounce": {"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": "bob@acme.example"}]},
    }
    records = [
        {"EventSource": "aws:sns", "Sns": {"Message": json.dumps(m), "Subject": "", "MessageAttributes": {}}}
        for m in (bounce, transient)
    ]
    app.handler_map["record_mail_feedback"]({"Records": records}, None)

    assert people["agent"].post(f"/v1/tickets/{ticket['id']}/comments", {"body": "Anyone?", "cc": ["bob"]}).status_code == 201
    send_pending()
    assert addressees() == ["bob@acme.example"]


def test_a_user_who_turned_notifications_off_gets_no_mail(people, ticket, login):
    turned = people["alice"].patch("/v1/me", {"notifications": False})
    assert turned.status_code == 200 and turned.data["notifications"] is False
    # A new token (another name) records the user again: the choice survives it.
    alice_again = login("alice", "customer", org="acme", email="alice@acme.example", name="Alice Liddell")
    assert alice_again.get("/v1/me").data["notifications"] is False

    assert people["agent"].post(f"/v1/tickets/{ticket['id']}/comments", {"body": "Done", "cc": ["bob"]}).status_code == 201
    send_pending()
    assert addressees() == ["bob@acme.example"]


def test_admins_turn_a_users_notifications_off_and_everyone_sees_the_setting(people, ticket):
    admin = people["admin"]
    assert admin.get("/v1/users/bob").data["notifications"] is True
    assert admin.patch("/v1/users/bob", {"notifications": False}).data["notifications"] is False
    assert people["bob"].get("/v1/me").data["notifications"] is False
    assert people["bob"].patch("/v1/me", {"role": "admin"}).status_code == 422  # only preferences

    assert people["agent"].post(f"/v1/tickets/{ticket['id']}/comments", {"body": "Done", "cc": ["bob"]}).status_code == 201
    send_pending()
    assert addressees() == ["alice@acme.example"]


def test_an_unreadable_message_fails_only_its_own_item(people, ticket):
    assert people["agent"].post(f"/v1/tickets/{ticket['id']}/comments", {"body": "Hi"}).status_code == 201
    records = queued_events()
    broken = {"messageId": "broken-1", "body": "{not json", "eventSource": "aws:sqs"}
    foreign = {
        "messageId": "foreign-1",
        "body": json.dumps({"detail-type": "comment.created", "detail": {}}),
        "eventSource": "aws:sqs",
    }

    result = deliver([broken, *records, foreign])

    assert result == {"batchItemFailures": [{"itemIdentifier": "broken-1"}, {"itemIdentifier": "foreign-1"}]}
    assert addressees() == ["alice@acme.example"]


def test_a_crash_after_sending_holds_the_claim_then_resends_with_the_same_message_id(people, ticket, monkeypatch):
    from datetime import timedelta

    from chalicelib import composition
    from chalicelib.handlers import notifications as handler
    from chalicelib.services.notifications import CLAIM_LEASE

    assert people["agent"].post(f"/v1/tickets/{ticket['id']}/comments", {"body": "Hi"}).status_code == 201
    records = queued_events()
    injector = Injector()
    unavailable = Fault("InternalServerError", "unavailable", "InternalServerError")
    # SES accepted the mail, then recording it failed (as if the function died there)
    with injector.installed(), injector.watching(at=(Call("dynamodb", "TransactWriteItems"), 0), fault=unavailable):
        assert deliver(records)["batchItemFailures"] == [{"itemIdentifier": records[0]["messageId"]}]
    (first,) = mails_to("alice@acme.example")

    # redelivered within the lease: held, the item fails again, nothing is sent
    assert deliver(records)["batchItemFailures"] == [{"itemIdentifier": records[0]["messageId"]}]
    assert len(sent()) == 1

    later = composition.clock() + CLAIM_LEASE + timedelta(seconds=1)
    monkeypatch.setattr(composition, "clock", lambda: later)
    handler.sender.cache_clear()
    assert deliver(records) == {"batchItemFailures": []}
    _, second = mails_to("alice@acme.example")
    assert second["Message-ID"] == first["Message-ID"]  # the client shows it once
    assert deliver(records) == {"batchItemFailures": []} and len(sent()) == 2
    entries = people["agent"].get(f"/v1/tickets/{ticket['id']}/timeline?type=email").data["items"]
    assert len(entries) == 1


def test_solving_mails_the_requester_without_agent_only_changes_and_the_follower_with_them(people, ticket):
    tid = ticket["id"]
    assert people["follower"].request("PUT", f"/v1/tickets/{tid}/followers/me").status_code in (200, 204)
    assert people["agent"].patch(f"/v1/tickets/{tid}", {"tags": ["vpn"]}).status_code == 200
    send_pending()
    assert addressees() == ["follower@corp.example"]  # a tag change concerns no customer

    solved = people["agent"].patch(f"/v1/tickets/{tid}", {"status": "resolved", "tags": ["vpn", "cert"]})
    assert solved.status_code == 200, solved.body
    send_pending()

    (to_alice,) = mails_to("alice@acme.example")
    assert "status: open → resolved" in body_of(to_alice) and "tags" not in body_of(to_alice)
    assert "tags" in body_of(mails_to("follower@corp.example")[-1])


def test_a_deployed_stage_needs_its_mail_secret_and_local_stages_have_one():
    from chalicelib.config import LOCAL_MAIL_SECRET, MailSettings

    with pytest.raises(RuntimeError, match="HELPDESK_MAIL_SECRET"):
        MailSettings.from_env({"HELPDESK_STAGE": "prod"})
    ring = MailSettings.from_env(
        {"HELPDESK_STAGE": "prod", "HELPDESK_MAIL_SECRET": "new", "HELPDESK_MAIL_SECRET_PREVIOUS": "old"}
    )
    assert ring.secrets == (b"new", b"old") and ring.support_domain == "helpdesk.local"
    assert MailSettings.from_env({}).secrets == (LOCAL_MAIL_SECRET.encode(),)
