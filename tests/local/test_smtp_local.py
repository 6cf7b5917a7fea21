"""`make run` receives mail over SMTP as SES does in the cloud: the raw message in the inbound
bucket under the receipt rule's prefix, then SES's "Received" notification on the rule's topic,
which the template's subscription delivers raw to InboundMailQueue (issue 10, local stack)."""

from __future__ import annotations

import json
import smtplib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from devstack.aws import LocalAws
from devstack.moto_server import PortInUse
from devstack.paths import TEMPLATE_PATH
from devstack.provision import Provisioned, load_template, provision
from devstack.smtp_receiver import SmtpReceiver, inbound_route
from tests.local.test_stack_process import _free_port, _running_stack

PREFIX = "helpdesk-local-"
MESSAGE = (
    b"From: Carol Customer <carol@example.com>\r\n"
    b"To: Support <support@helpdesk.local>\r\n"
    b"Cc: dave@example.com\r\n"
    b"Subject: My printer is on fire\r\n"
    b"Message-ID: <first-mail@example.com>\r\n"
    b"Date: Tue, 01 Dec 2026 13:00:00 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Hello,\r\n"
    b".a line that starts with a dot\r\n"
    b"caf\xc3\xa9 and \xe2\x82\xac, raw 8-bit\r\n"
)


@pytest.fixture
def stack(aws: LocalAws) -> Provisioned:
    """The template's resources on moto, as `make run` provisions them."""
    return provision(load_template(TEMPLATE_PATH), aws, name_prefix=PREFIX, template_dir=TEMPLATE_PATH.parent)


@pytest.fixture
def receiver(aws: LocalAws, stack: Provisioned) -> Iterator[SmtpReceiver]:
    route = inbound_route(aws, stack)
    assert route is not None
    smtp = SmtpReceiver(aws, route, port=0)
    smtp.start()
    yield smtp
    smtp.stop()


def test_a_mail_sent_over_smtp_is_stored_byte_for_byte_and_queued_with_the_ses_notification(
    aws: LocalAws, stack: Provisioned, receiver: SmtpReceiver
) -> None:
    with smtplib.SMTP("127.0.0.1", receiver.port, timeout=10) as client:
        refused = client.sendmail("bounces@example.com", ["support@helpdesk.local", "Support+T0k3n@HELPDESK.local"], MESSAGE)
    assert refused == {}

    bucket = stack.physical["InboundMailBucket"]
    keys = _keys(aws, bucket)
    assert len(keys) == 1 and keys[0].startswith("inbound/")
    assert aws.client("s3").get_object(Bucket=bucket, Key=keys[0])["Body"].read() == MESSAGE

    (body,) = _queued(aws, stack.physical["InboundMailQueue"])
    notification = json.loads(body)  # RawMessageDelivery: the body is SES's JSON, no SNS envelope
    assert notification["notificationType"] == "Received"
    action = notification["receipt"]["action"]
    assert action == {
        "type": "S3",
        "topicArn": stack.physical["InboundMailTopic"],
        "bucketName": bucket,
        "objectKeyPrefix": "inbound/",
        "objectKey": keys[0],
    }
    mail = notification["mail"]
    assert keys[0] == "inbound/" + mail["messageId"]
    assert mail["source"] == "bounces@example.com"
    assert mail["destination"] == ["support@helpdesk.local", "dave@example.com"]
    assert notification["receipt"]["recipients"] == ["support@helpdesk.local", "Support+T0k3n@HELPDESK.local"]
    assert mail["headersTruncated"] is False
    assert {"name": "Message-ID", "value": "<first-mail@example.com>"} in mail["headers"]
    assert mail["commonHeaders"]["from"] == ["Carol Customer <carol@example.com>"]
    assert mail["commonHeaders"]["subject"] == "My printer is on fire"
    assert mail["commonHeaders"]["messageId"] == "<first-mail@example.com>"
    verdicts = {name: notification["receipt"][f"{name}Verdict"]["status"] for name in ("spf", "dkim", "dmarc", "spam", "virus")}
    assert verdicts == {"spf": "PASS", "dkim": "GRAY", "dmarc": "GRAY", "spam": "PASS", "virus": "PASS"}


def test_the_test_virus_and_the_test_spam_get_fail_verdicts_whatever_their_encoding(
    aws: LocalAws, stack: Provisioned, receiver: SmtpReceiver
) -> None:
    from email.message import EmailMessage

    from devstack.smtp_receiver import EICAR, GTUBE

    def mail(text: bytes, attachment: bytes | None = None) -> bytes:
        built = EmailMessage()
        built["From"], built["To"], built["Subject"] = "carol@example.com", "support@helpdesk.local", "test"
        built.set_content(text.decode("ascii"))
        if attachment is not None:  # base64 in the raw message: only the decoded part shows it
            built.add_attachment(attachment, maintype="application", subtype="octet-stream", filename="eicar.com")
        return built.as_bytes()

    for raw in (mail(b"Hello", EICAR), mail(b"Buy now " + GTUBE)):
        with smtplib.SMTP("127.0.0.1", receiver.port, timeout=10) as client:
            client.sendmail("carol@example.com", ["support@helpdesk.local"], raw)
    receipts = [json.loads(body)["receipt"] for body in _queued(aws, stack.physical["InboundMailQueue"])]

    # (virus, spam) of each: the EICAR attachment is a virus, GTUBE is spam, nothing else is flagged
    assert sorted((r["virusVerdict"]["status"], r["spamVerdict"]["status"]) for r in receipts) == [
        ("FAIL", "PASS"),
        ("PASS", "FAIL"),
    ]


def test_a_recipient_outside_the_support_domain_is_refused_with_550_and_nothing_is_stored(
    aws: LocalAws, stack: Provisioned, receiver: SmtpReceiver
) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        _send(receiver.port, ["someone@example.org", "support@helpdesk.local.evil.example"])
    assert {code for code, _ in refused.value.recipients.values()} == {550}
    assert _keys(aws, stack.physical["InboundMailBucket"]) == []
    assert _queued(aws, stack.physical["InboundMailQueue"]) == []


def test_more_than_fifty_recipients_are_deferred_as_ses_does(aws: LocalAws, stack: Provisioned, receiver: SmtpReceiver) -> None:
    recipients = [f"support+{number}@helpdesk.local" for number in range(51)]
    refused = _send(receiver.port, recipients)
    assert refused == {recipients[50]: (452, refused[recipients[50]][1])}
    (body,) = _queued(aws, stack.physical["InboundMailQueue"])
    assert json.loads(body)["receipt"]["recipients"] == recipients[:50]


def test_a_message_over_forty_megabytes_is_refused_before_its_data_is_sent(receiver: SmtpReceiver) -> None:
    with smtplib.SMTP("127.0.0.1", receiver.port, timeout=10) as client:
        client.ehlo()
        assert client.has_extn("size") and int(client.esmtp_features["size"]) == 40 * 1024 * 1024
        code, _ = client.mail("carol@example.com", [f"SIZE={40 * 1024 * 1024 + 1}"])
    assert code == 552


def test_a_message_with_ten_thousand_addresses_in_its_headers_still_arrives_with_truncated_headers(
    aws: LocalAws, stack: Provisioned, receiver: SmtpReceiver
) -> None:
    crowd = ",\r\n ".join(f"person{number}@example.com" for number in range(10_000))  # folded, as clients do
    message = b"To: " + crowd.encode() + b"\r\n" + MESSAGE  # a 250 KB header: SNS takes 256 KB at most
    with smtplib.SMTP("127.0.0.1", receiver.port, timeout=10) as client:
        assert client.sendmail("carol@example.com", ["support@helpdesk.local"], message) == {}
    (body,) = _queued(aws, stack.physical["InboundMailQueue"])
    mail = json.loads(body)["mail"]
    assert mail["headersTruncated"] is True
    (key,) = _keys(aws, stack.physical["InboundMailBucket"])
    assert aws.client("s3").get_object(Bucket=stack.physical["InboundMailBucket"], Key=key)["Body"].read() == message


def test_a_message_that_cannot_be_stored_is_answered_451_and_nothing_is_published(
    aws: LocalAws, stack: Provisioned, receiver: SmtpReceiver
) -> None:
    aws.client("s3").delete_bucket(Bucket=stack.physical["InboundMailBucket"])
    with pytest.raises(smtplib.SMTPDataError) as error:
        _send(receiver.port, ["support@helpdesk.local"])
    assert error.value.smtp_code == 451  # transient: the sender keeps the message and retries
    assert _queued(aws, stack.physical["InboundMailQueue"]) == []


def test_a_message_whose_notification_fails_is_answered_451_and_its_object_removed(
    aws: LocalAws, stack: Provisioned, receiver: SmtpReceiver
) -> None:
    aws.client("sns").delete_topic(TopicArn=stack.physical["InboundMailTopic"])
    with pytest.raises(smtplib.SMTPDataError) as error:
        _send(receiver.port, ["support@helpdesk.local"])
    assert error.value.smtp_code == 451
    assert _keys(aws, stack.physical["InboundMailBucket"]) == []  # the retry will be the only copy


def test_stopping_the_receiver_closes_its_port_and_leaves_no_thread(aws: LocalAws, stack: Provisioned) -> None:
    route = inbound_route(aws, stack)
    assert route is not None
    before = set(threading.enumerate())
    smtp = SmtpReceiver(aws, route, port=0)
    smtp.start()
    assert _send(smtp.port, ["support@helpdesk.local"]) == {}
    smtp.stop()
    assert set(threading.enumerate()) - before == set()
    with pytest.raises(ConnectionRefusedError):
        smtplib.SMTP("127.0.0.1", smtp.port, timeout=10)


def test_a_taken_smtp_port_is_reported_as_such(aws: LocalAws, stack: Provisioned) -> None:
    route = inbound_route(aws, stack)
    assert route is not None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(PortInUse, match="--smtp-port"):
            SmtpReceiver(aws, route, port=taken.getsockname()[1])


def test_make_run_listens_for_smtp_on_the_port_it_prints(tmp_path: Path) -> None:
    moto_port = _free_port()
    arguments = ["--port", "0", "--moto-port", str(moto_port), "--smtp-port", "0", "--fresh", "--no-demo"]
    with _running_stack([*arguments, "--state-dir", str(tmp_path / "state")]) as api:
        (line,) = [line for line in api.startup_output if line.strip().startswith("Mail in")]
        address = line.split("smtp://", 1)[1].split()[0]
        host, port = address.rsplit(":", 1)
        assert host == "127.0.0.1"
        assert _send(int(port), ["support@helpdesk.local"]) == {}
        s3 = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{moto_port}",
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        objects = s3.list_objects_v2(Bucket=f"{PREFIX}InboundMailBucket".lower(), Prefix="inbound/").get("Contents", [])
        assert [s3.get_object(Bucket=f"{PREFIX}InboundMailBucket".lower(), Key=o["Key"])["Body"].read() for o in objects] == [
            MESSAGE
        ]


def _send(port: int, recipients: list[str]) -> dict[str, tuple[int, bytes]]:
    """One SMTP transaction from carol@example.com; answers the refused recipients."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        return client.sendmail("carol@example.com", recipients, MESSAGE)


def _keys(aws: LocalAws, bucket: str) -> list[str]:
    try:
        listing = aws.client("s3").list_objects_v2(Bucket=bucket)
    except aws.client("s3").exceptions.NoSuchBucket:
        return []
    return [entry["Key"] for entry in listing.get("Contents", [])]


def _queued(aws: LocalAws, queue_url: str) -> list[Any]:
    """Every message on the queue now (moto's SNS → SQS delivery is synchronous)."""
    sqs = aws.client("sqs")
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return bodies
        bodies.extend(message["Body"] for message in messages)
