"""SES failing while a refused message's notice is sent (inbound mail over 20 MB): the SQS record
fails and is retried, the notice goes out once the retry succeeds, never twice."""

from __future__ import annotations

import json
import uuid
from email import message_from_bytes
from email.message import EmailMessage
from typing import Any

import boto3

from tests.faults.conftest import FaultStack
from tests.faults.injection import Call, Fault, Injector, faults_for

SEND = Call("ses", "SendRawEmail")
SENDER = "carol@example.com"


def _big_mail() -> bytes:
    built = EmailMessage()
    built["From"], built["To"], built["Subject"] = SENDER, "support@helpdesk.local", "The film"
    built["Message-ID"] = f"<{uuid.uuid4().hex}@example.com>"
    built.set_content("Attached.")
    built.add_attachment(b"\0" * (21 * 1024 * 1024), maintype="video", subtype="mp4", filename="film.mp4")
    return built.as_bytes()


def _record(bucket: str, key: str) -> dict[str, Any]:
    checks = {f"{name}Verdict": {"status": "PASS"} for name in ("spf", "dkim", "dmarc", "spam", "virus")}
    notification = {
        "notificationType": "Received",
        "mail": {"messageId": key.rsplit("/", 1)[-1], "source": SENDER},
        "receipt": {**checks, "action": {"type": "S3", "bucketName": bucket, "objectKey": key}},
    }
    return {"messageId": str(uuid.uuid4()), "body": json.dumps(notification), "eventSource": "aws:sqs"}


def _notices() -> list[str]:
    """The Subject of every message SES accepted for the sender (moto keeps them)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    return [str(message_from_bytes(m.raw_data.encode())["Subject"]) for m in sent if SENDER in m.destinations]


def test_ses_throttling_the_refusal_notice_fails_the_record_and_the_retry_sends_it_once(stack: FaultStack) -> None:
    from app import app
    from chalicelib.handlers import inbound_mail as handler

    handler.receiver.cache_clear()
    bucket = stack.env.get("HELPDESK_INBOUND_BUCKET") or next(
        b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"] if "inbound" in b["Name"]
    )
    raw = _big_mail()
    throttled = [f for f in faults_for(SEND) if f.kind == "throttled"] + [Fault("Throttling", "throttled", "Throttling")]
    receive = app.handler_map["receive_mail"]
    with Injector().installed() as injector:
        for fault in throttled:
            key = f"inbound/{uuid.uuid4().hex}"
            boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=raw)
            record = _record(bucket, key)
            before = len(_notices())

            with injector.watching(at=(SEND, 0), fault=fault) as calls:
                response = receive({"Records": [record]}, None)
            assert response == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}, fault.name
            assert SEND in calls and len(_notices()) == before  # SES sent nothing: the record is retried

            for _ in range(2):  # SQS redelivers it; a second delivery after the success sends nothing
                assert receive({"Records": [record]}, None) == {"batchItemFailures": []}
            assert _notices()[before:] == ["Not delivered: The film"], fault.name
