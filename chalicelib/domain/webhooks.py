"""Webhooks (API.md "webhook"): which URLs may receive events, what is sent, how it is signed,
who gets an event and when a failed delivery is tried again. Pure: no AWS, no sockets, no clock.

A delivery is one HTTPS POST of `{"id", "type", "at", "detail"}` (the shape of a `GET /v1/events`
item) with a signature header `Helpdesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>" keyed with the webhook's secret>` (README, "Webhooks"). Each webhook is retried on its
own: a failed attempt schedules one message for that webhook alone (RETRY_DELAYS), so receivers
that answered 2xx never get the event twice because another one failed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.events import EXTENSION_TYPES, TYPES

WILDCARD = "*"
EVENT_TYPES = TYPES + EXTENSION_TYPES
MAX_URL_CHARS = 2048
SIGNATURE_HEADER = "Helpdesk-Signature"
EVENT_ID_HEADER = "Helpdesk-Event-Id"
EVENT_TYPE_HEADER = "Helpdesk-Event-Type"
DELIVERY_ATTEMPT_HEADER = "Helpdesk-Delivery-Attempt"
# Receivers should refuse signatures older than this (replays of a captured request).
SIGNATURE_TOLERANCE_SECONDS = 300
# Seconds to wait before attempt n + 1 after attempt n failed (index n - 1). SQS delays a
# message by at most 900 s, so each retry is one delayed message: 7 attempts over ~46 minutes.
RETRY_DELAYS = (10, 60, 300, 900, 900, 900)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*\.?$")


# -- what a webhook may be ------------------------------------------------------------------
def check_url(url: str, field_name: str = "url") -> str:
    """The URL if a webhook may call it, else ValidationFailed naming why (SSRF rules: https, an
    absolute URL without credentials, a public DNS name or public IP literal, never localhost)."""
    problem = url_problem(url)
    if problem is not None:
        raise ValidationFailed([FieldError(field_name, problem)])
    return url


def url_problem(url: str) -> str | None:
    if len(url) > MAX_URL_CHARS:
        return f"at most {MAX_URL_CHARS} characters"
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return "must not contain whitespace or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme.lower() != "https":
        return "must be an absolute https:// URL"
    if not parts.netloc or not parts.hostname:
        return "must be an absolute https:// URL with a host"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "must not contain credentials"
    if port == 0:
        return "port 0 is not a valid port"
    return host_problem(parts.hostname)


def host_problem(host: str) -> str | None:
    """Why `host` (as urlsplit gives it: lowercased, IPv6 without brackets) may not be called."""
    host = host.rstrip(".")
    address = ip_literal(host)
    if address is not None:
        return None if is_public_address(address) else "must not point at a private, loopback, link-local or reserved address"
    if _NUMERIC_HOST.match(host):
        return "is not a valid host name"
    if host == "localhost" or host.endswith(".localhost"):
        return "must not point at localhost"
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        return "is not a valid host name"
    if len(labels) < 2:
        # A single label is resolved through the search domains: an internal name by design.
        return "must be a fully qualified domain name"
    return None


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `host` spells, including the legacy IPv4 forms resolvers accept
    (`2130706433`, `0x7f.1`, `0177.0.0.1`), or None for a name."""
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        pass
    if not _NUMERIC_HOST.match(host.rstrip(".")):
        return None
    return _legacy_ipv4(host.rstrip("."))


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """inet_aton's reading of a numeric host: 1 to 4 parts, each decimal, 0x hex or 0 octal."""
    parts = host.split(".")
    if len(parts) > 4:
        return None
    try:
        numbers = [_c_number(part) for part in parts]
    except ValueError:
        return None
    # The last part fills the remaining bytes (a.b.c.d, a.b.cd, a.bcd, abcd).
    limits = [256] * (len(numbers) - 1) + [256 ** (5 - len(numbers))]
    if any(n >= limit for n, limit in zip(numbers, limits, strict=True)):
        return None
    value = 0
    for n in numbers[:-1]:
        value = value * 256 + n
    value = value * limits[-1] + numbers[-1]
    return ipaddress.IPv4Address(value)


def _c_number(part: str) -> int:
    if part.startswith("0x"):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)
    return int(part, 10)


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable unicast: not private, loopback, link-local (cloud metadata), shared
    (100.64/10), multicast, reserved or unspecified; IPv4 inside IPv6 is judged as IPv4."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            return is_public_address(embedded)
    return bool(address.is_global) and not (
        address.is_multicast or address.is_reserved or address.is_loopback or address.is_link_local or address.is_unspecified
    )


def check_events(events: Sequence[str], field_name: str = "events") -> list[str]:
    """A non-empty list of known event types, or `["*"]` for every type (including types added
    later); duplicates are dropped, order kept."""
    if not events:
        raise ValidationFailed([FieldError(field_name, 'name at least one event type, or "*" for all')])
    errors = []
    for i, name in enumerate(events):
        if name == WILDCARD:
            if len(events) > 1:
                errors.append(FieldError(f"{field_name}[{i}]", '"*" already means every type; send it alone'))
        elif name not in EVENT_TYPES:
            errors.append(FieldError(f"{field_name}[{i}]", f'unknown event type; one of {", ".join(EVENT_TYPES)} or "*"'))
    if errors:
        raise ValidationFailed(errors)
    return list(dict.fromkeys(events))


# -- who gets an event --------------------------------------------------------------------
@dataclass(frozen=True)
class Webhook:
    """A webhook as delivery needs it (the stored entry, secret included)."""

    id: str
    url: str
    events: tuple[str, ...]
    active: bool
    secret: str

    @classmethod
    def from_record(cls, webhook_id: str, data: Mapping[str, Any]) -> Webhook:
        return cls(
            id=webhook_id,
            url=str(data.get("url", "")),
            events=tuple(data.get("events") or ()),
            active=bool(data.get("active", True)),
            secret=str(data.get("secret", "")),
        )

    def wants(self, event_type: str) -> bool:
        return self.active and (WILDCARD in self.events or event_type in self.events)


def subscribers(webhooks: Iterable[Webhook], event_type: str) -> list[Webhook]:
    """The active webhooks subscribed to `event_type`, in id order."""
    return sorted((w for w in webhooks if w.wants(event_type)), key=lambda w: w.id)


# -- what is sent ---------------------------------------------------------------------------
@dataclass(frozen=True)
class WebhookEvent:
    """One event as receivers get it: a `GET /v1/events` item."""

    id: str
    type: str
    at: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "at": self.at, "detail": dict(self.detail)}


def event_from_bus(message: Mapping[str, Any]) -> WebhookEvent:
    """The event in an EventBridge message (`detail-type`, `detail`, `time`); its id is the
    outbox id the publisher put in `detail.event_id` (EventBridge's own id if absent)."""
    detail = message.get("detail")
    detail = dict(detail) if isinstance(detail, Mapping) else {}
    event_type = message.get("detail-type")
    if not isinstance(event_type, str) or not event_type:
        raise ValueError("an EventBridge message has a detail-type")
    event_id = detail.get("event_id") or message.get("id")
    at = detail.get("at") or message.get("time")
    if not isinstance(event_id, str) or not isinstance(at, str):
        raise ValueError("an event has an id and a time")
    return WebhookEvent(id=event_id, type=event_type, at=at, detail=detail)


def body_of(event: WebhookEvent) -> bytes:
    """The exact bytes POSTed (and signed): compact JSON, keys sorted."""
    return json.dumps(event.as_dict(), ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """What a receiver does: some `v1` matches and `t` is within `tolerance` seconds of `now`."""
    timestamp: int | None = None
    candidates = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).rsplit("v1=", 1)[1]
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


def headers_for(webhook: Webhook, event: WebhookEvent, body: bytes, timestamp: int, attempt: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "Helpdesk-Webhooks/1",
        EVENT_ID_HEADER: event.id,
        EVENT_TYPE_HEADER: event.type,
        DELIVERY_ATTEMPT_HEADER: str(attempt),
        SIGNATURE_HEADER: sign(webhook.secret, timestamp, body),
    }


def delivered(status: int | None) -> bool:
    """Only a 2xx answer counts: redirects are not followed, and a receiver that answers 4xx
    (a signature check it gets wrong, a deploy in progress) may recover, so it is retried too."""
    return status is not None and 200 <= status < 300


# -- when to try again ----------------------------------------------------------------------
def retry_delay(failed_attempt: int) -> int | None:
    """Seconds before the next attempt after attempt `failed_attempt` (1-based) failed; None when
    that was the last one (MAX_ATTEMPTS) and the delivery is given up."""
    if failed_attempt < 1:
        raise ValueError("attempts count from 1")
    if failed_attempt >= MAX_ATTEMPTS:
        return None
    return RETRY_DELAYS[failed_attempt - 1]


RETRY_KIND = "webhook.delivery"


def retry_message(webhook_id: str, event: WebhookEvent, attempt: int) -> dict[str, Any]:
    """The queue message that makes attempt `attempt` for one webhook only."""
    return {"kind": RETRY_KIND, "webhook_id": webhook_id, "attempt": attempt, "event": event.as_dict()}


@dataclass(frozen=True)
class Job:
    """What one queue message asks for: the event, and either every subscriber (a message from the
    bus, `webhook_id` None) or one webhook's attempt `attempt`."""

    event: WebhookEvent
    webhook_id: str | None = None
    attempt: int = 1


def job_from_message(message: Mapping[str, Any]) -> Job:
    """A message from the bus (an EventBridge event) or a retry (`retry_message`)."""
    if message.get("kind") == RETRY_KIND:
        raw = message.get("event")
        webhook_id = message.get("webhook_id")
        attempt = message.get("attempt")
        if not isinstance(raw, Mapping) or not isinstance(webhook_id, str) or not isinstance(attempt, int) or attempt < 1:
            raise ValueError("a retry message names a webhook, an attempt and the event")
        detail = raw.get("detail")
        event = WebhookEvent(
            id=str(raw.get("id", "")),
            type=str(raw.get("type", "")),
            at=str(raw.get("at", "")),
            detail=dict(detail) if isinstance(detail, Mapping) else {},
        )
        if not event.id or not event.type:
            raise ValueError("a retry message carries the event's id and type")
        return Job(event=event, webhook_id=webhook_id, attempt=attempt)
    return Job(event=event_from_bus(message))
