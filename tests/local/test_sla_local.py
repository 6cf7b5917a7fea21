"""SLA clocks end to end in `make run`: a 1-minute first-response goal breaches by itself (the
stream starts the timer workflow, moto's Step Functions waits and records the breach); a reply in
time meets it; pending pauses it and reopening moves its due time later."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.local.test_stack_process import _free_port, _running_stack, _tokens

ONE_MINUTE = {"id": "fast", "name": "Fast", "targets": {"normal": {"first_response_minutes": 1}}}


def test_clocks_breach_meet_and_pause_on_the_local_stack(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    arguments = ["--port", str(_free_port()), "--moto-port", str(_free_port()), "--fresh", "--no-demo"]
    with _running_stack([*arguments, "--state-dir", str(state_dir)]) as api:
        tokens = _tokens(state_dir)
        admin = agent = tokens["TOKEN_ADMIN"]  # --no-demo: the admin is the only user (and staff)
        assert api.call("POST", "/v1/sla-policies", admin, ONE_MINUTE)[0] == 201

        def create(subject: str) -> dict[str, Any]:
            status, ticket = api.call("POST", "/v1/tickets", agent, {"subject": subject, "description": "help"})
            assert status == 201
            return ticket

        def clock(ticket_id: str) -> dict[str, Any]:
            status, body = api.call("GET", f"/v1/tickets/{ticket_id}/sla", agent)
            assert status == 200
            return {c["metric"]: c for c in body["items"]}["first_response"]

        ignored, answered, waiting = create("Ignored"), create("Answered"), create("Waiting")
        assert clock(ignored["id"])["status"] == "running"

        status, _ = api.call("POST", f"/v1/tickets/{answered['id']}/comments", agent, {"body": "On it", "visibility": "public"})
        assert status == 201
        assert clock(answered["id"])["status"] == "met"

        due_before = clock(waiting["id"])["due_at"]
        assert api.call("PATCH", f"/v1/tickets/{waiting['id']}", agent, {"status": "pending"})[0] == 200
        assert clock(waiting["id"])["status"] == "paused"
        time.sleep(2)
        assert api.call("PATCH", f"/v1/tickets/{waiting['id']}", agent, {"status": "open"})[0] == 200
        resumed = clock(waiting["id"])
        assert resumed["status"] == "running" and resumed["due_at"] > due_before

        # Nobody answers the first ticket: its timer records the breach a minute after creation.
        deadline = time.monotonic() + 120
        breach = None
        while time.monotonic() < deadline and breach is None:
            status, timeline = api.call("GET", f"/v1/tickets/{ignored['id']}/timeline", agent)
            assert status == 200
            breach = next((a for a in timeline["items"] if a["subject"] and "breached" in a["subject"]), None)
            time.sleep(1)
        assert breach is not None, "no breach entry on the timeline within 2 minutes"
        recorded = clock(ignored["id"])
        assert recorded["status"] == "breached" and recorded["breached_at"] is not None
        assert clock(answered["id"])["status"] == "met"  # its timer woke, found it met, and left it alone
