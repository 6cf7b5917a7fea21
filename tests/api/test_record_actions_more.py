"""Record actions, second half: links, related tickets, merge, proxy access, time entries,
attachments and channel details."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from tests.api.test_bad_input import assert_problem
from tests.api.test_call_counts import dynamodb_calls, measure  # noqa: F401  (fixture)

BUCKET = "helpdesk-local-attachments"


@pytest.fixture
def bucket(aws):
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    return BUCKET


def uploaded(user, ticket_id, **body):
    """Reserve a slot, put the file where the form would, confirm it: what a browser does."""
    body = {"filename": "log.txt", "content_type": "text/plain", "size": 10, **body}
    made = user.post(f"/v1/tickets/{ticket_id}/attachments", body)
    assert made.status_code == 201, made.body
    key = made.data["upload_fields"]["key"]
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"x" * body["size"], ContentType=body["content_type"])
    confirmed = user.post(f"/v1/tickets/{ticket_id}/attachments/{made.data['id']}/confirm")
    assert confirmed.status_code == 200, confirmed.body
    return confirmed.data


def _timeline(user, ticket_id, **query):
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return user.get(f"/v1/tickets/{ticket_id}/timeline?{qs}" if qs else f"/v1/tickets/{ticket_id}/timeline").data["items"]


# -- links -----------------------------------------------------------------------------------
def test_a_link_shows_on_both_tickets_and_customers_see_only_links_they_may_see(world, make_ticket):
    agent = world["agent_all"]
    alices = make_ticket(requester_id="alice")
    alices_other = make_ticket(requester_id="alice")
    ginas = make_ticket(requester_id="gina")
    linked = agent.post(f"/v1/tickets/{alices['id']}/links", {"ticket_id": alices_other["id"]})
    assert linked.status_code == 200, linked.body
    assert linked.data["links"] == [alices_other["id"]]
    agent.post(f"/v1/tickets/{alices['id']}/links", {"ticket_id": ginas["id"]})
    assert agent.get(f"/v1/tickets/{alices_other['id']}").data["links"] == [alices["id"]]
    assert agent.get(f"/v1/tickets/{ginas['id']}").data["links"] == [alices["id"]]
    assert world["alice"].get(f"/v1/tickets/{alices['id']}").data["links"] == [alices_other["id"]]
    # Linking twice writes nothing; unlinking removes both sides.
    again = agent.post(f"/v1/tickets/{alices['id']}/links", {"ticket_id": ginas["id"]})
    assert again.data["version"] == agent.get(f"/v1/tickets/{alices['id']}").data["version"]
    assert agent.delete(f"/v1/tickets/{alices['id']}/links/{ginas['id']}").status_code == 204
    assert agent.get(f"/v1/tickets/{ginas['id']}").data["links"] == []
    assert agent.get(f"/v1/tickets/{alices['id']}").data["links"] == [alices_other["id"]]
    # The link entries are internal: a customer's timeline never names the other ticket.
    assert all(e["fields"].get("event") not in ("linked", "unlinked") for e in _timeline(world["alice"], alices["id"]))


def test_link_errors(world, make_ticket):
    agent = world["agent_all"]
    ticket = make_ticket(requester_id="alice")
    path = f"/v1/tickets/{ticket['id']}/links"
    assert_problem(agent.post(path, {"ticket_id": ticket["id"]}), 409)
    assert_problem(agent.post(path, {"ticket_id": "nope"}), 422)
    assert_problem(agent.post(path, {}), 422)
    assert_problem(agent.post(path, {"ticket_id": 5}), 422)
    assert_problem(world["alice"].post(path, {"ticket_id": ticket["id"]}), 403)
    hidden = make_ticket(requester_id="alice", team_id="engineering")
    assert_problem(world["agent_support"].post(path, {"ticket_id": hidden["id"]}), 422)


def test_removing_a_link_never_writes_to_a_ticket_the_caller_may_not_see(world, make_ticket):
    mine = make_ticket(requester_id="alice", team_id="support")
    hidden = make_ticket(requester_id="gina", team_id="engineering")
    assert world["agent_all"].post(f"/v1/tickets/{mine['id']}/links", {"ticket_id": hidden["id"]}).status_code == 200
    version = world["agent_all"].get(f"/v1/tickets/{hidden['id']}").data["version"]

    assert_problem(world["agent_support"].delete(f"/v1/tickets/{mine['id']}/links/{hidden['id']}"), 404)

    after = world["agent_all"].get(f"/v1/tickets/{hidden['id']}").data
    assert after["links"] == [mine["id"]] and after["version"] == version
    assert world["agent_all"].get(f"/v1/tickets/{mine['id']}").data["links"] == [hidden["id"]]


def test_related_tickets_come_from_the_requester_and_organization_partitions(world, make_ticket):
    ticket = make_ticket(requester_id="alice")
    older = make_ticket(requester_id="alice")
    bobs = make_ticket(requester_id="bob")
    make_ticket(requester_id="gina")
    related = world["agent_all"].get(f"/v1/tickets/{ticket['id']}/related")
    assert related.status_code == 200, related.body
    assert [t["id"] for t in related.data["requester_tickets"]] == [older["id"]]
    assert {t["id"] for t in related.data["organization_tickets"]} == {older["id"], bobs["id"]}
    # Alice is not her organization's admin: she sees only her own tickets in either list.
    mine = world["alice"].get(f"/v1/tickets/{ticket['id']}/related").data
    assert [t["id"] for t in mine["organization_tickets"]] == [older["id"]]
    assert all("time_spent_minutes" not in t for t in mine["requester_tickets"])
    assert_problem(world["gina"].get(f"/v1/tickets/{ticket['id']}/related"), 404)


# -- merge -----------------------------------------------------------------------------------
def test_merge_closes_the_source_and_makes_its_record_reachable_from_the_target(world, make_ticket, bucket):
    agent, alice = world["agent_all"], world["alice"]
    target = make_ticket(requester_id="alice")
    source = make_ticket(requester_id="bob", cc=["acme-admin"])
    src = f"/v1/tickets/{source['id']}"
    agent.post(f"{src}/comments", {"body": "source reply", "visibility": "public"})
    agent.post(f"{src}/comments", {"body": "source note", "visibility": "internal"})
    agent.post(f"{src}/time-entries", {"minutes": 30, "note": "debugging", "billable": True})
    world["agent_support"].request("PUT", f"{src}/followers/me")
    upload = uploaded(agent, source["id"])

    merged = agent.post(f"/v1/tickets/{target['id']}/merge", {"source_id": source["id"]})
    assert merged.status_code == 200, merged.body
    assert merged.data["merged_from"] == [source["id"]]
    assert set(merged.data["cc"]) == {"bob", "acme-admin"}  # the source's requester keeps getting updates
    assert "agent-support" in merged.data["followers"]
    assert merged.data["time_spent_minutes"] == 30

    closed = agent.get(src).data
    assert closed["merged_into"] == target["id"] and closed["status"] == "closed"
    assert world["bob"].get(src).data["merged_into"] == target["id"]
    entries = _timeline(agent, target["id"])
    bodies = [e["body"] for e in entries]
    assert "source reply" in bodies and "source note" in bodies
    assert any(e["type"] == "time_entry" for e in entries)
    events = [e["fields"] for e in entries if e["type"] == "system" and e["fields"]["event"].startswith("merged")]
    assert {"event": "merged", "source_id": source["id"], "source_number": source["number"]} in events
    assert _timeline(agent, source["id"])[0]["fields"]["event"] == "merged_into"
    customer_view = _timeline(alice, target["id"])
    assert "source reply" in [e["body"] for e in customer_view]
    assert "source note" not in [e["body"] for e in customer_view]
    assert all(e["type"] != "time_entry" for e in customer_view)
    # Files of the source download through the target.
    got = agent.get(f"/v1/tickets/{target['id']}/attachments/{upload['id']}")
    assert got.status_code == 200, got.body
    # History on both sides.
    history = agent.get(f"{src}/history?property=merged_into").data["items"]
    assert history[0]["new"] == target["id"]


def test_merge_conflicts(world, make_ticket):
    agent = world["agent_all"]
    target, source, other = (make_ticket(requester_id="alice") for _ in range(3))
    path = f"/v1/tickets/{target['id']}/merge"
    assert_problem(agent.post(path, {"source_id": target["id"]}), 409)  # itself
    assert agent.post(path, {"source_id": source["id"]}).status_code == 200
    assert_problem(agent.post(path, {"source_id": source["id"]}), 409)  # already merged
    assert_problem(agent.post(f"/v1/tickets/{source['id']}/merge", {"source_id": other["id"]}), 409)  # into merged
    deleted = make_ticket(requester_id="alice")
    agent.delete(f"/v1/tickets/{deleted['id']}")
    assert_problem(agent.post(f"/v1/tickets/{deleted['id']}/merge", {"source_id": other["id"]}), 409)  # into deleted
    assert_problem(agent.post(path, {"source_id": deleted["id"]}), 409)
    assert_problem(agent.post(path, {"source_id": "nope"}), 422)
    assert_problem(agent.post(path, {}), 422)
    assert_problem(world["alice"].post(path, {"source_id": other["id"]}), 403)
    assert_problem(world["agent_support"].post("/v1/tickets/nope/merge", {"source_id": other["id"]}), 404)


def test_a_merge_that_loses_a_race_changes_nothing(world, make_ticket, monkeypatch):
    """Both tickets are written in one transaction conditioned on both versions: a concurrent
    write to the source between read and write cancels the whole merge (then it is retried)."""
    from chalicelib import composition
    from chalicelib.domain.errors import VersionConflict

    agent = world["agent_all"]
    target, source = make_ticket(requester_id="alice"), make_ticket(requester_id="bob")
    repository = composition.ticket_repository()
    real = repository.update_together
    calls = {"n": 0}

    def racing(writes, actor_id, at):
        calls["n"] += 1
        if calls["n"] == 1:  # someone patches the source after the merge read it
            assert agent.patch(f"/v1/tickets/{source['id']}", {"priority": "high"}).status_code == 200
        return real(writes, actor_id, at)

    monkeypatch.setattr(repository, "update_together", racing)
    merged = agent.post(f"/v1/tickets/{target['id']}/merge", {"source_id": source["id"]})
    assert merged.status_code == 200 and calls["n"] == 2
    after = agent.get(f"/v1/tickets/{source['id']}").data
    assert after["priority"] == "high" and after["merged_into"] == target["id"]

    def always_conflict(writes, actor_id, at):
        raise VersionConflict("lost")

    other_target, other_source = make_ticket(requester_id="alice"), make_ticket(requester_id="bob")
    monkeypatch.setattr(repository, "update_together", always_conflict)
    monkeypatch.setattr("chalicelib.services.merge.backoff", lambda attempt: 0)
    assert_problem(agent.post(f"/v1/tickets/{other_target['id']}/merge", {"source_id": other_source["id"]}), 409)
    assert agent.get(f"/v1/tickets/{other_source['id']}").data["merged_into"] is None
    assert agent.get(f"/v1/tickets/{other_target['id']}").data["merged_from"] == []


# -- proxy access ------------------------------------------------------------------------------
def test_the_requester_toggles_proxy_access_and_only_agents_see_the_audit(world, make_ticket):
    alice, agent = world["alice"], world["agent_all"]
    ticket = make_ticket(requester_id="alice", cc=["bob"])
    path = f"/v1/tickets/{ticket['id']}/proxy-access"
    on = alice.request("PUT", path, {"enabled": True})
    assert on.status_code == 200, on.body
    assert on.data["proxy_access"] is True
    assert alice.request("PUT", path, {"enabled": True}).data["version"] == on.data["version"]  # no second audit
    assert alice.request("PUT", path, {"enabled": False}).data["proxy_access"] is False
    audit = _timeline(agent, ticket["id"], type="proxy_access")
    assert [e["fields"]["enabled"] for e in audit] == [False, True]
    assert all(e["actor_id"] == "alice" and e["visibility"] == "internal" for e in audit)
    assert all(e["type"] != "proxy_access" for e in _timeline(alice, ticket["id"]))
    assert _timeline(alice, ticket["id"], type="proxy_access") == []
    assert_problem(world["bob"].request("PUT", path, {"enabled": True}), 403)
    assert_problem(agent.request("PUT", path, {"enabled": True}), 403)
    assert_problem(world["gina"].request("PUT", path, {"enabled": True}), 404)
    assert_problem(alice.request("PUT", path, {"enabled": "yes"}), 422)
    assert_problem(alice.request("PUT", path, {}), 422)


# -- time entries ------------------------------------------------------------------------------
def test_time_entries_add_up_and_customers_never_see_them(world, make_ticket):
    agent, alice = world["agent_all"], world["alice"]
    ticket = make_ticket(requester_id="alice")
    path = f"/v1/tickets/{ticket['id']}/time-entries"
    first = agent.post(path, {"minutes": 15, "note": "triage", "billable": True})
    assert first.status_code == 201, first.body
    assert first.data["type"] == "time_entry" and first.data["visibility"] == "internal"
    assert first.data["fields"] == {"minutes": 15, "billable": True}
    assert agent.post(path, {"minutes": 45}).data["ticket"]["time_spent_minutes"] == 60
    assert agent.get(f"/v1/tickets/{ticket['id']}").data["time_spent_minutes"] == 60
    assert "time_spent_minutes" not in alice.get(f"/v1/tickets/{ticket['id']}").data
    for listed in alice.get("/v1/tickets").data["items"] + alice.get("/v1/me/tickets").data["items"]:
        assert "time_spent_minutes" not in listed
    assert all(e["type"] != "time_entry" for e in _timeline(alice, ticket["id"]))
    assert_problem(alice.post(path, {"minutes": 5}), 403)
    for bad in ({}, {"minutes": 0}, {"minutes": 24 * 60 + 1}, {"minutes": "5"}, {"minutes": 5, "billable": "no"}):
        assert_problem(agent.post(path, bad), 422)


# -- attachments -------------------------------------------------------------------------------
def test_an_upload_is_a_presigned_post_with_exact_type_and_size_limits(world, make_ticket, bucket):
    alice = world["alice"]
    ticket = make_ticket(requester_id="alice")
    created = alice.post(
        f"/v1/tickets/{ticket['id']}/attachments", {"filename": "report.pdf", "content_type": "application/pdf", "size": 1234}
    )
    assert created.status_code == 201, created.body
    fields = created.data["upload_fields"]
    assert created.data["upload_url"].startswith(f"https://{BUCKET}.s3")
    assert fields["key"] == f"tickets/{ticket['id']}/{created.data['id']}/report.pdf"
    assert fields["Content-Type"] == "application/pdf"
    policy = json.loads(__import__("base64").b64decode(fields["policy"]))
    assert {"Content-Type": "application/pdf"} in policy["conditions"]
    # The declared size is the file's size: a 10-byte slot takes neither 9 bytes nor 500 KB.
    assert ["content-length-range", 1234, 1234] in policy["conditions"]
    assert {"key": fields["key"]} in policy["conditions"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"filename": "x.exe", "content_type": "application/octet-stream", "size": 5}, {"filename"}),
        ({"filename": "x.pdf", "content_type": "text/html", "size": 5}, {"content_type"}),
        ({"filename": "../x.pdf", "content_type": "application/pdf", "size": 5}, {"filename"}),
        ({"filename": "x.pdf", "content_type": "application/pdf", "size": 512_001}, {"size"}),
        ({"filename": "x.pdf", "content_type": "application/pdf", "size": 0}, {"size"}),
        ({"filename": "x.pdf", "content_type": "application/pdf"}, {"size"}),
        ({"filename": "x.pdf", "content_type": "application/pdf", "size": 5, "comment_id": "nope"}, {"comment_id"}),
    ],
)
def test_bad_attachments_are_422_per_field(world, make_ticket, bucket, body, fields):
    ticket = make_ticket(requester_id="alice")
    response = world["alice"].post(f"/v1/tickets/{ticket['id']}/attachments", body)
    assert_problem(response, 422)
    assert {e["field"] for e in response.data["errors"]} == fields


def test_at_most_five_files_per_message(world, make_ticket, bucket):
    agent = world["agent_all"]
    ticket = make_ticket(requester_id="alice")
    reply = agent.post(f"/v1/tickets/{ticket['id']}/comments", {"body": "see files", "visibility": "public"}).data
    body = {"filename": "a.png", "content_type": "image/png", "size": 100, "comment_id": reply["id"]}
    for _ in range(5):
        assert agent.post(f"/v1/tickets/{ticket['id']}/attachments", body).status_code == 201
    assert_problem(agent.post(f"/v1/tickets/{ticket['id']}/attachments", body), 422)
    # Another message has its own five.
    own = {"filename": "a.png", "content_type": "image/png", "size": 100}
    assert agent.post(f"/v1/tickets/{ticket['id']}/attachments", own).status_code == 201


def test_downloads_follow_ticket_visibility_and_internal_note_files_stay_with_agents(world, make_ticket, bucket):
    agent, alice = world["agent_all"], world["alice"]
    ticket = make_ticket(requester_id="alice")
    base = f"/v1/tickets/{ticket['id']}"
    note = agent.post(f"{base}/comments", {"body": "internal", "visibility": "internal"}).data
    public = uploaded(alice, ticket["id"], filename="a.txt", size=3)
    internal = uploaded(agent, ticket["id"], filename="b.txt", size=3, comment_id=note["id"])
    assert internal["visibility"] == "internal"

    got = alice.get(f"{base}/attachments/{public['id']}")
    assert got.status_code == 200, got.body
    url = urlparse(got.data["download_url"])
    assert url.path.endswith(f"/{public['id']}/a.txt") and "X-Amz-Signature" in parse_qs(url.query)
    assert agent.get(f"{base}/attachments/{internal['id']}").status_code == 200
    assert_problem(alice.get(f"{base}/attachments/{internal['id']}"), 404)
    assert_problem(world["gina"].get(f"{base}/attachments/{public['id']}"), 404)
    # A customer can neither attach to nor learn of an internal note.
    sneaky = {"filename": "c.txt", "content_type": "text/plain", "size": 3, "comment_id": note["id"]}
    assert_problem(alice.post(f"{base}/attachments", sneaky), 422)
    assert_problem(world["bob"].post(f"{base}/attachments", {"filename": "c.txt", "content_type": "text/plain", "size": 3}), 404)


# -- channel details ---------------------------------------------------------------------------
def test_channel_details_are_validated_per_channel_and_returned(world, make_ticket):
    agent = world["agent_all"]
    conference = {"scheduled_at": "2026-05-01T10:00:00Z", "call_state": "pending", "meeting_link": "https://m.example/x"}
    ticket = make_ticket(requester_id="alice", channel="conference", channel_details=conference)
    assert ticket["channel_details"] == conference
    assert world["alice"].get(f"/v1/tickets/{ticket['id']}").data["channel_details"] == conference
    patched = agent.patch(f"/v1/tickets/{ticket['id']}", {"channel_details": {**conference, "call_state": "accepted"}})
    assert patched.status_code == 200 and patched.data["channel_details"]["call_state"] == "accepted"
    listed = agent.get("/v1/tickets").data["items"]
    assert all("channel_details" not in t for t in listed)
    bad = agent.post(
        "/v1/tickets",
        {"subject": "s", "description": "d", "channel": "conference", "channel_details": {"call_state": "ringing", "x": 1}},
    )
    assert_problem(bad, 422)
    assert {e["field"] for e in bad.data["errors"]} == {
        "channel_details.scheduled_at",
        "channel_details.call_state",
        "channel_details.x",
    }
    # Changing the channel to one the details do not fit is a 422, unless the details change too.
    assert_problem(agent.patch(f"/v1/tickets/{ticket['id']}", {"channel": "chat"}), 422)
    chat = {"transcript": [{"author": "alice", "at": "2026-05-01T10:00:00Z", "text": "hello"}]}
    moved = agent.patch(f"/v1/tickets/{ticket['id']}", {"channel": "chat", "channel_details": chat})
    assert moved.status_code == 200 and moved.data["channel_details"] == chat
    cleared = agent.patch(f"/v1/tickets/{ticket['id']}", {"channel_details": None})
    assert cleared.status_code == 200 and cleared.data["channel_details"] is None
    assert_problem(agent.post("/v1/tickets", {"subject": "s", "description": "d", "channel_details": "x"}), 422)
    assert_problem(agent.post("/v1/tickets", {"subject": "s", "description": "d", "channel_details": {"a": 1}}), 422)


# -- call counts -------------------------------------------------------------------------------
def test_record_actions_use_the_documented_number_of_calls(world, make_ticket, bucket, dynamodb_calls):  # noqa: F811
    agent, alice = world["agent_all"], world["alice"]
    target, source = make_ticket(requester_id="alice"), make_ticket(requester_id="bob")
    tid = target["id"]
    write_two = {"GetItem": 1, "BatchGetItem": 1, "TransactWriteItems": 1}
    assert measure(dynamodb_calls, lambda: agent.post(f"/v1/tickets/{tid}/links", {"ticket_id": source["id"]})) == write_two
    other = make_ticket(requester_id="alice")
    assert measure(dynamodb_calls, lambda: agent.post(f"/v1/tickets/{tid}/links", {"ticket_id": other["id"]})) == write_two
    assert measure(dynamodb_calls, lambda: agent.post(f"/v1/tickets/{tid}/merge", {"source_id": source["id"]})) == write_two
    assert measure(dynamodb_calls, lambda: agent.post(f"/v1/tickets/{tid}/time-entries", {"minutes": 5})) == {
        "GetItem": 2,
        "TransactWriteItems": 1,
    }
    attach = {"filename": "a.txt", "content_type": "text/plain", "size": 3}
    assert measure(dynamodb_calls, lambda: alice.post(f"/v1/tickets/{tid}/attachments", attach)) == {
        "GetItem": 2,
        "TransactWriteItems": 1,
    }
    reply = agent.post(f"/v1/tickets/{tid}/comments", {"body": "r", "visibility": "public"}).data
    assert measure(
        dynamodb_calls, lambda: agent.post(f"/v1/tickets/{tid}/attachments", {**attach, "comment_id": reply["id"]})
    ) == {"GetItem": 2, "BatchGetItem": 1, "TransactWriteItems": 1}
    made = agent.post(f"/v1/tickets/{tid}/attachments", {**attach, "comment_id": reply["id"]}).data
    boto3.client("s3").put_object(Bucket=BUCKET, Key=made["upload_fields"]["key"], Body=b"abc", ContentType="text/plain")
    confirm = f"/v1/tickets/{tid}/attachments/{made['id']}/confirm"
    assert measure(dynamodb_calls, lambda: agent.post(confirm)) == {"GetItem": 2, "BatchGetItem": 2, "TransactWriteItems": 1}
    assert measure(dynamodb_calls, lambda: alice.get(f"/v1/tickets/{tid}/attachments")) == {"GetItem": 2, "Query": 1}
    assert measure(dynamodb_calls, lambda: alice.request("PUT", f"/v1/tickets/{tid}/proxy-access", {"enabled": True})) == {
        "GetItem": 2,
        "TransactWriteItems": 1,
    }
    # Reads: related = GetItem + one Query per partition; a merged timeline = one Query per
    # ticket (its head names the sources); a customer's GET of a linked ticket: one BatchGetItem.
    assert measure(dynamodb_calls, lambda: agent.get(f"/v1/tickets/{tid}/related")) == {"GetItem": 2, "Query": 2}
    assert measure(dynamodb_calls, lambda: agent.get(f"/v1/tickets/{tid}/timeline")) == {"GetItem": 1, "Query": 2}
    assert measure(dynamodb_calls, lambda: alice.get(f"/v1/tickets/{tid}")) == {"GetItem": 2, "BatchGetItem": 1}
    assert measure(dynamodb_calls, lambda: agent.get(f"/v1/tickets/{tid}")) == {"GetItem": 1, "Query": 1}  # with viewers
    assert "Scan" not in dynamodb_calls


# -- merges across organizations ---------------------------------------------------------------
def test_merging_a_ticket_of_another_organization_is_a_409_unless_an_admin_forces_it(world, make_ticket):
    target, source = make_ticket(requester_id="alice"), make_ticket(requester_id="gina")
    path = f"/v1/tickets/{target['id']}/merge"

    assert_problem(world["agent_all"].post(path, {"source_id": source["id"]}), 409)
    problem = assert_problem(world["agent_all"].post(path, {"source_id": source["id"], "force": True}), 403)
    assert [e["field"] for e in problem["errors"]] == ["force"]
    assert world["agent_all"].get(f"/v1/tickets/{source['id']}").data["merged_into"] is None
    assert world["admin"].post(path, {"source_id": source["id"], "force": True}).status_code == 200


def test_a_forced_merge_never_shows_the_sources_thread_to_the_targets_organization(world, make_ticket, bucket):
    admin, agent, alice, gina = world["admin"], world["agent_all"], world["alice"], world["gina"]
    target, source = make_ticket(requester_id="alice"), make_ticket(requester_id="gina")
    src = f"/v1/tickets/{source['id']}"
    assert world["gina"].post(f"{src}/comments", {"body": "globex secret reply"}).status_code == 201
    upload = uploaded(gina, source["id"], filename="contract.pdf", content_type="application/pdf", size=10)

    merged = admin.post(f"/v1/tickets/{target['id']}/merge", {"source_id": source["id"], "force": True})

    assert merged.status_code == 200, merged.body
    assert "gina" not in merged.data["cc"]  # nobody of the source gains the target
    assert merged.data["merged_staff_only"] == [source["id"]]
    customer_view = _timeline(alice, target["id"])
    assert "globex secret reply" not in [e["body"] for e in customer_view]
    assert all(e["type"] != "system" or not e["fields"]["event"].startswith("merged") for e in customer_view)
    assert "globex secret reply" not in [e["body"] for e in _timeline(alice, target["id"], limit=1)]
    assert_problem(alice.get(f"/v1/tickets/{target['id']}/attachments/{upload['id']}"), 404)
    assert_problem(gina.get(f"/v1/tickets/{target['id']}"), 404)
    assert "merged_staff_only" not in alice.get(f"/v1/tickets/{target['id']}").data
    # Staff still read the whole merged record through the target.
    assert "globex secret reply" in [e["body"] for e in _timeline(agent, target["id"])]
    assert agent.get(f"/v1/tickets/{target['id']}/attachments/{upload['id']}").status_code == 200


def test_confirmed_uploads_are_listed_on_the_ticket_and_their_reply_with_fresh_download_urls(world, make_ticket, bucket):
    agent, alice = world["agent_all"], world["alice"]
    ticket = make_ticket(requester_id="alice")
    base = f"/v1/tickets/{ticket['id']}"
    reply = agent.post(f"{base}/comments", {"body": "see the log", "visibility": "public"}).data
    on_ticket = uploaded(alice, ticket["id"], filename="screen.png", content_type="image/png", size=20)
    on_reply = uploaded(agent, ticket["id"], filename="fix.txt", size=7, comment_id=reply["id"])
    # Reserved but never uploaded: not a file anyone can find.
    agent.post(f"{base}/attachments", {"filename": "never.txt", "content_type": "text/plain", "size": 5})

    for user in (alice, agent):
        page = user.get(f"{base}/attachments")
        assert page.status_code == 200, page.body
        items = page.data["items"]
        assert [(i["id"], i["comment_id"], i["filename"], i["size"], i["content_type"]) for i in items] == [
            (on_ticket["id"], None, "screen.png", 20, "image/png"),
            (on_reply["id"], reply["id"], "fix.txt", 7, "text/plain"),
        ]
        assert all(i["created_at"] and i["uploaded_at"] for i in items)
        url = urlparse(items[1]["download_url"])
        assert url.path.endswith(f"/{on_reply['id']}/fix.txt") and "X-Amz-Signature" in parse_qs(url.query)
        entry = next(e for e in _timeline(user, ticket["id"]) if e["id"] == reply["id"])
        assert entry["attachments"] == [{"id": on_reply["id"], "filename": "fix.txt", "content_type": "text/plain", "size": 7}]
    assert page.data["next_cursor"] is None


def test_an_internal_notes_files_are_listed_for_agents_only_and_other_orgs_get_404(world, make_ticket, bucket):
    agent, alice = world["agent_all"], world["alice"]
    ticket = make_ticket(requester_id="alice")
    base = f"/v1/tickets/{ticket['id']}"
    note = agent.post(f"{base}/comments", {"body": "root cause", "visibility": "internal"}).data
    secret = uploaded(agent, ticket["id"], filename="dump.txt", size=4, comment_id=note["id"])
    public = uploaded(alice, ticket["id"], filename="a.txt", size=3)

    assert [i["id"] for i in agent.get(f"{base}/attachments").data["items"]] == [secret["id"], public["id"]]
    assert [i["id"] for i in alice.get(f"{base}/attachments").data["items"]] == [public["id"]]
    note_entry = next(e for e in _timeline(agent, ticket["id"]) if e["id"] == note["id"])
    assert [a["id"] for a in note_entry["attachments"]] == [secret["id"]]
    assert secret["id"] not in json.dumps(alice.get(f"{base}/timeline").data)
    assert_problem(world["gina"].get(f"{base}/attachments"), 404)
    assert_problem(world["bob"].get(f"{base}/attachments"), 404)


def test_an_upload_is_confirmed_only_once_its_declared_file_is_there(world, make_ticket, bucket):
    agent, alice = world["agent_all"], world["alice"]
    ticket = make_ticket(requester_id="alice")
    base = f"/v1/tickets/{ticket['id']}"
    reply = alice.post(f"{base}/comments", {"body": "attached"}).data
    made = alice.post(
        f"{base}/attachments", {"filename": "a.txt", "content_type": "text/plain", "size": 10, "comment_id": reply["id"]}
    ).data
    confirm = f"{base}/attachments/{made['id']}/confirm"
    assert made["uploaded_at"] is None
    assert_problem(alice.post(confirm), 409)
    assert_problem(alice.get(f"{base}/attachments/{made['id']}"), 404)
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key=made["upload_fields"]["key"], Body=b"short", ContentType="text/plain")
    assert_problem(alice.post(confirm), 409)  # 5 bytes where 10 were declared
    s3.put_object(Bucket=BUCKET, Key=made["upload_fields"]["key"], Body=b"0123456789", ContentType="text/plain")
    assert_problem(world["acme_admin"].post(confirm), 403)  # sees the ticket, did not upload the file
    first = alice.post(confirm)
    assert first.status_code == 200 and first.data["uploaded_at"]
    again = alice.post(confirm)
    assert again.status_code == 200 and again.data["uploaded_at"] == first.data["uploaded_at"]
    entry = next(e for e in _timeline(agent, ticket["id"]) if e["id"] == reply["id"])
    assert [a["id"] for a in entry["attachments"]] == [made["id"]]
    assert alice.get(f"{base}/attachments/{made['id']}").status_code == 200


def test_the_attachment_list_pages_with_a_cursor(world, make_ticket, bucket):
    agent = world["agent_all"]
    ticket = make_ticket()
    made = [uploaded(agent, ticket["id"], filename=f"f{i}.txt", size=i + 1)["id"] for i in range(3)]
    seen, cursor = [], None
    while True:
        page = agent.get(f"/v1/tickets/{ticket['id']}/attachments?limit=2" + (f"&cursor={cursor}" if cursor else "")).data
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made
    assert_problem(agent.get(f"/v1/tickets/{ticket['id']}/attachments?cursor=forged"), 400)
