"""Inbound mail: the SQS handler of SES "Received" notifications (InboundMailQueue).

SES stores each message under `inbound/` in `InboundMailBucket` and publishes the notification to
`InboundMailTopic`, which delivers it raw to `InboundMailQueue`; locally the SMTP listener of the
stack does the same. `services/inbound_mail.py` turns each into a comment, a ticket or a counted
nothing; only transient failures are batch item failures (retried; `InboundMailDLQ` after 5
receives). Lambda enters through `chalicelib.handlers`, which imports this module on the first
invocation.
"""

from __future__ import annotations

from typing import Any

from chalicelib import composition
from chalicelib.handlers.metrics import emit_metric
from chalicelib.services.inbound_mail import InboundMailService


def receive_mail(event: Any) -> dict[str, Any]:
    records = event.to_dict().get("Records", []) if hasattr(event, "to_dict") else event.get("Records", [])
    return receiver().handle(records)


@composition.per_environment
def receiver() -> InboundMailService:
    return composition.inbound_mail_service(count=emit_metric)
