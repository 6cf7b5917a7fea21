"""Idempotency-Key on POST: one effect per key, replayed response, 422 on a changed body."""

from __future__ import annotations


def test_retry_with_the_same_key_returns_the_first_response_without_a_second_ticket(world):
    agent = world["agent_all"]
    headers = {"Idempotency-Key": "create-42"}
    first = agent.post("/v1/tickets", {"subject": "once", "description": "only once"}, headers=headers)
    second = agent.post("/v1/tickets", {"subject": "once", "description": "only once"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.data == second.data
    assert second.headers["Location"] == first.headers["Location"]
    assert [t["subject"] for t in agent.get("/v1/tickets").data["items"]] == ["once"]


def test_same_key_with_a_different_body_is_422(world):
    agent = world["agent_all"]
    headers = {"Idempotency-Key": "create-43"}
    assert agent.post("/v1/tickets", {"subject": "a", "description": "a"}, headers=headers).status_code == 201
    reused = agent.post("/v1/tickets", {"subject": "b", "description": "b"}, headers=headers)
    assert reused.status_code == 422
    assert reused.data["errors"][0]["field"] == "Idempotency-Key"
    assert len(agent.get("/v1/tickets").data["items"]) == 1


def test_keys_are_scoped_to_the_caller(world):
    headers = {"Idempotency-Key": "shared-key"}
    body = {"subject": "same", "description": "same"}
    first = world["agent_all"].post("/v1/tickets", body, headers=headers)
    second = world["admin"].post("/v1/tickets", body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.data["id"] != second.data["id"]


def test_a_failed_request_is_not_cached(world):
    agent = world["agent_all"]
    headers = {"Idempotency-Key": "retry-after-fix"}
    assert agent.post("/v1/tickets", {"subject": "x", "description": "y", "team_id": "nope"}, headers=headers).status_code == 422
    world["admin"].post("/v1/teams", {"id": "nope", "name": "Now exists"})
    assert agent.post("/v1/tickets", {"subject": "x", "description": "y", "team_id": "nope"}, headers=headers).status_code == 201


def test_without_a_key_each_post_creates(world):
    agent = world["agent_all"]
    for _ in range(2):
        assert agent.post("/v1/tickets", {"subject": "dup", "description": "dup"}).status_code == 201
    assert len(agent.get("/v1/tickets").data["items"]) == 2


def test_an_empty_key_is_refused_instead_of_silently_dropping_retry_safety(world):
    agent = world["agent_all"]
    for key in ("", "   "):
        answer = agent.post("/v1/tickets", {"subject": "once", "description": "once"}, headers={"Idempotency-Key": key})
        assert answer.status_code == 422, repr(key)
        assert answer.data["errors"][0]["field"] == "Idempotency-Key"
    assert agent.get("/v1/tickets").data["items"] == []
