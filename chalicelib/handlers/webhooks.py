"""Webhook delivery: an SQS handler that POSTs each event to the webhooks subscribed to it.

`WebhookDeliveryQueue` receives every bus event (its own EventBridge rule) and the retries this
handler schedules itself: a failed attempt sends one delayed message naming that webhook only
(docs/decisions.md, "Webhooks"), and a delivery whose last attempt fails is parked in
`WebhookDeliveryDLQ`, from where an operator can redrive it (docs/operations.md). Messages that
cannot be processed at all are reported as batch item failures; SQS moves them to the same DLQ
after 5 receives.

The HTTP transport refuses to connect anywhere but a public address: it resolves the host
itself, checks every address, and connects to the checked one (no second lookup a DNS rebind
could answer differently), with TLS verified against the host name, a 5 s budget and no redirects.
Lambda enters through `chalicelib.handlers.deliver_webhooks`, which imports this module on its
first invocation.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from chalicelib import composition, config
from chalicelib.domain import webhooks as rules
from chalicelib.handlers.metrics import emit_metric
from chalicelib.services.webhooks import DeliveryError, WebhookDispatcher

MAX_RESPONSE_BYTES = 64 * 1024  # read and dropped: only the status matters

Resolver = Callable[[str, int], list[str]]


def deliver_webhooks(event: Any) -> dict[str, Any]:
    records = event.to_dict().get("Records", []) if hasattr(event, "to_dict") else event.get("Records", [])
    return dispatcher().handle(records)


@composition.per_environment
def dispatcher() -> WebhookDispatcher:
    return WebhookDispatcher(
        composition.webhook_cache(),
        PinnedHttpsTransport(),
        SqsRetryQueue(composition.sqs_client(), _env("HELPDESK_WEBHOOK_QUEUE_URL"), _env("HELPDESK_WEBHOOK_DLQ_URL")),
        clock=composition.clock,
        count=emit_metric,
        log=composition.logger(),
    )


def _env(name: str) -> str:
    value = config.environ().get(name)
    if not value:
        raise RuntimeError(f"set {name}")
    return value


class SqsRetryQueue:
    """Retries go back to the delivery queue with a delay; given-up deliveries to its DLQ."""

    def __init__(self, client: Any, queue_url: str, dead_letter_url: str) -> None:
        self._client = client
        self._queue_url = queue_url
        self._dead_letter_url = dead_letter_url

    def schedule(self, messages: Sequence[tuple[dict[str, Any], int]]) -> None:
        self._send(self._queue_url, [(body, delay) for body, delay in messages])

    def give_up(self, messages: Sequence[dict[str, Any]]) -> None:
        self._send(self._dead_letter_url, [(body, 0) for body in messages])

    def _send(self, url: str, messages: list[tuple[dict[str, Any], int]]) -> None:
        for start in range(0, len(messages), 10):  # SendMessageBatch takes at most 10 entries
            entries = [
                {"Id": str(i), "MessageBody": json.dumps(body, separators=(",", ":")), "DelaySeconds": delay}
                for i, (body, delay) in enumerate(messages[start : start + 10])
            ]
            response = self._client.send_message_batch(QueueUrl=url, Entries=entries)
            if response.get("Failed"):
                raise RuntimeError(f"{len(response['Failed'])} webhook messages not queued")


def resolve(host: str, port: int) -> list[str]:
    """Every address the host name resolves to (a literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise DeliveryError(f"cannot resolve the host: {exc.strerror or exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class PinnedHttpsTransport:
    """POST over HTTPS to a public address only, pinned to the address that was checked."""

    def __init__(self, resolver: Resolver = resolve) -> None:
        self._resolve = resolver

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        import urllib3

        problem = rules.url_problem(url)
        if problem is not None:  # stored before a rule was tightened, or edited in the table
            raise DeliveryError(f"url {problem}")
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or 443
        address = self.public_address(host, port)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
            timeout=urllib3.Timeout(total=timeout),
            retries=False,
            maxsize=1,
        )
        try:
            response = pool.urlopen(
                "POST",
                path,
                body=body,
                headers={**headers, "Host": parts.netloc},
                redirect=False,
                retries=False,
                assert_same_host=False,
                preload_content=False,
            )
            try:
                response.read(MAX_RESPONSE_BYTES)
            finally:
                response.release_conn()
            return int(response.status)
        except urllib3.exceptions.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: the receiver did not answer") from exc
        finally:
            pool.close()

    def public_address(self, host: str, port: int) -> str:
        """The address to connect to; DeliveryError if any resolved address is not public (a name
        that resolves to one private address among public ones is refused as a whole)."""
        addresses = self._resolve(host, port)
        if not addresses:
            raise DeliveryError("the host resolves to no address")
        for address in addresses:
            if not rules.is_public_address(ipaddress.ip_address(address.split("%")[0])):
                raise DeliveryError("the host resolves to a private, loopback, link-local or reserved address")
        return addresses[0]
