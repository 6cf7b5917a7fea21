"""Stream batches handed to a local function are noted until their handler returns; a start runs
the unfinished ones again (devstack.stream_ledger)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack import lambda_dispatch, stream_ledger
from devstack.aws import LocalAws
from devstack.provision import provision


def _batch(sort_key: str) -> dict[str, Any]:
    image = {"PK": {"S": "TICKET#1"}, "SK": {"S": sort_key}}
    return {"Records": [{"eventName": "INSERT", "eventSource": "aws:dynamodb", "dynamodb": {"NewImage": image}}]}


@pytest.fixture
def follower(aws: LocalAws) -> Iterator[str]:
    """A moto Lambda function `follow` (placeholder code, dummy role)."""
    provision({"Resources": {}}, aws, lambda_functions={"Follow": "follow"})
    yield "follow"
    lambda_dispatch.track_stream_batches(None)


def test_a_batch_is_unfinished_until_its_handler_returned(tmp_path: Path) -> None:
    ledger = stream_ledger.InFlight(tmp_path)
    first = ledger.started("follow", _batch("A"))
    ledger.started("follow", _batch("B"))
    assert first is not None
    ledger.finished(first)

    again = stream_ledger.InFlight(tmp_path)  # as the next start reads it
    assert [(function, event) for _, function, event in again.unfinished()] == [("follow", _batch("B"))]


def test_a_torn_last_line_is_ignored_and_untracked_functions_are_not_noted(tmp_path: Path) -> None:
    ledger = stream_ledger.InFlight(tmp_path, untracked=["publish"])
    assert ledger.started("publish", _batch("A")) is None
    ledger.started("follow", _batch("B"))
    with ledger.path.open("a", encoding="utf-8") as file:
        file.write('{"id": "torn", "func')

    assert [event for _, _, event in stream_ledger.InFlight(tmp_path).unfinished()] == [_batch("B")]


def test_a_start_runs_unfinished_batches_again_in_order_and_they_stay_noted_until_done(
    tmp_path: Path, aws: LocalAws, follower: str
) -> None:
    before = stream_ledger.InFlight(tmp_path)
    before.started(follower, _batch("A"))
    done = before.started(follower, _batch("B"))
    before.started(follower, _batch("C"))
    assert done is not None
    before.finished(done)

    seen: list[dict[str, Any]] = []
    release = threading.Event()

    def handler(event: dict[str, Any], context: Any) -> None:
        release.wait(timeout=30)
        seen.append(event)

    lambda_dispatch.register(follower, handler)
    after = stream_ledger.InFlight(tmp_path)
    lambda_dispatch.track_stream_batches(after)
    assert stream_ledger.resume(after, aws.client("lambda")) == 2
    # Still running: a second crash now would run them again.
    assert [event for _, _, event in stream_ledger.InFlight(tmp_path).unfinished()] == [_batch("A"), _batch("C")]
    release.set()
    lambda_dispatch.drain()

    assert seen == [_batch("A"), _batch("C")]  # without the ledger's marker
    assert stream_ledger.InFlight(tmp_path).unfinished() == []
    assert not any(stream_ledger.RESUMED_BATCH_KEY in json.dumps(event) for event in seen)


def test_the_ledger_is_compacted_to_its_open_batches_and_keeps_noting_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream_ledger, "_COMPACT_AFTER", 4)
    ledger = stream_ledger.InFlight(tmp_path)
    ledger.started("follow", _batch("open"))
    for name in ("A", "B"):
        batch_id = ledger.started("follow", _batch(name))
        assert batch_id is not None
        ledger.finished(batch_id)  # the fourth line compacts
    ledger.started("follow", _batch("later"))

    lines = ledger.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert [event for _, _, event in stream_ledger.InFlight(tmp_path).unfinished()] == [_batch("open"), _batch("later")]
