"""The ticket stream (chalicelib/handlers/ticket_changes.py) with the real workflow on moto: list
entries follow the stage a workflow entered, and a ticket purged by TTL leaves nothing behind."""

from __future__ import annotations

import boto3

from tests.api.test_escalations import aws, escalated, move, stack  # noqa: F401  (fixtures)
from tests.workflows.stack import EscalationStack


def listed(user, path, ticket_id):
    return next(t for t in user.get(path).data["items"] if t["id"] == ticket_id)


def entries(provisioned: EscalationStack, ticket_id: str) -> dict[str, dict]:
    raw = boto3.client("dynamodb").query(
        TableName=provisioned.table,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :idx)",
        ExpressionAttributeValues={":pk": {"S": f"TICKET#{ticket_id}"}, ":idx": {"S": "IDX#"}},
    )["Items"]
    return {item["SK"]["S"]: item for item in raw}


def test_lists_show_the_stage_the_workflow_entered_once_the_stream_is_followed(world, escalated, stack):  # noqa: F811
    agent, alice = world["agent_all"], world["alice"]
    escalation = escalated()
    ticket_id = escalation["ticket"]["id"]
    move(agent, stack, escalation["id"], "review")
    # The workflow updated the ticket item alone: lists lag until the stream is followed.
    assert alice.get(f"/v1/tickets/{ticket_id}").data["escalation"]["stage"] == "review"
    assert (listed(alice, "/v1/me/tickets", ticket_id)["escalation"] or {}).get("stage") != "review"

    assert stack.deliver("ticket_stream", stack.stream_records()) == {"batchItemFailures": []}
    current = alice.get(f"/v1/tickets/{ticket_id}").data
    for user, path in (
        (alice, "/v1/me/tickets"),
        (agent, "/v1/tickets"),
        (world["acme_admin"], "/v1/me/tickets?scope=organization"),
    ):
        entry = listed(user, path, ticket_id)
        assert entry["escalation"] == current["escalation"] and entry["version"] == current["version"]


def test_following_the_stream_again_never_undoes_a_later_write(world, escalated, stack):  # noqa: F811
    agent, alice = world["agent_all"], world["alice"]
    escalation = escalated()
    ticket_id = escalation["ticket"]["id"]
    move(agent, stack, escalation["id"], "review")
    records = stack.stream_records()
    stack.deliver("ticket_stream", records)
    assert agent.patch(f"/v1/tickets/{ticket_id}", {"priority": "urgent"}).status_code == 200
    after_patch = entries(stack, ticket_id)

    assert stack.deliver("ticket_stream", records) == {"batchItemFailures": []}  # redelivered
    assert entries(stack, ticket_id) == after_patch
    entry = listed(alice, "/v1/me/tickets", ticket_id)
    assert (entry["priority"], entry["escalation"]["stage"]) == ("urgent", "review")


def test_a_ticket_removed_by_ttl_leaves_no_item_and_no_file_behind(world, make_ticket, stack):  # noqa: F811
    agent = world["agent_all"]
    ticket = make_ticket(requester_id="alice")
    other = make_ticket(requester_id="alice")
    ticket_id = ticket["id"]
    for text in ("first", "second"):
        agent.post(f"/v1/tickets/{ticket_id}/comments", {"body": text, "visibility": "public"})
    assert agent.delete(f"/v1/tickets/{ticket_id}").status_code == 204
    s3, bucket = boto3.client("s3"), stack.provisioned.physical["AttachmentsBucket"]
    for key in (f"tickets/{ticket_id}/a1/log.txt", f"tickets/{ticket_id}/a2/shot.png", f"tickets/{other['id']}/a3/keep.txt"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    dynamodb = boto3.client("dynamodb")
    left = dynamodb.query(
        TableName=stack.table, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": f"TICKET#{ticket_id}"}}
    )["Items"]
    assert len(left) > 5  # activities, history, SLA ledger, timeline head

    # What TTL does 90 days after the delete: the ticket item goes, and the stream says so.
    start = len(stack.stream_records())
    dynamodb.delete_item(TableName=stack.table, Key={"PK": {"S": f"TICKET#{ticket_id}"}, "SK": {"S": "TICKET"}})
    for _ in range(2):  # a redelivered batch purges nothing twice and fails nothing
        assert stack.deliver("ticket_stream", stack.stream_records(start)) == {"batchItemFailures": []}

    remaining = dynamodb.query(
        TableName=stack.table, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": f"TICKET#{ticket_id}"}}
    )["Items"]
    assert remaining == []
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == [f"tickets/{other['id']}/a3/keep.txt"]
    assert agent.get(f"/v1/tickets/{other['id']}/timeline").status_code == 200


def test_events_written_by_the_workflow_expire_with_the_feed_retention(world, escalated, stack):  # noqa: F811
    from datetime import datetime, timedelta

    agent = world["agent_all"]
    escalation = escalated()
    move(agent, stack, escalation["id"], "review")
    written = [e for e in stack.outbox() if e["type"] == "escalation.stage_changed"]
    assert written and all("ttl" not in e for e in written)  # ASL writes no TTL of its own

    assert stack.deliver("ticket_stream", stack.stream_records()) == {"batchItemFailures": []}
    assert stack.deliver("ticket_stream", stack.stream_records()) == {"batchItemFailures": []}  # redelivered
    events = stack.outbox()
    assert events and all("ttl" in e for e in events)
    for event in (e for e in events if e["type"] == "escalation.stage_changed"):
        at = datetime.fromisoformat(event["at"])
        assert abs(int(event["ttl"]) - (at + timedelta(days=30)).timestamp()) < 1
