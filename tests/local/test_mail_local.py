"""`make run` sends notifications for real: API reply → outbox → bus → the template's notification
rule → NotificationQueue → send_notifications → moto's SES, and an `.eml` under mail/sent/."""

from __future__ import annotations

import email
import time
from email import policy
from pathlib import Path

import boto3

from chalicelib.tokens import mint_local_token
from tests.conftest import SECRET
from tests.local.test_stack_process import _free_port, _running_stack


def test_an_agent_reply_is_sent_through_ses_and_written_as_an_eml_file(tmp_path: Path) -> None:
    state_dir, moto_port = tmp_path / "state", _free_port()
    arguments = [
        "--port",
        str(_free_port()),
        "--moto-port",
        str(moto_port),
        "--fresh",
        "--no-demo",
        "--state-dir",
        str(state_dir),
    ]
    customer = mint_local_token(sub="carol", role="customer", secret=SECRET, name="Carol", email="carol@example.com")
    agent = mint_local_token(
        sub="agent-local", role="agent", secret=SECRET, name="Agent", email="agent@example.com", teams=["support"], access="all"
    )
    with _running_stack(arguments) as api:
        assert api.call("GET", "/v1/statuses", agent)[0] == 200  # the agent is known to the directory
        status, ticket = api.call("POST", "/v1/tickets", customer, {"subject": "Local mail", "description": "hi"})
        assert status == 201
        assert api.call("POST", f"/v1/tickets/{ticket['id']}/comments", agent, {"body": "Hello from the desk"})[0] == 201

        files = _wait_for_files(state_dir / "mail" / "sent", count=1)
        (path,) = files
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert message["To"].addresses[0].addr_spec == "carol@example.com"
        assert message["Subject"] == f"[#{ticket['number']}] Local mail"
        assert message["From"].addresses[0].addr_spec == "support@helpdesk.local"
        assert "Hello from the desk" in message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        ses = boto3.client(
            "ses",
            endpoint_url=f"http://127.0.0.1:{moto_port}",
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        assert ses.get_send_quota()["SentLast24Hours"] >= 1  # moto's SES accepted it too


def _wait_for_files(directory: Path, *, count: int, timeout: float = 30) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = sorted(directory.glob("*.eml")) if directory.exists() else []
        if len(files) >= count:
            return files
        time.sleep(0.2)
    return sorted(directory.glob("*.eml")) if directory.exists() else []
