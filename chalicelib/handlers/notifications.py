"""Mail notifications: the SQS handler that sends them, and the SNS handler of SES feedback.

`NotificationQueue` receives the bus events that can notify someone (its own EventBridge rule);
`services/notifications.py` turns each into one mail per recipient, claimed before SES is called
so a redelivered batch mails nobody twice. Records that could not be fully sent are reported as
batch item failures; SQS moves them to `NotificationDLQ` after 5 receives (docs/operations.md).

SES publishes bounces and complaints of the configuration set to `MailFeedbackTopic`;
`record_mail_feedback` puts a permanently bounced or complaining address on the suppression list,
so it is not mailed again. Lambda enters through `chalicelib.handlers`, which imports this
module on the first invocation.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib import composition
from chalicelib.domain.mail.addresses import normalize_address
from chalicelib.handlers.metrics import emit_metric
from chalicelib.services.notifications import NotificationSender


def send_notifications(event: Any) -> dict[str, Any]:
    records = event.to_dict().get("Records", []) if hasattr(event, "to_dict") else event.get("Records", [])
    return sender().handle(records)


@functools.cache
def sender() -> NotificationSender:
    return NotificationSender(
        composition.mail_ticket_repository(),
        composition.mail_directory_repository(),
        composition.mail_activity_repository(),
        composition.mail_repository(),
        composition.ses_sender(),
        composition.mail_status_catalog(),
        composition.mail_settings(),
        clock=composition.clock,
        count=emit_metric,
        log=composition.logger(),
    )


def record_mail_feedback(event: Any) -> None:
    """SNS records of SES event publishing (`eventType`) or identity notifications
    (`notificationType`); every permanent bounce and every complaint suppresses its addresses."""
    records = event.to_dict().get("Records", []) if hasattr(event, "to_dict") else event.get("Records", [])
    repository, log, now = composition.mail_repository(), composition.logger(), composition.clock()
    suppressed = 0
    for record in records:
        try:
            message = json.loads(record.get("Sns", {}).get("Message") or "null")
        except ValueError:
            log.warning("mail feedback not JSON; ignored")
            continue
        for address, reason in suppressions(message if isinstance(message, Mapping) else {}):
            repository.suppress(address, reason, now)
            suppressed += 1
    if suppressed:
        emit_metric("MailSuppressed", suppressed)


def suppressions(message: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    """(address, reason) pairs to suppress: permanent bounces and complaints; transient bounces
    (mailbox full, greylisting) are not a reason to stop mailing someone."""
    kind = str(message.get("eventType") or message.get("notificationType") or "")
    if kind == "Bounce":
        bounce = message.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return []
        people, reason = bounce.get("bouncedRecipients") or [], "bounce"
    elif kind == "Complaint":
        people, reason = (message.get("complaint") or {}).get("complainedRecipients") or [], "complaint"
    else:
        return []
    addresses = [normalize_address(str(p.get("emailAddress") or "")) for p in people if isinstance(p, Mapping)]
    return [(address, reason) for address in dict.fromkeys(addresses) if address]
