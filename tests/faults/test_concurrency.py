"""Real concurrency through the Lambda entry point: one process per request, one moto server.

Losers of a race may only answer 409/429/503 problem+json with `Retry-After`; a client retrying
them as told must end with every request applied exactly once.
"""

from __future__ import annotations

import random
import time
from typing import Any

from chalicelib import composition
from chalicelib.domain.visibility import Caller
from tests.api.conftest import ApiUser
from tests.faults.conftest import burst

ADMIN = Caller(user_id="admin-1", role="admin")
RETRYABLE = {409, 429, 503}
CLIENT_ROUNDS = 8
RETRY_JITTER_SECONDS = 3.0


def assert_retryable_problem(result: dict[str, Any]) -> None:
    assert result["status"] in RETRYABLE, (result["status"], result["body"][:500])
    assert result["headers"].get("Content-Type") == "application/problem+json", result
    assert int(result["headers"]["Retry-After"]) >= 1, result
    assert result["json"]["status"] == result["status"]


def until_all_succeed(requests_: list[dict[str, Any]], success: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Send everything at once; resend what answered "retry later" after its Retry-After, as a
    client would. Returns the final results and every retryable answer seen on the way."""
    results: list[dict[str, Any] | None] = [None] * len(requests_)
    pending = list(range(len(requests_)))
    retried: list[dict[str, Any]] = []
    for round_ in range(CLIENT_ROUNDS):
        # A retry waits Retry-After plus its own jitter, as well-behaved clients do (no herd).
        jitter = [random.uniform(0, RETRY_JITTER_SECONDS) if round_ else 0.0 for _ in pending]
        answers = burst([{**requests_[i], "delay": d} for i, d in zip(pending, jitter, strict=True)], timeout=600)
        again: list[int] = []
        wait = 0
        for index, answer in zip(pending, answers, strict=True):
            if answer["status"] == success:
                results[index] = answer
                continue
            assert_retryable_problem(answer)  # never a 500, never anything else
            retried.append(answer)
            again.append(index)
            wait = max(wait, int(answer["headers"]["Retry-After"]))
        if not again:
            break
        time.sleep(wait)  # as told by Retry-After (1 s)
        pending = again
    assert all(r is not None for r in results), f"{sum(r is None for r in results)} never succeeded"
    return [r for r in results if r is not None], retried


def request(user: ApiUser, method: str, path: str, body: Any, **headers: str) -> dict[str, Any]:
    return {"method": method, "path": path, "token": user.token, "body": body, "headers": headers}


def test_50_concurrent_creates_with_one_idempotency_key_make_exactly_one_ticket(users: dict[str, ApiUser]) -> None:
    agent = users["agent"]
    body = {"subject": "burst-create", "description": "sent 50 times at once"}
    results, retried = until_all_succeed(
        [request(agent, "POST", "/v1/tickets", body, **{"Idempotency-Key": "burst-create-1"})] * 50, success=201
    )

    assert len(results) == 50
    assert len({r["json"]["id"] for r in results}) == 1  # every caller got the same ticket
    assert len({r["body"] for r in results}) == 1  # byte for byte: the first response, replayed
    assert len({r["headers"]["Location"] for r in results}) == 1
    for answer in retried:  # those that raced the first: "in progress", never a second ticket
        assert answer["status"] == 409 and "Idempotency-Key" in answer["json"]["detail"], answer
    tickets, _ = composition.ticket_service().list(ADMIN, {}, sort="-created_at", limit=100, position=None)
    assert [t.id for t in tickets if t.subject == "burst-create"] == [results[0]["json"]["id"]]


# Writers on one ticket item: optimistic concurrency makes the attempts grow with the square of
# the writers (each round lets a few through and sends the rest back), so 200 took ~10 minutes
# and a load of 200 on CI's two cores. 50 still race far past the retries a request makes alone.
HOT_TICKET_WRITERS = 50


def test_50_concurrent_time_entries_on_one_ticket_lose_nothing(users: dict[str, ApiUser]) -> None:
    agent = users["agent"]
    created = agent.post("/v1/tickets", {"subject": "burst-update", "description": "50 writers"})
    assert created.status_code == 201
    ticket_id = created.data["id"]
    path = f"/v1/tickets/{ticket_id}/time-entries"
    minutes = list(range(1, HOT_TICKET_WRITERS + 1))  # distinct: the sum shows each applied exactly once
    entries = [
        request(agent, "POST", path, {"minutes": m, "note": f"entry {m}"}, **{"Idempotency-Key": f"time-{ticket_id}-{m}"})
        for m in minutes
    ]

    results, _retried = until_all_succeed(entries, success=201)

    assert len(results) == HOT_TICKET_WRITERS
    ticket = composition.ticket_service().get(ADMIN, ticket_id)
    assert ticket.time_spent_minutes == sum(minutes)
    assert ticket.version == created.data["version"] + HOT_TICKET_WRITERS
    history, _ = composition.ticket_service().history(ADMIN, ticket_id, prop="time_spent_minutes", limit=300, after=None)
    assert len(history) == HOT_TICKET_WRITERS
    assert sorted(int(h.new) - int(h.old or 0) for h in history) == minutes
    notes = _time_entry_notes(agent, ticket_id)
    assert sorted(notes) == sorted(f"entry {m}" for m in minutes)


def _time_entry_notes(agent: ApiUser, ticket_id: str) -> list[str]:
    notes: list[str] = []
    url = f"/v1/tickets/{ticket_id}/timeline?type=time_entry&limit=100"
    while url:
        page = agent.get(url)
        assert page.status_code == 200, page.body
        notes += [item.get("body") or item.get("note") or "" for item in page.data["items"]]
        cursor = page.data["next_cursor"]
        url = f"/v1/tickets/{ticket_id}/timeline?type=time_entry&limit=100&cursor={cursor}" if cursor else ""
    return notes
