"""Connect the Chalice app's SQS and DynamoDB stream handlers to moto's event source mappings.

moto delivers to a mapping synchronously, inside the SendMessage / write request that caused
it, and lambda_dispatch runs the handler in this process. Call this after restoring a snapshot:
stream mappings starting at LATEST skip what was written before they were connected.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from chalice.app import Chalice, DynamoDBEventConfig, SQSEventConfig
from chalice.utils import to_cfn_resource_name
from moto.dynamodb.models import dynamodb_backends

from devstack import lambda_dispatch, sqs_polling
from devstack.aws import LocalAws


def connect_event_sources(
    app: Chalice, app_name: str, stage: str, aws: LocalAws, filters: Mapping[str, Sequence[Any]] | None = None
) -> list[str]:
    """Create a mapping per SQS / DynamoDB stream handler; answers one line per event source.
    `filters` (logical id → FilterCriteria patterns, devstack/stream_filters.py) are honoured
    for stream mappings as Lambda honours the template's."""
    lambda_client = aws.client("lambda")
    report = []
    for source in app.event_sources:
        function_name = f"{app_name}-{stage}-{source.name}"
        if isinstance(source, SQSEventConfig):
            arn = source.queue_arn or _queue_arn(aws, source.queue)
            if arn is None:
                report.append(f"{source.name}: queue {source.queue!r} does not exist locally")
                continue
            lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName=function_name, BatchSize=source.batch_size)
            sqs_polling.poll(arn)  # delayed and retried messages too, not only those sent while visible
            report.append(f"{source.name}: connected to {arn}")
        elif isinstance(source, DynamoDBEventConfig):
            if source.stream_arn not in _stream_arns(aws):
                report.append(f"{source.name}: stream {source.stream_arn!r} does not exist locally")
                continue
            if source.starting_position == "LATEST":
                _start_stream_at_latest(source.stream_arn)
            patterns = list((filters or {}).get(to_cfn_resource_name(source.name), []))
            lambda_dispatch.filter_stream(function_name, patterns)
            lambda_client.create_event_source_mapping(
                EventSourceArn=source.stream_arn,
                FunctionName=function_name,
                BatchSize=source.batch_size,
                StartingPosition=source.starting_position,
                **({"FilterCriteria": {"Filters": [{"Pattern": json.dumps(p)} for p in patterns]}} if patterns else {}),
            )
            filtered = f" (filtered: {len(patterns)} patterns)" if patterns else ""
            report.append(f"{source.name}: connected to {source.stream_arn}{filtered}")
        else:
            report.append(
                f"{source.name}: {type(source).__name__} is not delivered locally (invoke the function directly to test it)"
            )
    return report


def _queue_arn(aws: LocalAws, queue_name: str | None) -> str | None:
    sqs = aws.client("sqs")
    try:
        url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        return None
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def _stream_arns(aws: LocalAws) -> set[str]:
    streams = aws.client("dynamodbstreams").list_streams()["Streams"]
    return {stream["StreamArn"] for stream in streams}


def _start_stream_at_latest(stream_arn: str) -> None:
    """Drop the stream records written so far, as Lambda's LATEST position would skip them.

    moto hands a new mapping every record since the table was created, so the first write after
    a restore would replay the whole snapshot through the handler. moto runs in this process,
    which is what makes reaching into its stream shard possible.
    """
    # arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>
    _, _, _, region, account, resource = stream_arn.split(":", 5)
    shard = dynamodb_backends[account][region].get_table(resource.split("/")[1]).stream_shard
    if shard is not None:
        shard.items.clear()
