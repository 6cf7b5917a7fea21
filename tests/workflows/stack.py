"""The escalation workflow's resources on an in-process moto that really runs ASL.

Provisioned from infra/template.json with the local stack's own provisioner (table, bus, the
state machine with its DefinitionSubstitutions and role), plus an SQS queue subscribed to the
bus so tests can read what was published. No Python imitation of the workflow anywhere.
Events reach the bus through the outbox: `events()` first hands the table's new stream records
to the app's publisher handler, as Lambda's stream polling would.
"""

from __future__ import annotations

import contextlib
import copy
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3

from devstack import dynamodb_isolation
from devstack.aws import InProcessAws
from devstack.paths import TEMPLATE_PATH
from devstack.provision import Provisioned, load_template, provision

PREFIX = "helpdesk-test-"
POLL_SECONDS = 0.05
STATE_ENTERED = "StateEntered"
# Last history events of an execution that makes no AWS call until something happens to it.
_IDLE_EVENTS = frozenset({"TaskSubmitted", "ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"})


def wait_for(predicate: Callable[[], Any], *, timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy; bounded, never minutes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(POLL_SECONDS)


@dataclass
class EscalationStack:
    provisioned: Provisioned
    queue_url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    streamed: int = 0  # stream records already handed to the publisher
    escalations_streamed: int = 0  # stream records already scanned for escalation runs to start

    @property
    def env(self) -> dict[str, str]:
        return self.provisioned.env

    @property
    def table(self) -> str:
        return self.provisioned.physical["HelpdeskTable"]

    @property
    def bus(self) -> str:
        return self.provisioned.physical["HelpdeskBus"]

    @property
    def state_machine_arn(self) -> str:
        return self.provisioned.physical["EscalationStateMachine"]

    def execution_arn(self, escalation_id: str) -> str:
        return self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{escalation_id}"

    # -- reading the table --------------------------------------------------------------
    def item(self, pk: str, sk: str) -> dict[str, Any] | None:
        raw = boto3.client("dynamodb").get_item(TableName=self.table, Key={"PK": {"S": pk}, "SK": {"S": sk}}, ConsistentRead=True)
        return _plain(raw["Item"]) if "Item" in raw else None

    def escalation(self, escalation_id: str) -> dict[str, Any] | None:
        return self.item(f"ESC#{escalation_id}", "ESC")

    def activities(self, ticket_id: str) -> list[dict[str, Any]]:
        raw = boto3.client("dynamodb").query(
            TableName=self.table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :act)",
            ExpressionAttributeValues={":pk": {"S": f"TICKET#{ticket_id}"}, ":act": {"S": "ACT#"}},
        )
        return _entries(raw["Items"])

    def public_timeline(self, ticket_id: str) -> list[dict[str, Any]]:
        raw = boto3.client("dynamodb").query(
            TableName=self.table,
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"PUBLIC#{ticket_id}"}},
        )
        return _entries(raw["Items"])

    # -- the workflow ---------------------------------------------------------------------
    def describe(self, escalation_id: str) -> dict[str, Any]:
        return boto3.client("stepfunctions").describe_execution(executionArn=self.execution_arn(escalation_id))

    def history(self, escalation_id: str) -> list[dict[str, Any]]:
        return self._history_of(self.execution_arn(escalation_id))

    @staticmethod
    def _history_of(execution_arn: str) -> list[dict[str, Any]]:
        sfn = boto3.client("stepfunctions")
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    def entered_states(self, escalation_id: str) -> list[str]:
        """Names of the states entered, in order: each is one billed state transition."""
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in self.history(escalation_id)
            if event["type"].endswith(STATE_ENTERED)
        ]

    def start_escalation_runs(self) -> Any:
        """Hand the escalation items' new stream records to the ticket stream function, which
        starts their workflow runs (as Lambda's stream polling would; other records are left
        for tests that follow the stream themselves)."""
        records = self.stream_records(self.escalations_streamed)
        self.escalations_streamed += len(records)
        ours = [r for r in records if r["dynamodb"].get("Keys", {}).get("PK", {}).get("S", "").startswith("ESC#")]
        result = self.deliver("ticket_stream", ours)
        assert result == {"batchItemFailures": []}, result
        return result

    def waiting_token(self, escalation_id: str, stage: str, *, timeout: float = 60.0) -> str:
        """The task token the execution stored when it started waiting in `stage`."""

        def token() -> str | None:
            self.start_escalation_runs()
            item = self.escalation(escalation_id) or {}
            if item.get("stage") == stage and item.get("task_stage") == stage and not item.get("claim_id"):
                return item.get("task_token")
            return None

        return str(wait_for(token, timeout=timeout, what=f"{escalation_id} to wait in {stage}"))

    def finished(self, escalation_id: str, *, timeout: float = 60.0) -> dict[str, Any]:
        return wait_for(
            lambda: (d := self.describe(escalation_id))["status"] != "RUNNING" and d,
            timeout=timeout,
            what=f"{escalation_id} to finish",
        )

    # -- the bus ----------------------------------------------------------------------------
    def outbox(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """The event items in the table (the change feed's partition), oldest first."""
        raw = boto3.client("dynamodb").query(
            TableName=self.table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": "EVENTS"}},
            ConsistentRead=True,
        )
        items = [_plain(item) for item in raw["Items"]]
        return [item for item in items if event_type is None or item["type"] == event_type]

    def publish(self) -> Any:
        """Run the publisher over the stream records written since the last call."""
        records = self.stream_records(self.streamed)
        self.streamed += len(records)
        return self.deliver("publish_events", records)

    def stream_records(self, start: int = 0) -> list[dict[str, Any]]:
        """The table's stream records from `start` on, as Lambda's stream polling hands them over."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        shard = dynamodb_backends[DEFAULT_ACCOUNT_ID][boto3.session.Session().region_name].get_table(self.table).stream_shard
        records = [copy.deepcopy(record.record) for record in shard.items[start:]]
        for record in records:
            record["dynamodb"]["ApproximateCreationDateTime"] = 0  # Lambda sends epoch seconds
            record["eventSourceARN"] = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/s"
        return records

    @staticmethod
    def deliver(function: str, records: list[dict[str, Any]]) -> Any:
        """Records through the deployed entry point of one stream function."""
        from app import app

        return app.handler_map[function]({"Records": records}, None) if records else {"batchItemFailures": []}

    def events(self, detail_type: str | None = None) -> list[dict[str, Any]]:
        """Every event the bus delivered to the test queue so far (optionally of one type)."""
        assert self.publish() == {"batchItemFailures": []}
        sqs = boto3.client("sqs")
        while True:
            messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                break
            for message in messages:
                self.received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return [e for e in self.received if detail_type is None or e["detail-type"] == detail_type]

    def stop_running_executions(self) -> None:
        """Let every execution reach a wait, then stop it: no execution thread may outlive the
        mock (moto's service integrations would then call http://localhost:5000)."""
        sfn = boto3.client("stepfunctions")
        for execution in sfn.list_executions(stateMachineArn=self.state_machine_arn, statusFilter="RUNNING")["executions"]:
            arn = execution["executionArn"]

            def idle(arn: str = arn) -> bool:
                events = self._history_of(arn)  # moto ignores reverseOrder and maxResults
                return bool(events) and events[-1]["type"] in _IDLE_EVENTS

            def stopped(arn: str = arn) -> bool:
                try:
                    sfn.stop_execution(executionArn=arn)
                except AttributeError:  # moto: an execution that has not built its environment yet
                    return False
                return True

            wait_for(idle, timeout=60, what=f"{arn} to wait or finish")
            wait_for(stopped, timeout=30, what=f"{arn} to stop")


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {name: deserializer.deserialize(value) for name, value in item.items()}


@contextlib.contextmanager
def escalation_stack(setenv: Callable[[str, str], None]) -> Iterator[EscalationStack]:
    """moto with Step Functions executing, the template's resources, and the app's env pointed at them."""
    from moto import mock_aws

    from chalicelib import composition

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        # The workflow's DynamoDB calls run on moto's execution threads: transactions must be
        # isolated and conditional writes atomic, as in DynamoDB.
        dynamodb_isolation.install()
        provisioned = provision(
            load_template(TEMPLATE_PATH), InProcessAws(), name_prefix=PREFIX, template_dir=TEMPLATE_PATH.parent
        )
        queue_url = _subscribe_queue(provisioned.physical["HelpdeskBus"])
        for name, value in provisioned.env.items():
            setenv(name, value)
        composition.reset()
        stack = EscalationStack(provisioned, queue_url)
        try:
            yield stack
        finally:
            stack.stop_running_executions()
            composition.reset()


def _subscribe_queue(bus: str) -> str:
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"{PREFIX}observed-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events")
    events.put_rule(Name=f"{PREFIX}observe", EventBusName=bus, EventPattern=json.dumps({"source": ["helpdesk"]}))
    events.put_targets(Rule=f"{PREFIX}observe", EventBusName=bus, Targets=[{"Id": "observer", "Arn": queue_arn}])
    return queue_url


def _entries(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Timeline entries without the timeline head (`ACT#~`, who may read the timeline)."""
    return [_plain(item) for item in items if item.get("kind", {}).get("S") != "timeline_head"]
