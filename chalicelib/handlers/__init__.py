"""The Lambda functions besides the API, registered without importing their handlers.

`app.py` registers `blueprint`, so chalice (and `chalice package`) sees each function's name,
trigger and settings at import; each entry point imports its handler module on its first
invocation. Lambda calls these entry points directly (`chalicelib.handlers.<function>`).
"""

from __future__ import annotations

import os
from typing import Any

from chalice import Blueprint
from chalice.app import DynamoDBEvent, SNSEvent, SQSEvent

# `chalice package` runs without the deployment's resources: the template replaces this
# placeholder with `Fn::GetAtt HelpdeskTable.StreamArn` (infra/template.json, PublishEvents).
PLACEHOLDER_STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/helpdesk-unbound/stream/1970-01-01T00:00:00.000"
STREAM_ARN = os.environ.get("HELPDESK_TABLE_STREAM_ARN") or PLACEHOLDER_STREAM_ARN

blueprint = Blueprint(__name__)


@blueprint.lambda_function(name="pre_token_generation")
def pre_token_generation(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from chalicelib.handlers import cognito

    return cognito.pre_token_generation(event, context)


@blueprint.on_dynamodb_record(stream_arn=STREAM_ARN, name="publish_events", batch_size=100)
def publish_events(event: DynamoDBEvent) -> dict[str, Any]:
    from chalicelib.handlers import events

    return events.publish_events(event)


@blueprint.on_dynamodb_record(stream_arn=STREAM_ARN, name="ticket_stream", batch_size=100)
def ticket_stream(event: DynamoDBEvent) -> dict[str, Any]:
    """SLA timers, list entries after a workflow's write, purge after TTL (ticket_changes.py)."""
    from chalicelib.handlers import ticket_changes

    return ticket_changes.follow_ticket_changes(event)


# `chalice package` runs without the queue: the template replaces this placeholder with
# `Fn::GetAtt WebhookDeliveryQueue.Arn` (infra/template.json, DeliverWebhooks); the local stack
# provisions the queue before importing the app, so the variable names the local one.
PLACEHOLDER_WEBHOOK_QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:helpdesk-unbound-WebhookDeliveryQueue"
WEBHOOK_QUEUE_ARN = os.environ.get("HELPDESK_WEBHOOK_QUEUE_ARN") or PLACEHOLDER_WEBHOOK_QUEUE_ARN


@blueprint.on_sqs_message(queue_arn=WEBHOOK_QUEUE_ARN, name="deliver_webhooks", batch_size=5)
def deliver_webhooks(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import webhooks

    return webhooks.deliver_webhooks(event)


# Placeholders as for the webhook queue: the template replaces them with the queue's and the
# topic's ARNs (infra/template.json, SendNotifications, RecordMailFeedback).
PLACEHOLDER_NOTIFICATION_QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:helpdesk-unbound-NotificationQueue"
NOTIFICATION_QUEUE_ARN = os.environ.get("HELPDESK_NOTIFICATION_QUEUE_ARN") or PLACEHOLDER_NOTIFICATION_QUEUE_ARN
PLACEHOLDER_MAIL_FEEDBACK_TOPIC_ARN = "arn:aws:sns:us-east-1:000000000000:helpdesk-unbound-MailFeedbackTopic"
MAIL_FEEDBACK_TOPIC_ARN = os.environ.get("HELPDESK_MAIL_FEEDBACK_TOPIC_ARN") or PLACEHOLDER_MAIL_FEEDBACK_TOPIC_ARN


@blueprint.on_sqs_message(queue_arn=NOTIFICATION_QUEUE_ARN, name="send_notifications", batch_size=10)
def send_notifications(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import notifications

    return notifications.send_notifications(event)


@blueprint.on_sns_message(topic=MAIL_FEEDBACK_TOPIC_ARN, name="record_mail_feedback")
def record_mail_feedback(event: SNSEvent) -> None:
    from chalicelib.handlers import notifications

    notifications.record_mail_feedback(event)


# As for the other queues: the template replaces the placeholder with InboundMailQueue's ARN
# (infra/template.json, ReceiveMail); SES's receipt rule → InboundMailTopic → this queue.
PLACEHOLDER_INBOUND_MAIL_QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:helpdesk-unbound-InboundMailQueue"
INBOUND_MAIL_QUEUE_ARN = os.environ.get("HELPDESK_INBOUND_MAIL_QUEUE_ARN") or PLACEHOLDER_INBOUND_MAIL_QUEUE_ARN


@blueprint.on_sqs_message(queue_arn=INBOUND_MAIL_QUEUE_ARN, name="receive_mail", batch_size=5)
def receive_mail(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import inbound_mail

    return inbound_mail.receive_mail(event)
