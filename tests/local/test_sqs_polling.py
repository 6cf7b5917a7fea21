"""The local stack hands delayed SQS messages (webhook retries) to their Lambda mapping, as Lambda's
poller would: moto alone delivers only what is visible at SendMessage time."""

from __future__ import annotations

import time
from typing import Any

from devstack import lambda_dispatch, sqs_polling
from devstack.aws import LocalAws
from devstack.translators import create_lambda_function, create_local_role


def test_a_delayed_message_reaches_the_mapped_function_once_it_is_due(aws: LocalAws) -> None:
    sqs, received = aws.client("sqs"), []
    url = sqs.create_queue(QueueName="delayed")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    create_lambda_function(aws, "consumer", create_local_role(aws, "consumer-role"))

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        received.extend(record["body"] for record in event["Records"])
        return {"batchItemFailures": []}

    lambda_dispatch.register("consumer", handler)
    aws.client("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName="consumer", BatchSize=5)
    sqs.send_message(QueueUrl=url, MessageBody="now")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)

    assert received == ["now"]  # moto delivered the visible one inside SendMessage
    assert sqs_polling.deliver_due(arn) == 0  # the delayed one is not due yet
    time.sleep(1.2)
    assert sqs_polling.deliver_due(arn) == 1
    assert received == ["now", "later"]
    assert sqs_polling.deliver_due(arn) == 0  # delivered messages are deleted


def test_a_record_the_handler_reports_as_failed_stays_queued_and_is_received_again(aws: LocalAws) -> None:
    """Lambda honours a partial batch response (`batchItemFailures`); moto alone deletes the
    whole batch, so a throttled inbound mail or notification was lost locally."""
    sqs, received = aws.client("sqs"), []
    # Visibility 0: a failed record is visible again at once (Lambda waits the queue's timeout).
    url = sqs.create_queue(QueueName="partial", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    create_lambda_function(aws, "consumer", create_local_role(aws, "consumer-role"))

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            received.append((record["body"], record["attributes"]["ApproximateReceiveCount"]))
            if record["body"] == "throttled" and record["attributes"]["ApproximateReceiveCount"] == "1":
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    lambda_dispatch.register("consumer", handler)
    aws.client("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName="consumer", BatchSize=5)
    sqs.send_message(QueueUrl=url, MessageBody="fine")
    sqs.send_message(QueueUrl=url, MessageBody="throttled")
    assert received == [("fine", "1"), ("throttled", "1")]  # both delivered inside SendMessage

    assert sqs_polling.deliver_due(arn) == 1  # only the reported record is still queued
    assert received[-1] == ("throttled", "2")
    assert sqs_polling.deliver_due(arn) == 0  # handled the second time: deleted
