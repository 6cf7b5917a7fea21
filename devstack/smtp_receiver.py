"""Mail in over SMTP for the local stack: what SES receiving does in the cloud, on 127.0.0.1.

In AWS the template's receipt rule (InboundMailRule) stores each message in InboundMailBucket
under `inbound/<SES message id>` and publishes a "Received" notification to InboundMailTopic,
which InboundMailSubscription delivers raw to InboundMailQueue. moto receives no mail, so
`make run` listens for SMTP itself (aiosmtpd) and runs the same S3 action against moto: the
object first, then the notification SES would publish, and only then `250`. A failure of
either answers `451` (the client keeps the message and retries); nothing is published for an
object that was not stored, and an object whose notification failed is removed again.

What SES enforces is enforced here: recipients only at the support domain (550 otherwise),
at most 50 recipients a message, at most 40 MB a message (SES's limit for the S3 action; the
consumer refuses more than 20 MB itself). Not reproduced: TLS (the rule requires it; loopback
has no certificate), real spam/virus scanning and DKIM/DMARC (what it claims: `local_verdicts`).
Local stack only.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import logging
import re
import secrets
import socket
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.parser import BytesHeaderParser
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from devstack.aws import LocalAws
from devstack.moto_server import PortInUse
from devstack.provision import Provisioned

DEFAULT_PORT = 2525
MAX_MESSAGE_BYTES = 40 * 1024 * 1024
"""SES refuses a message over 40 MB (headers included) for the S3 action."""
MAX_RECIPIENTS = 50
"""SES accepts at most 50 recipients (RCPT TO) per message."""
HEADERS_LIMIT_BYTES = 10 * 1024
"""SES truncates the notification's `headers` past 10 KB and says so in `headersTruncated`."""
RECEIPT_RULE_SET = "AWS::SES::ReceiptRuleSet"

# The industry's test signatures (not malware, not spam): every scanner flags them, so a demo or a
# test can show what a virus or spam verdict does. The local receiver knows no other signature.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
SCANNED_BYTES = 20 * 1024 * 1024  # larger messages are refused by the handler unread: not scanned
_COMMON_ADDRESS_HEADERS = {
    "from": "from",
    "to": "to",
    "cc": "cc",
    "bcc": "bcc",
    "sender": "sender",
    "reply-to": "replyTo",
    "return-path": "returnPath",
}
_FOLD = re.compile(r"\r?\n(?=[ \t])")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboundRoute:
    """Where an accepted message goes: the receipt rule's S3 action, as provisioned."""

    rule_name: str
    bucket: str
    prefix: str
    topic_arn: str | None
    support_domain: str


def inbound_route(aws: LocalAws, provisioned: Provisioned) -> InboundRoute | None:
    """The first enabled rule of the template's rule set that has an S3 action, read back from
    moto's SES (so names and ARNs are the provisioned ones); None without one."""
    support_domain = provisioned.env.get("HELPDESK_SUPPORT_DOMAIN", "").strip().lower()
    if not support_domain:
        return None
    ses = aws.client("ses")
    for rule_set in provisioned.of_type(RECEIPT_RULE_SET).values():
        for rule in ses.describe_receipt_rule_set(RuleSetName=rule_set).get("Rules", []):
            if not rule.get("Enabled", False):
                continue
            for action in rule.get("Actions", []):
                s3 = action.get("S3Action")
                if s3:
                    return InboundRoute(
                        rule_name=rule["Name"],
                        bucket=s3["BucketName"],
                        prefix=s3.get("ObjectKeyPrefix", ""),
                        topic_arn=s3.get("TopicArn"),
                        support_domain=support_domain,
                    )
    return None


def new_message_id() -> str:
    """An id shaped like SES's: 40 lowercase letters and digits, unguessable."""
    return base64.b32encode(secrets.token_bytes(25)).decode("ascii").lower()


def received_notification(
    raw: bytes,
    *,
    message_id: str,
    source: str,
    recipients: Sequence[str],
    route: InboundRoute,
    received_at: datetime,
    processing_millis: int,
) -> dict[str, Any]:
    """The JSON SES publishes to the S3 action's topic once the message is stored.

    Everything taken from the headers comes from the first 10 KB of them (SES's limit), so a
    notification stays far below SNS's 256 KB whatever the message holds."""
    headers, truncated = _headers(raw)
    object_key = route.prefix + message_id
    action: dict[str, Any] = {"type": "S3"}
    if route.topic_arn:
        action["topicArn"] = route.topic_arn
    action.update({"bucketName": route.bucket, "objectKeyPrefix": route.prefix, "objectKey": object_key})
    stamp = _iso(received_at)
    return {
        "notificationType": "Received",
        "mail": {
            "timestamp": stamp,
            "source": source,
            "messageId": message_id,
            "destination": _destination(headers),
            "headersTruncated": truncated,
            "headers": [{"name": name, "value": value} for name, value in headers],
            "commonHeaders": _common_headers(headers),
        },
        "receipt": {
            "timestamp": stamp,
            "processingTimeMillis": processing_millis,
            "recipients": list(recipients),
            **local_verdicts(raw),
            "action": action,
        },
    }


def local_verdicts(raw: bytes) -> dict[str, Any]:
    """What the local receiver can honestly claim (docs/decisions.md, "Email: inbound security").

    SPF PASS: SPF asks whether the connecting host may send for the MAIL FROM domain, and the only
    host that can connect is this machine (127.0.0.1), the local stack's one sending host for every
    domain (as a relay trusts its own network); the handler still requires MAIL FROM to align with
    From. DKIM and DMARC GRAY: without DNS no key or policy can be looked up (SES's answer for a
    domain without them). Spam and virus: the decoded parts are searched for GTUBE and EICAR (FAIL
    when found, PASS otherwise); a message over 20 MB is not scanned (GRAY)."""
    spam = virus = "GRAY"
    if len(raw) <= SCANNED_BYTES:
        contents = [raw]
        for part in email.message_from_bytes(raw, policy=policy.compat32).walk():
            payload = part.get_payload(decode=True) if not part.is_multipart() else None
            if isinstance(payload, bytes):
                contents.append(payload)
        spam = "FAIL" if any(GTUBE in c for c in contents) else "PASS"
        virus = "FAIL" if any(EICAR in c for c in contents) else "PASS"
    return {
        "spamVerdict": {"status": spam},
        "virusVerdict": {"status": virus},
        "spfVerdict": {"status": "PASS"},
        "dkimVerdict": {"status": "GRAY"},
        "dmarcVerdict": {"status": "GRAY"},
    }


class SesInbound:
    """The aiosmtpd handler: SES's recipient checks on RCPT, its S3 action on DATA."""

    def __init__(self, aws: LocalAws, route: InboundRoute, executor: ThreadPoolExecutor) -> None:
        self._aws = aws
        self._route = route
        self._executor = executor

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return f"452 4.5.3 Too many recipients (at most {MAX_RECIPIENTS} per message)"
        _, _, domain = address.rpartition("@")
        if domain.lower() != self._route.support_domain:
            return f"550 5.1.1 <{address}>: not a mailbox of {self._route.support_domain}"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        loop = asyncio.get_running_loop()
        try:
            message_id = await loop.run_in_executor(
                self._executor, self.deliver, raw, envelope.mail_from or "", list(envelope.rcpt_tos)
            )
        except Exception:
            logger.exception("inbound mail from %s not stored; answered 451", envelope.mail_from)
            return "451 4.3.0 Message not stored, try again later"
        return f"250 2.0.0 Ok {message_id}"

    def deliver(self, raw: bytes, source: str, recipients: list[str]) -> str:
        """Store the message, then publish its notification; answers the SES message id.

        Raises when either step fails; a stored object whose notification failed is deleted,
        so the retried message is the only copy."""
        started = time.monotonic()
        received_at = datetime.now(UTC)
        message_id = new_message_id()
        key = self._route.prefix + message_id
        s3 = self._aws.client("s3")
        s3.put_object(Bucket=self._route.bucket, Key=key, Body=raw)
        if self._route.topic_arn:
            try:
                notification = received_notification(
                    raw,
                    message_id=message_id,
                    source=source,
                    recipients=recipients,
                    route=self._route,
                    received_at=received_at,
                    processing_millis=int((time.monotonic() - started) * 1000),
                )
                self._aws.client("sns").publish(TopicArn=self._route.topic_arn, Message=json.dumps(notification))
            except Exception:
                try:
                    s3.delete_object(Bucket=self._route.bucket, Key=key)
                except Exception:
                    logger.exception("could not remove %s after its notification failed", key)
                raise
        return message_id


class SmtpReceiver:
    """aiosmtpd on host:port (0 picks a free port) in one thread; `stop()` ends it."""

    def __init__(self, aws: LocalAws, route: InboundRoute, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
        self.route = route
        self.host = host
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._socket.bind((host, port))
        except OSError as exc:
            self._socket.close()
            raise PortInUse(f"SMTP port {host}:{port} is in use; choose another with --smtp-port") from exc
        self._socket.listen()
        self.port: int = self._socket.getsockname()[1]
        # One worker: the stores and publishes of concurrent sessions run one after another.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="devstack-smtp-store")
        self._controller = _BoundController(
            SesInbound(aws, route, self._executor),
            self._socket,
            hostname=host,
            port=self.port,
            server_hostname="localhost",
            data_size_limit=MAX_MESSAGE_BYTES,
            decode_data=False,
        )
        self._started = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        self._controller.start()
        self._started = True

    def stop(self) -> None:
        """Stop accepting, end open sessions, let a store under way finish; joins every thread."""
        if self._started:
            self._controller.stop()
            self._started = False
        self._executor.shutdown(wait=True)
        self._socket.close()


class _BoundController(Controller):
    """aiosmtpd's threaded Controller on a socket bound beforehand: a taken port fails at once
    and port 0 is known before the thread starts (Controller itself cannot report it)."""

    def __init__(self, handler: SesInbound, bound: socket.socket, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._bound = bound

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._bound)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _header_block(raw: bytes) -> list[tuple[str, str]]:
    """(name, value) of every header in order, values unfolded, undecodable bytes replaced."""
    parsed = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    return [(name, _text(value)) for name, value in parsed.raw_items()]


def _text(value: Any) -> str:
    text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _FOLD.sub("", text)


def _headers(raw: bytes) -> tuple[list[tuple[str, str]], bool]:
    """The headers that fit in SES's 10 KB, and whether some were left out."""
    kept: list[tuple[str, str]] = []
    size = 0
    for name, value in _header_block(raw):
        size += len(name.encode()) + len(value.encode()) + 4
        if size > HEADERS_LIMIT_BYTES:
            return kept, True
        kept.append((name, value))
    return kept, False


def _addresses(values: Sequence[str]) -> list[str]:
    return [email.utils.formataddr(pair) if pair[0] else pair[1] for pair in email.utils.getaddresses(list(values)) if pair[1]]


def _grouped(headers: Sequence[tuple[str, str]]) -> Mapping[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        grouped.setdefault(name.lower(), []).append(value)
    return grouped


def _destination(headers: Sequence[tuple[str, str]]) -> list[str]:
    grouped = _grouped(headers)
    return [address for _, address in email.utils.getaddresses(grouped.get("to", []) + grouped.get("cc", [])) if address]


def _common_headers(headers: Sequence[tuple[str, str]]) -> dict[str, Any]:
    grouped = _grouped(headers)
    common: dict[str, Any] = {}
    for header, key in _COMMON_ADDRESS_HEADERS.items():
        if header in grouped:
            addresses = _addresses(grouped[header])
            common[key] = addresses[0] if key == "returnPath" and addresses else addresses
    for header, key in (("date", "date"), ("message-id", "messageId"), ("subject", "subject")):
        if header in grouped:
            common[key] = grouped[header][0].strip()
    return common
