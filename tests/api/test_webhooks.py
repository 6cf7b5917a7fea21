"""Webhooks: the admins' collection, and delivery from a committed change to a receiver.

Delivery runs the real path in-process: API writes → the table's stream → the event publisher →
a moto bus whose rule feeds a delivery queue (as WebhookDeliveryRule does) → the delivery
handler → a fake transport standing in for the receivers. Retries are real delayed SQS messages.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib.domain import webhooks as rules
from chalicelib.services.webhooks import DeliveryError
from tests.api.test_event_publisher import invoke_handler as publish
from tests.api.test_event_publisher import stream_records

BUS = "helpdesk-test-bus"
GOOD = "https://good.example.com/hooks"
BAD = "https://bad.example.com/hooks"


def test_admin_creates_a_webhook_and_gets_its_secret_once(world):
    admin = world["admin"]

    created = admin.post("/v1/webhooks", {"url": GOOD, "events": ["ticket.created", "comment.created"]})

    assert created.status_code == 201, created.body
    body = created.data
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert {k: body[k] for k in ("url", "events", "active", "version")} == {
        "url": GOOD,
        "events": ["ticket.created", "comment.created"],
        "active": True,
        "version": 1,
    }
    assert created.headers["Location"] == f"/v1/webhooks/{body['id']}" and created.headers["ETag"] == '"1"'
    fetched = admin.get(f"/v1/webhooks/{body['id']}")
    listed = admin.get("/v1/webhooks")
    patched = admin.patch(f"/v1/webhooks/{body['id']}", {"active": False})
    for response in (fetched, patched):
        assert response.status_code == 200 and "secret" not in response.data
    assert [w["id"] for w in listed.data["items"]] == [body["id"]] and "secret" not in listed.data["items"][0]
    assert body["secret"].encode() not in fetched.body + listed.body + patched.body
    second = admin.post("/v1/webhooks", {"url": GOOD, "events": ["*"]})
    assert second.data["secret"] != body["secret"]


def test_patch_changes_fields_keeps_the_secret_and_honours_if_match(world, monkeypatch):
    admin = world["admin"]
    hook = admin.post("/v1/webhooks", {"url": GOOD, "events": ["*"]}).data

    patched = admin.patch(
        f"/v1/webhooks/{hook['id']}", {"url": BAD, "events": ["sla.breached"], "active": False}, headers={"If-Match": '"1"'}
    )
    stale = admin.patch(f"/v1/webhooks/{hook['id']}", {"active": True}, headers={"If-Match": '"1"'})

    assert patched.status_code == 200
    assert (patched.data["url"], patched.data["events"], patched.data["active"], patched.data["version"]) == (
        BAD,
        ["sla.breached"],
        False,
        2,
    )
    assert stale.status_code == 412
    from chalicelib import composition

    stored = composition.directory_repository().get("webhook", hook["id"])
    assert stored is not None and stored.data["secret"] == hook["secret"]


def test_delete_removes_the_webhook(world):
    admin = world["admin"]
    hook = admin.post("/v1/webhooks", {"url": GOOD, "events": ["*"]}).data

    assert admin.delete(f"/v1/webhooks/{hook['id']}").status_code == 204
    assert admin.get(f"/v1/webhooks/{hook['id']}").status_code == 404
    assert admin.delete(f"/v1/webhooks/{hook['id']}").status_code == 404
    assert admin.patch(f"/v1/webhooks/{hook['id']}", {"active": True}).status_code == 404


@pytest.mark.parametrize("who", ["agent_all", "agent_support", "alice", "acme_admin"])
def test_only_admins_may_touch_webhooks(world, who):
    hook = world["admin"].post("/v1/webhooks", {"url": GOOD, "events": ["*"]}).data
    user = world[who]

    responses = [
        user.post("/v1/webhooks", {"url": GOOD, "events": ["*"]}),
        user.get("/v1/webhooks"),
        user.get(f"/v1/webhooks/{hook['id']}"),
        user.patch(f"/v1/webhooks/{hook['id']}", {"active": False}),
        user.delete(f"/v1/webhooks/{hook['id']}"),
    ]

    assert [r.status_code for r in responses] == [403] * 5
    assert all(r.headers["Content-Type"] == "application/problem+json" for r in responses)
    assert world["admin"].get(f"/v1/webhooks/{hook['id']}").data["active"] is True


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"url": "http://hooks.example.com/x", "events": ["*"]}, ["url"]),
        ({"url": "https://localhost/x", "events": ["*"]}, ["url"]),
        ({"url": "https://169.254.169.254/latest/meta-data/", "events": ["*"]}, ["url"]),
        ({"url": "https://10.0.0.8/x", "events": ["*"]}, ["url"]),
        ({"url": "https://[::1]/x", "events": ["*"]}, ["url"]),
        ({"url": "https://2130706433/x", "events": ["*"]}, ["url"]),
        ({"url": "https://admin:pw@hooks.example.com/x", "events": ["*"]}, ["url"]),
        ({"url": "hooks.example.com/x", "events": ["*"]}, ["url"]),
        ({"url": GOOD, "events": []}, ["events"]),
        ({"url": GOOD, "events": ["ticket.exploded"]}, ["events[0]"]),
        ({"url": GOOD, "events": ["*", "ticket.created"]}, ["events[0]"]),
        ({"url": GOOD, "events": ["*"], "active": "yes"}, ["active"]),
        ({"url": GOOD, "events": ["*"], "secret": "mine"}, ["secret"]),
        ({"events": ["*"]}, ["url"]),
        ({"url": "ftp://x.example.com/", "events": ["nope"]}, ["url", "events[0]"]),
    ],
)
def test_invalid_webhooks_are_422_per_field(world, body, fields):
    response = world["admin"].post("/v1/webhooks", body)

    assert response.status_code == 422, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.data["errors"]] == fields
    assert world["admin"].get("/v1/webhooks").data["items"] == []


def test_patch_is_validated_like_create(world):
    admin = world["admin"]
    hook = admin.post("/v1/webhooks", {"url": GOOD, "events": ["*"]}).data

    for body, field in (
        ({"url": "https://192.168.0.1/"}, "url"),
        ({"events": []}, "events"),
        ({"active": None}, "active"),
        ({"secret": "x"}, "secret"),
    ):
        response = admin.patch(f"/v1/webhooks/{hook['id']}", body)
        assert response.status_code == 422 and response.data["errors"][0]["field"] == field, body
    assert admin.get(f"/v1/webhooks/{hook['id']}").data["version"] == 1


def test_webhooks_page_with_cursors(world):
    admin = world["admin"]
    ids = {admin.post("/v1/webhooks", {"url": f"https://h{n}.example.com/", "events": ["*"]}).data["id"] for n in range(5)}

    seen, cursor = [], None
    while True:
        page = admin.get("/v1/webhooks?limit=2" + (f"&cursor={cursor}" if cursor else "")).data
        assert len(page["items"]) <= 2
        seen += [w["id"] for w in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)
    assert admin.get("/v1/webhooks?cursor=tampered").status_code == 400


# -- delivery ----------------------------------------------------------------------------------
class Receivers:
    """The fake transport: records every POST; answers per URL (a status, or raising)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.answers: dict[str, int | Exception] = {}

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        self.calls.append({"url": url, "body": body, "headers": dict(headers), "timeout": timeout})
        answer = self.answers.get(url, 200)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def to(self, url: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["url"] == url]


@pytest.fixture
def delivery(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A bus with the template's webhook rule, the delivery queue and its DLQ, fake receivers."""
    from chalicelib.handlers import webhooks as handler

    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name=BUS)
    dlq = sqs.create_queue(QueueName="webhook-dlq")["QueueUrl"]
    queue = sqs.create_queue(QueueName="webhook-delivery")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="webhooks", EventBusName=BUS, EventPattern=json.dumps({"source": ["helpdesk"]}))
    events.put_targets(Rule="webhooks", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": arn}])
    monkeypatch.setenv("HELPDESK_EVENT_BUS", BUS)
    monkeypatch.setenv("HELPDESK_WEBHOOK_QUEUE_URL", queue)
    monkeypatch.setenv("HELPDESK_WEBHOOK_DLQ_URL", dlq)
    receivers = Receivers()
    monkeypatch.setattr(handler, "PinnedHttpsTransport", lambda: receivers)
    handler.dispatcher.cache_clear()
    yield {"queue": queue, "dlq": dlq, "receivers": receivers}
    handler.dispatcher.cache_clear()


def take(queue_url: str) -> list[tuple[dict[str, Any], int]]:
    """Every message in the queue as an SQS record, with the delay it was sent with (seconds);
    delayed messages are made visible at once (moto honours DelaySeconds)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_queue(queue_url.rsplit("/", 1)[1])
    delays = {}
    for message in queue._messages:
        delays[message.id] = max(0, round((message.delayed_until - message.sent_timestamp) / 1000))
        message.delayed_until = 0
    sqs, taken = boto3.client("sqs"), []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return taken
        for m in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
            taken.append(({"messageId": m["MessageId"], "body": m["Body"], "eventSource": "aws:sqs"}, delays[m["MessageId"]]))


def deliver(records: list[dict[str, Any]]) -> Any:
    """Through the registered Lambda entry point, as the SQS event source mapping calls it."""
    from app import app

    return app.handler_map["deliver_webhooks"]({"Records": records}, None)


def publish_everything() -> None:
    assert publish(stream_records()) == {"batchItemFailures": []}


def metrics(out: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for line in out.splitlines():
        if '"_aws"' not in line:
            continue
        emf = json.loads(line)
        assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Helpdesk" and emf["service"] == "helpdesk"
        for metric in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            value = emf[metric["Name"]]
            totals[metric["Name"]] = totals.get(metric["Name"], 0) + (sum(value) if isinstance(value, list) else value)
    return totals


def test_a_committed_change_reaches_its_subscribers_signed(world, make_ticket, delivery, capsys):
    admin = world["admin"]
    hook = admin.post("/v1/webhooks", {"url": GOOD, "events": ["ticket.updated"]}).data
    every = admin.post("/v1/webhooks", {"url": BAD, "events": ["*"]}).data
    admin.post("/v1/webhooks", {"url": "https://off.example.com/", "events": ["*"], "active": False})
    admin.post("/v1/webhooks", {"url": "https://other.example.com/", "events": ["comment.created"]})
    ticket = make_ticket()
    assert world["agent_all"].patch(f"/v1/tickets/{ticket['id']}", {"priority": "urgent"}).status_code == 200
    publish_everything()
    capsys.readouterr()

    messages = take(delivery["queue"])
    assert deliver([record for record, _ in messages]) == {"batchItemFailures": []}

    receivers = delivery["receivers"]
    ticket_calls = [c for c in receivers.calls if json.loads(c["body"])["type"].startswith("ticket.")]
    assert sorted(c["url"] for c in ticket_calls) == sorted([GOOD, BAD, BAD])  # created + updated to "*"
    # "*" also gets the configuration changes (the world's teams and organizations, the webhooks)
    others = [json.loads(c["body"]) for c in receivers.to(BAD) if c not in ticket_calls]
    assert {(e["type"], e["detail"]["resource"]) for e in others} >= {("resource.created", "webhook")}
    (call,) = receivers.to(GOOD)
    payload = json.loads(call["body"])
    assert set(payload) == {"id", "type", "at", "detail"}
    assert payload["type"] == "ticket.updated" and payload["detail"]["ticket_id"] == ticket["id"]
    assert payload["detail"]["changes"] == [{"property": "priority", "old": "normal", "new": "urgent"}]
    # The same event as the change feed shows it (id, type, at).
    feed_ids = {json.loads(m["body"])["detail"]["event_id"] for m, _ in messages}
    assert payload["id"] in feed_ids and payload["at"] == payload["detail"]["at"]
    headers = call["headers"]
    assert headers["Helpdesk-Event-Id"] == payload["id"] and headers["Helpdesk-Event-Type"] == "ticket.updated"
    assert headers["Content-Type"] == "application/json" and call["timeout"] == 5.0
    assert rules.verify(hook["secret"], headers["Helpdesk-Signature"], call["body"], now=int(time.time()))
    assert not rules.verify(every["secret"], headers["Helpdesk-Signature"], call["body"], now=int(time.time()))
    assert metrics(capsys.readouterr().out) == {"WebhookDeliveries": len(receivers.calls)}
    assert take(delivery["queue"]) == [] and take(delivery["dlq"]) == []


def test_a_failing_receiver_is_retried_alone_then_given_up_and_counted(world, make_ticket, delivery, capsys):
    admin = world["admin"]
    admin.post("/v1/webhooks", {"url": GOOD, "events": ["ticket.created"]})
    bad = admin.post("/v1/webhooks", {"url": BAD, "events": ["ticket.created"]}).data
    receivers = delivery["receivers"]
    receivers.answers[BAD] = 500
    make_ticket()
    publish_everything()
    capsys.readouterr()

    assert deliver([r for r, _ in take(delivery["queue"])]) == {"batchItemFailures": []}
    delays = []
    for attempt in range(2, rules.MAX_ATTEMPTS + 1):
        receivers.answers[BAD] = 503 if attempt % 2 else DeliveryError("connection refused")
        (retry, delay) = take(delivery["queue"])[0:1][0]
        body = json.loads(retry["body"])
        assert (body["webhook_id"], body["attempt"]) == (bad["id"], attempt)
        delays.append(delay)
        assert deliver([retry]) == {"batchItemFailures": []}

    assert delays == list(rules.RETRY_DELAYS)
    assert len(receivers.to(GOOD)) == 1  # never again because the other one failed
    attempts = receivers.to(BAD)
    assert [c["headers"]["Helpdesk-Delivery-Attempt"] for c in attempts] == [str(n) for n in range(1, rules.MAX_ATTEMPTS + 1)]
    assert len({c["headers"]["Helpdesk-Event-Id"] for c in attempts}) == 1
    assert take(delivery["queue"]) == []
    (parked, _) = take(delivery["dlq"])[0:1][0]
    parked_body = json.loads(parked["body"])
    assert (parked_body["webhook_id"], parked_body["attempt"], parked_body["gave_up_after"]) == (bad["id"], 1, rules.MAX_ATTEMPTS)
    assert metrics(capsys.readouterr().out) == {
        "WebhookDeliveries": 1,
        "WebhookRetries": rules.MAX_ATTEMPTS - 1,
        "WebhookFailures": 1,
    }

    # Redriven from the DLQ once the receiver is fixed: one more delivery, to that webhook only.
    receivers.answers[BAD] = 204
    assert deliver([parked]) == {"batchItemFailures": []}
    assert len(receivers.to(BAD)) == rules.MAX_ATTEMPTS + 1 and len(receivers.to(GOOD)) == 1


def test_a_redirect_is_a_failed_attempt(world, make_ticket, delivery):
    world["admin"].post("/v1/webhooks", {"url": BAD, "events": ["ticket.created"]})
    delivery["receivers"].answers[BAD] = 302
    make_ticket()
    publish_everything()

    deliver([r for r, _ in take(delivery["queue"])])

    (retry, delay) = take(delivery["queue"])[0]
    assert json.loads(retry["body"])["attempt"] == 2 and delay == rules.RETRY_DELAYS[0]


def test_a_retry_for_a_webhook_deactivated_meanwhile_is_dropped(world, make_ticket, delivery):
    from chalicelib import composition

    admin = world["admin"]
    hook = admin.post("/v1/webhooks", {"url": BAD, "events": ["ticket.created"]}).data
    delivery["receivers"].answers[BAD] = 500
    make_ticket()
    publish_everything()
    deliver([r for r, _ in take(delivery["queue"])])
    admin.patch(f"/v1/webhooks/{hook['id']}", {"active": False})
    composition.webhook_cache().invalidate()  # another container would see it within CACHE_SECONDS

    (retry, _) = take(delivery["queue"])[0]
    assert deliver([retry]) == {"batchItemFailures": []}

    assert len(delivery["receivers"].to(BAD)) == 1
    assert take(delivery["queue"]) == [] and take(delivery["dlq"]) == []


def test_an_unreadable_message_is_a_batch_item_failure_and_the_others_are_delivered(world, make_ticket, delivery):
    world["admin"].post("/v1/webhooks", {"url": GOOD, "events": ["*"]})
    make_ticket()
    publish_everything()
    records = [r for r, _ in take(delivery["queue"])]

    response = deliver([{"messageId": "poison", "body": "{not json"}, *records])

    assert response == {"batchItemFailures": [{"itemIdentifier": "poison"}]}
    assert len(delivery["receivers"].to(GOOD)) == len(records)  # the ticket's event and the configuration changes
    assert sum('"ticket.created"' in r["body"] for r in records) == 1


def test_webhooks_are_cached_per_container_briefly():
    from chalicelib.services.webhooks import CACHE_SECONDS, WebhookCache

    class Directory:
        reads = 0

        def list_all(self, kind: str) -> list[Any]:
            Directory.reads += 1
            return []

    now = [0.0]
    cache = WebhookCache(Directory(), clock=lambda: now[0])  # type: ignore[arg-type]
    cache.all()
    now[0] = CACHE_SECONDS - 1
    cache.all()
    assert Directory.reads == 1
    now[0] = CACHE_SECONDS + 1
    cache.all()
    assert Directory.reads == 2


# -- the HTTP transport: SSRF checks at delivery ------------------------------------------------
@pytest.mark.parametrize(
    "addresses",
    [["127.0.0.1"], ["10.0.0.7"], ["169.254.169.254"], ["::1"], ["93.184.216.34", "192.168.1.10"], ["::ffff:10.0.0.1"], []],
)
def test_delivery_refuses_names_that_resolve_to_non_public_addresses(addresses):
    from chalicelib.handlers.webhooks import PinnedHttpsTransport

    looked_up = []
    transport = PinnedHttpsTransport(resolver=lambda host, port: looked_up.append((host, port)) or addresses)

    with pytest.raises(DeliveryError):
        transport.post("https://rebound.example.com:8443/x", b"{}", {}, 5.0)
    assert looked_up == [("rebound.example.com", 8443)]


def test_delivery_refuses_urls_the_rules_forbid_without_resolving():
    from chalicelib.handlers.webhooks import PinnedHttpsTransport

    transport = PinnedHttpsTransport(resolver=lambda host, port: pytest.fail("must not resolve"))

    for url in ("http://hooks.example.com/", "https://127.0.0.1/", "https://localhost/"):
        with pytest.raises(DeliveryError):
            transport.post(url, b"{}", {}, 5.0)


def test_delivery_connects_to_the_checked_address():
    from chalicelib.handlers.webhooks import PinnedHttpsTransport

    transport = PinnedHttpsTransport(resolver=lambda host, port: ["93.184.216.34", "2606:2800:220:1::1"])

    assert transport.public_address("hooks.example.com", 443) == "93.184.216.34"
