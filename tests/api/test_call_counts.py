"""DynamoDB calls per API request, counted at the botocore client (deterministic, no timers)."""

from __future__ import annotations

import collections

import botocore.client
import pytest


@pytest.fixture
def dynamodb_calls(monkeypatch):
    """Counts every DynamoDB operation any botocore client sends (PynamoDB and boto3 alike).

    The budgets are a warm container's: the 30-second configuration caches (statuses, SLA
    policies, settings) stay warm for the whole test, however slowly a loaded machine runs it."""
    from chalicelib.services import sla, statuses, workspace_settings

    for module, name in ((sla, "CACHE_SECONDS"), (statuses, "CACHE_SECONDS"), (workspace_settings, "SETTINGS_CACHE_SECONDS")):
        monkeypatch.setattr(module, name, 86_400.0)
    calls: collections.Counter[str] = collections.Counter()
    original = botocore.client.BaseClient._make_api_call

    def counting(self, operation_name, api_params):
        if self.meta.service_model.service_name == "dynamodb":
            calls[operation_name] += 1
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    return calls


def measure(calls, request):
    calls.clear()
    response = request()
    assert response.status_code < 400, response.body
    return dict(calls)


def test_request_paths_use_the_documented_number_of_calls(world, make_ticket, dynamodb_calls):
    agent, alice = world["agent_all"], world["alice"]
    ticket = make_ticket(requester_id="alice", team_id="support")
    path = f"/v1/tickets/{ticket['id']}"

    # Every authenticated request reads its caller's directory record (1 GetItem): the directory,
    # not the token, decides role, teams and access (docs/decisions.md, "Who may do what").
    # Agents read the ticket and who is viewing it in one Query (docs/data-model.md, P2).
    assert measure(dynamodb_calls, lambda: agent.get(path)) == {"GetItem": 1, "Query": 1}
    assert measure(dynamodb_calls, lambda: alice.get(path)) == {"GetItem": 2}
    assert measure(dynamodb_calls, lambda: agent.get("/v1/tickets")) == {"GetItem": 1, "Query": 1}
    assert measure(dynamodb_calls, lambda: agent.get("/v1/tickets?priority=normal&tag=x")) == {"GetItem": 1, "Query": 1}
    assert measure(dynamodb_calls, lambda: alice.get("/v1/tickets")) == {"GetItem": 1, "Query": 1}
    assert measure(dynamodb_calls, lambda: alice.get("/v1/me/tickets")) == {"GetItem": 1, "Query": 1}
    # A team agent's visibility is a union: its teams, no team, and assigned-to-me.
    assert measure(dynamodb_calls, lambda: world["agent_support"].get("/v1/tickets")) == {"GetItem": 1, "Query": 3}
    assert measure(dynamodb_calls, lambda: agent.get(f"{path}/history")) == {"GetItem": 2, "Query": 1}

    create = measure(dynamodb_calls, lambda: agent.post("/v1/tickets", {"subject": "s", "description": "d"}))
    assert create == {"GetItem": 1, "UpdateItem": 1, "TransactWriteItems": 1}
    patch = measure(dynamodb_calls, lambda: agent.patch(path, {"priority": "high", "team_id": "engineering"}))
    assert patch == {"GetItem": 2, "TransactWriteItems": 1}
    assert measure(dynamodb_calls, lambda: agent.delete(path)) == {"GetItem": 2, "TransactWriteItems": 1}


def test_no_request_path_scans(world, make_ticket, dynamodb_calls):
    ticket = make_ticket(requester_id="alice")
    for user in world.values():
        user.get("/v1/tickets")
        user.get(f"/v1/tickets/{ticket['id']}")
    world["admin"].get("/v1/users")
    world["admin"].get("/v1/statuses")
    assert "Scan" not in dynamodb_calls


def test_list_reads_only_what_it_returns_on_index_backed_views(world, make_ticket, monkeypatch):
    """Items read per item returned is 1.0 when a partition serves the view (no residual filter)."""
    from pynamodb.pagination import PageIterator

    for _ in range(4):
        make_ticket(team_id="support")
    make_ticket(team_id="engineering")
    pages = []
    real_next = PageIterator.__next__

    def recording_next(self):
        page = real_next(self)
        pages.append((page["ScannedCount"], page["Count"]))
        return page

    monkeypatch.setattr(PageIterator, "__next__", recording_next)
    response = world["agent_all"].get("/v1/tickets?team_id=support&limit=3")
    assert len(response.data["items"]) == 3
    assert pages == [(3, 3)]


def test_a_zendesk_ticket_update_reads_the_ticket_once(world, make_ticket, dynamodb_calls):
    """The number finds the id (1 Query) and the ticket is read once (1 GetItem besides the
    caller's): the write starts from that read, and a PUT that changes nothing answers with it."""
    agent = world["agent_all"]
    number = make_ticket(requester_id="alice")["number"]
    path = f"/api/v2/tickets/{number}.json"

    update = measure(dynamodb_calls, lambda: agent.request("PUT", path, {"ticket": {"priority": "high"}}))
    assert update == {"GetItem": 2, "Query": 1, "TransactWriteItems": 1}
    with_comment = {"ticket": {"priority": "low", "comment": {"body": "On it", "public": False}}}
    assert measure(dynamodb_calls, lambda: agent.request("PUT", path, with_comment)) == {
        "GetItem": 2,
        "Query": 1,
        "TransactWriteItems": 1,
    }
    assert measure(dynamodb_calls, lambda: agent.request("PUT", path, {"ticket": {}})) == {"GetItem": 2, "Query": 1}


def test_creating_an_automation_reads_the_rule_set_once(world, dynamodb_calls):
    """One Query both counts the stored rules (the bound) and finds the last position (built-in ones too)."""
    body = {"name": "Tag", "trigger": {"event": "ticket.created"}, "actions": [{"type": "add_tags", "tags": ["x"]}]}
    created = measure(dynamodb_calls, lambda: world["admin"].post("/v1/automations", body))
    assert created == {"GetItem": 1, "Query": 1, "TransactWriteItems": 1}
