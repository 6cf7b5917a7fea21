"""Webhooks: the admins' collection (`/v1/webhooks`) and the delivery of events to it.

Webhooks are directory entries of kind `webhook` (PK `DIR#webhook`, SK the id): `name` is the URL,
`data` = {url, events, active, secret}. The secret is generated here, answered once by the
create route and never shown again; delivery reads it to sign (docs/decisions.md, "Webhooks").
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain import webhooks as rules
from chalicelib.domain.errors import FieldError, NotAllowed, NotFound, ValidationFailed, VersionConflict
from chalicelib.domain.visibility import Caller
from chalicelib.storage.directory import DirectoryRepository, Entry

KIND = "webhook"
# Webhooks change rarely; a warm delivery container re-reads them at most this often, so a new,
# changed or deactivated webhook takes effect within 30 s.
CACHE_SECONDS = 30.0
# Receivers are called in parallel per event, at most this many at once (each call is bounded by
# DELIVERY_TIMEOUT_SECONDS, so a slow receiver delays the others by at most that).
PARALLEL_DELIVERIES = 8
DELIVERY_TIMEOUT_SECONDS = 5.0


def new_secret() -> str:
    """32 random bytes, URL-safe; the prefix makes a leaked one easy to recognise (secret scanners)."""
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookService:
    """CRUD for admins; every other role gets 403."""

    def __init__(self, directory: DirectoryRepository, secret: Callable[[], str] = new_secret) -> None:
        self._directory = directory
        self._secret = secret

    def create(self, caller: Caller, values: Mapping[str, Any], now: datetime) -> tuple[Entry, str]:
        """The new webhook and its signing secret (the only time the secret leaves the service)."""
        _require_admin(caller)
        url, events = _checked(values["url"], values["events"])
        secret = self._secret()
        data = {"url": url, "events": events, "active": values.get("active", True), "secret": secret}
        return self._directory.create(KIND, uuid.uuid4().hex, url, data, now, actor_id=caller.user_id), secret

    def get(self, caller: Caller, webhook_id: str) -> Entry:
        _require_admin(caller)
        entry = self._directory.get(KIND, webhook_id)
        if entry is None:
            raise NotFound("webhook not found")
        return entry

    def list(self, caller: Caller, *, limit: int, after: str | None) -> tuple[list[Entry], str | None]:
        _require_admin(caller)
        return self._directory.list(KIND, limit=limit, after=after)

    def update(
        self, caller: Caller, webhook_id: str, values: Mapping[str, Any], *, expected_version: int | None, now: datetime
    ) -> Entry:
        entry = self.get(caller, webhook_id)
        if expected_version is not None and entry.version != expected_version:
            raise VersionConflict(f"webhook is at version {entry.version}")
        data = dict(entry.data)
        url, events = _checked(values.get("url", data["url"]), values.get("events", data["events"]))
        data.update(url=url, events=events, active=values.get("active", data.get("active", True)))
        return self._directory.update(
            KIND, entry, name=url, data=data, now=now, expected_version=entry.version, actor_id=caller.user_id
        )

    def delete(self, caller: Caller, webhook_id: str, now: datetime | None = None) -> None:
        _require_admin(caller)
        self._directory.delete(KIND, webhook_id, actor_id=caller.user_id, now=now)


def _checked(url: str, events: Sequence[str]) -> tuple[str, list[str]]:
    """Both fields checked, every problem reported in one 422."""
    errors: list[FieldError] = []
    checked_events: list[str] = []
    try:
        rules.check_url(url)
    except ValidationFailed as exc:
        errors += exc.errors
    try:
        checked_events = rules.check_events(events)
    except ValidationFailed as exc:
        errors += exc.errors
    if errors:
        raise ValidationFailed(errors)
    return url, checked_events


def _require_admin(caller: Caller) -> None:
    if not caller.is_admin:
        raise NotAllowed("only admins manage webhooks")


# -- delivery ---------------------------------------------------------------------------------
class WebhookCache:
    """Every webhook (one Query of `DIR#webhook`), re-read at most every CACHE_SECONDS."""

    def __init__(self, directory: DirectoryRepository, clock: Callable[[], float] = time.monotonic) -> None:
        self._directory = directory
        self._clock = clock
        self._webhooks: dict[str, rules.Webhook] | None = None
        self._loaded_at = 0.0

    def all(self) -> dict[str, rules.Webhook]:
        if self._webhooks is not None and self._clock() - self._loaded_at < CACHE_SECONDS:
            return self._webhooks
        entries = self._directory.list_all(KIND)
        self._webhooks = {e.id: rules.Webhook.from_record(e.id, e.data) for e in entries}
        self._loaded_at = self._clock()
        return self._webhooks

    def invalidate(self) -> None:
        self._webhooks = None


class DeliveryError(Exception):
    """The receiver could not be reached (refused address, DNS, TLS, connection, timeout)."""


class Transport(Protocol):
    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        """POST once, never following redirects; the status, or DeliveryError."""
        ...


class RetryQueue(Protocol):
    def schedule(self, messages: Sequence[tuple[dict[str, Any], int]]) -> None:
        """Send each message with its delay in seconds (all or an exception)."""
        ...

    def give_up(self, messages: Sequence[dict[str, Any]]) -> None:
        """Park messages whose last attempt failed in the dead-letter queue (all or an exception)."""
        ...


Count = Callable[[str, int], None]


class WebhookDispatcher:
    """Turns queue messages into deliveries: every subscriber of a bus event, or one webhook's retry."""

    def __init__(
        self,
        cache: WebhookCache,
        transport: Transport,
        queue: RetryQueue,
        *,
        clock: Callable[[], datetime],
        count: Count,
        log: Any,
        timeout: float = DELIVERY_TIMEOUT_SECONDS,
    ) -> None:
        self._cache = cache
        self._transport = transport
        self._queue = queue
        self._clock = clock
        self._count = count
        self._log = log
        self._timeout = timeout

    def handle(self, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """SQS records in, the partial batch response out: a record is reported failed only when
        nothing for it could be scheduled (it then comes again, and its successful deliveries
        with it: at least once, receivers deduplicate on the event id)."""
        failures = []
        totals = {"WebhookDeliveries": 0, "WebhookRetries": 0, "WebhookFailures": 0}
        for record in records:
            try:
                outcome = self._handle_one(record)
            except Exception:
                self._log.exception("webhook message not processed", extra={"message_id": record.get("messageId")})
                failures.append({"itemIdentifier": record.get("messageId")})
                continue
            for name, value in outcome.items():
                totals[name] += value
        for name, value in totals.items():
            if value:
                self._count(name, value)
        return {"batchItemFailures": failures}

    def _handle_one(self, record: Mapping[str, Any]) -> dict[str, int]:
        job = rules.job_from_message(json.loads(record.get("body") or "null") or {})
        targets = self._targets(job)
        results = self._deliver_all(targets, job)
        retries: list[tuple[dict[str, Any], int]] = []
        given_up: list[dict[str, Any]] = []
        for webhook, ok in zip(targets, results, strict=True):
            if ok:
                continue
            delay = rules.retry_delay(job.attempt)
            if delay is None:
                # Parked as attempt 1: a redrive from the DLQ starts the schedule over.
                given_up.append({**rules.retry_message(webhook.id, job.event, 1), "gave_up_after": job.attempt})
                self._log.error(
                    "webhook delivery given up",
                    extra={"webhook_id": webhook.id, "event_id": job.event.id, "attempts": job.attempt},
                )
            else:
                retries.append((rules.retry_message(webhook.id, job.event, job.attempt + 1), delay))
        if retries:
            self._queue.schedule(retries)
        if given_up:
            self._queue.give_up(given_up)
        return {
            "WebhookDeliveries": sum(results),
            "WebhookRetries": len(retries),
            "WebhookFailures": len(given_up),
        }

    def _targets(self, job: rules.Job) -> list[rules.Webhook]:
        webhooks = self._cache.all()
        if job.webhook_id is None:
            return rules.subscribers(webhooks.values(), job.event.type)
        webhook = webhooks.get(job.webhook_id)
        if webhook is None or not webhook.wants(job.event.type):
            # Deleted, deactivated or unsubscribed since the first attempt: nothing left to do.
            self._log.info("webhook retry dropped", extra={"webhook_id": job.webhook_id, "event_id": job.event.id})
            return []
        return [webhook]

    def _deliver_all(self, targets: list[rules.Webhook], job: rules.Job) -> list[bool]:
        if len(targets) <= 1:
            return [self._deliver(webhook, job) for webhook in targets]
        with ThreadPoolExecutor(max_workers=min(PARALLEL_DELIVERIES, len(targets))) as pool:
            return list(pool.map(lambda webhook: self._deliver(webhook, job), targets))

    def _deliver(self, webhook: rules.Webhook, job: rules.Job) -> bool:
        body = rules.body_of(job.event)
        headers = rules.headers_for(webhook, job.event, body, int(self._clock().timestamp()), job.attempt)
        extra = {"webhook_id": webhook.id, "event_id": job.event.id, "type": job.event.type, "attempt": job.attempt}
        try:
            status: int | None = self._transport.post(webhook.url, body, headers, self._timeout)
            error = None
        except Exception as exc:  # any failure to get an answer is a failed attempt, never a lost batch
            status, error = None, str(exc) if isinstance(exc, DeliveryError) else type(exc).__name__
        if rules.delivered(status):
            self._log.info("webhook delivered", extra={**extra, "status": status})
            return True
        # Never the body or the receiver's answer: they may carry personal data.
        self._log.warning("webhook attempt failed", extra={**extra, "status": status, "error": error})
        return False
