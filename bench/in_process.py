"""The environment of a benchmark that runs the app in this process over moto (no AWS, no stack)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

SECRET = "bench-secret-0123456789abcdef0123456789"


def use_in_process_environment(table: str, **extra: str) -> None:
    """Local auth with a fixed secret, fake credentials for moto, quiet logs; no endpoint override."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "HELPDESK_JWT_SECRET": SECRET,
            "HELPDESK_AUTH_MODE": "local",
            "HELPDESK_TABLE": table,
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "TZ": "UTC",
            **extra,
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)


Call = Callable[..., Any]
TEAMS = ("support", "engineering", "billing")


@contextmanager
def app_world(table: str, *, install: Callable[[], None]) -> Iterator[Callable[..., Call]]:
    """The app on the chalice test client over moto with one fresh table (`install` puts the local
    stack's moto patches in first); yields `caller(sub, role, *, raw=False, **claims)`, whose
    `call(method, path, body=None)` fails on an error answer and returns the parsed body (the
    raw bytes with `raw=True`)."""
    use_in_process_environment(table)
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from chalicelib import composition
    from chalicelib.tokens import mint_local_token
    from devstack.tables import table_definition

    install()
    with mock_aws():
        boto3.client("dynamodb").create_table(**table_definition(os.environ["HELPDESK_TABLE"]))
        composition.reset()
        from app import app

        with Client(app, stage_name="local") as client:

            def caller(sub: str, role: str, *, raw: bool = False, **claims: Any) -> Call:
                token = mint_local_token(sub=sub, role=role, secret=SECRET, **claims)

                def call(method: str, path: str, body: Any = None) -> Any:
                    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                    response = client.http.request(method, path, headers=headers, body=json.dumps(body) if body else b"")
                    assert response.status_code < 400, (method, path, response.status_code, response.body[:300])
                    if raw:
                        return response.body
                    return json.loads(response.body) if response.body else None

                return call

            yield caller
        composition.reset()


def make_teams(admin: Call) -> None:
    for team in TEAMS:
        admin("POST", "/v1/teams", {"id": team, "name": team.title()})


def ticket_body(i: int, *, views: bool = False) -> dict[str, Any]:
    """The i-th benchmark ticket: teams and priorities in turn, every fifth the customer's; with
    `views`, some assigned to `agent-team`, some pending or resolved (the views' population)."""
    body: dict[str, Any] = {"subject": f"Ticket {i}", "description": "x" * 400, "priority": ["low", "normal", "high"][i % 3]}
    team = (*TEAMS, None)[i % 4]
    if team:
        body["team_id"] = team
    if i % 5 == 0:
        body["requester_id"] = "cust-1"
    if views and i % 6 == 1:
        body["assignee_id"] = "agent-team"
    if views and i % 7 in (3, 5):
        body["status"] = "pending" if i % 7 == 3 else "resolved"
    return body


def converse(ticket: str, agent: Call, customer: Call, comments: int) -> None:
    """A conversation: public replies both ways and, every third, an internal note."""
    for n in range(comments):
        if n % 3 == 2:
            agent("POST", f"/v1/tickets/{ticket}/comments", {"body": f"note {n}", "visibility": "internal"})
        else:
            (customer if n % 3 else agent)("POST", f"/v1/tickets/{ticket}/comments", {"body": f"reply {n}"})
