"""Concurrent writers against a moto server: nothing lost, numbers unique."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from chalicelib import composition
from chalicelib.domain.visibility import Caller

AGENT = Caller(user_id="agent-1", role="agent", access="all")
ADMIN = Caller(user_id="admin-1", role="admin")


def seed_directory():
    directory = composition.directory_service()
    now = composition.clock()
    directory.resolve_caller(AGENT, now)
    directory.create(ADMIN, "team", {"id": "support", "name": "Support"}, now)
    for user in ("cust-1", "cust-2"):
        directory.create(ADMIN, "user", {"id": user, "name": user, "email": f"{user}@x.test", "role": "customer"}, now)


def test_concurrent_creates_get_unique_increasing_numbers(moto_server):
    seed_directory()
    service = composition.ticket_service()

    def create(i):
        return service.create(AGENT, {"subject": f"t{i}", "description": "d"}, composition.clock()).number

    with ThreadPoolExecutor(max_workers=16) as pool:
        numbers = list(pool.map(create, range(40)))
    assert sorted(numbers) == list(range(1, 41))


def test_concurrent_patches_of_different_fields_lose_nothing(moto_server):
    seed_directory()
    service = composition.ticket_service()
    ticket = service.create(AGENT, {"subject": "race", "description": "d"}, composition.clock())
    initial_history, _ = service.history(AGENT, ticket.id, prop=None, limit=100, after=None)
    patches = [
        {"priority": "urgent"},
        {"type": "incident"},
        {"channel": "email"},
        {"subject": "renamed"},
        {"description": "new description"},
        {"team_id": "support"},
        {"assignee_id": "agent-1"},
        {"tags": ["race"]},
        {"cc": ["cust-2"]},
        {"status": "pending"},
        *({"custom_fields": {f"field_{i}": i}} for i in range(10)),
    ]

    def apply(patch):
        return service.update(AGENT, ticket.id, patch, expected_version=None, now=composition.clock())

    with ThreadPoolExecutor(max_workers=len(patches)) as pool:
        list(pool.map(apply, patches))

    final = service.get(AGENT, ticket.id)
    assert (final.priority, final.type, final.channel, final.subject) == ("urgent", "incident", "email", "renamed")
    assert (final.description, final.team_id, final.assignee_id) == ("new description", "support", "agent-1")
    assert (final.tags, final.cc, final.status) == (["race"], ["cust-2"], "pending")
    assert final.custom_fields == {f"field_{i}": i for i in range(10)}
    assert final.version == 1 + len(patches)
    history, _ = service.history(AGENT, ticket.id, prop=None, limit=100, after=None)
    # One entry per change, none lost; assigning also makes the assignee a follower (one entry more).
    assert len(history) == len(initial_history) + len(patches) + 1
    assert [h.property for h in history].count("followers") == 1


def test_stale_if_match_under_concurrency_lets_exactly_one_writer_win(moto_server):
    from chalicelib.domain.errors import VersionConflict

    seed_directory()
    service = composition.ticket_service()
    ticket = service.create(AGENT, {"subject": "race", "description": "d"}, composition.clock())

    def apply(i):
        try:
            service.update(AGENT, ticket.id, {"subject": f"writer {i}"}, expected_version=1, now=composition.clock())
            return True
        except VersionConflict:
            return False

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(apply, range(10)))
    assert outcomes.count(True) == 1
    assert service.get(AGENT, ticket.id).version == 2
