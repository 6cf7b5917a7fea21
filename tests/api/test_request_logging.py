"""Every request logs one JSON line with correlation ids: request id, ticket id when the path has one."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from chalicelib import composition


def _request_lines(output: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("message") == "request"]


def test_request_lines_carry_request_and_ticket_ids(login: Callable[..., Any]) -> None:
    agent = login("agent-1", "agent", teams=[], access="all")
    created = agent.post("/v1/tickets", {"subject": "Printer on fire", "description": "Smoke."})
    ticket_id = created.data["id"]
    logger = composition.logger()
    # The logger outlives tests (one per container): read its own stream, not pytest's capture.
    handler = logger.registered_handler
    output = io.StringIO()
    previous_stream, previous_level = handler.setStream(output), logger.log_level
    logger.setLevel("INFO")
    try:
        assert agent.get(f"/v1/tickets/{ticket_id}").status_code == 200
        assert agent.get("/v1/tickets").status_code == 200
    finally:
        logger.setLevel(previous_level)
        handler.setStream(previous_stream)

    one, listing = _request_lines(output.getvalue())
    assert one["ticket_id"] == ticket_id
    assert one["correlation_id"] and one["service"] == "helpdesk"
    assert one["route"] == "GET /v1/tickets/{ticket_id}"
    assert "ticket_id" not in listing  # no stale id from the previous request
    assert listing["correlation_id"]
