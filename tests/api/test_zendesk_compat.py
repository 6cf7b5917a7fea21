"""The Zendesk-compatible subset (`/api/v2/`), driven by zenpy, the widely used Python Zendesk
client, unmodified: it is handed a requests session whose transport answers from this app (the
chalice test client over moto) instead of the network. Everything zenpy sends and parses is
the real wire format."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, Ticket
from zenpy.lib.exception import APIException, RecordNotFoundException

from chalicelib import composition


class AppTransport(BaseAdapter):
    """requests → the chalice test client: the path and query go to the app as sent."""

    def __init__(self, client: Any) -> None:
        super().__init__()
        self.client = client
        self.sent: list[tuple[str, str]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = urlsplit(request.url or "")
        path = url.path + (f"?{url.query}" if url.query else "")
        self.sent.append((request.method or "GET", path))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("content-length",)}
        headers["Host"] = url.netloc
        body = request.body or b""
        answer = self.client.http.request(
            request.method, path, headers=headers, body=body if isinstance(body, bytes) else body.encode()
        )
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers.update(answer.headers)
        response._content = answer.body if isinstance(answer.body, bytes) else (answer.body or "").encode()
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


def zenpy_for(user: Any) -> tuple[Zenpy, AppTransport]:
    session = requests.Session()
    transport = AppTransport(user.client)
    session.mount("https://", transport)
    session.mount("http://", transport)
    client = Zenpy(subdomain="helpdesk", domain="example.test", oauth_token=user.token, session=session)
    return client, transport


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[timedelta], None]]:
    """The change feed shows events once settled (2 minutes): the test moves time on. Each reading
    is a millisecond later than the one before, as on a real clock (no two writes at one instant)."""
    now = [datetime.now(UTC)]

    def read() -> datetime:
        now[0] += timedelta(milliseconds=1)
        return now[0]

    monkeypatch.setattr(composition, "clock", read)

    def advance(by: timedelta) -> None:
        now[0] += by

    yield advance


def test_zenpy_creates_comments_updates_searches_and_exports_tickets(world, clock):
    agent, transport = zenpy_for(world["agent_all"])

    created = agent.tickets.create(
        Ticket(
            subject="VPN drops hourly",
            comment=Comment(body="Since Monday the VPN drops every hour."),
            priority="high",
            requester_id="alice",
            tags=["vpn"],
        )
    )
    number = created.ticket.id
    assert isinstance(number, int)
    assert created.ticket.status == "open" and created.ticket.priority == "high" and created.ticket.tags == ["vpn"]

    ticket = agent.tickets(id=number)
    assert ticket.subject == "VPN drops hourly" and ticket.requester_id == "alice"

    # An update with a comment and a status change: one write, both or neither.
    ticket.comment = Comment(body="We are looking at the tunnel logs.", public=True)
    ticket.status = "pending"
    agent.tickets.update(ticket)
    after = agent.tickets(id=number)
    assert after.status == "pending"

    internal = agent.tickets(id=number)
    internal.comment = Comment(body="Probably the MTU again.", public=False)
    agent.tickets.update(internal)

    comments = list(agent.tickets.comments(ticket=number))
    assert [c.body for c in comments] == [
        "Since Monday the VPN drops every hour.",
        "We are looking at the tunnel logs.",
        "Probably the MTU again.",
    ]
    assert [c.public for c in comments] == [True, True, False]

    # The customer sees her ticket and its public comments only, through the same layer.
    customer, _ = zenpy_for(world["alice"])
    assert [c.body for c in customer.tickets.comments(ticket=number)] == [
        "Since Monday the VPN drops every hour.",
        "We are looking at the tunnel logs.",
    ]

    other = agent.tickets.create(Ticket(subject="Printer", comment=Comment(body="Jammed."), priority="low", requester_id="bob"))
    found = list(agent.search(type="ticket", status="pending", priority="high"))
    assert [t.id for t in found] == [number]
    assert [t.id for t in agent.search(type="ticket", requester="bob")] == [other.ticket.id]
    assert {t.id for t in agent.search(type="ticket", tags="vpn")} == {number}

    # The incremental export sees every ticket changed since start_time, once settled.
    clock(timedelta(minutes=3))
    start = int((datetime.now(UTC) - timedelta(hours=1)).timestamp())
    exported = list(agent.tickets.incremental(start_time=start, paginate_by_time=False))
    assert {t.id for t in exported} == {number, other.ticket.id}
    assert any(path.startswith("/api/v2/incremental/tickets/cursor.json") for _, path in transport.sent)

    me = agent.users.me()
    assert me.id == "agent-all" and me.role == "agent"


def test_visibility_is_exactly_v1s_a_customer_cannot_read_another_customers_ticket(world):
    agent, _ = zenpy_for(world["agent_all"])
    bobs = agent.tickets.create(
        Ticket(subject="Bob's", comment=Comment(body="private"), requester_id="bob", group_id="support")
    ).ticket.id
    gina, _ = zenpy_for(world["gina"])
    with pytest.raises(RecordNotFoundException):
        gina.tickets(id=bobs)
    support, _ = zenpy_for(world["agent_eng"])
    with pytest.raises(RecordNotFoundException):
        support.tickets(id=bobs)


def test_errors_come_in_zendesks_shape_with_the_field_that_failed(world):
    response = world["agent_all"].request(
        "POST", "/api/v2/tickets.json", {"ticket": {"subject": "x", "comment": {"body": "y"}, "priority": "extreme"}}
    )
    assert response.status_code == 422
    body = json.loads(response.body)
    assert body["error"] == "RecordInvalid" and "ticket.priority" in body["details"]
    missing = world["agent_all"].get("/api/v2/tickets/999999.json")
    assert missing.status_code == 404 and json.loads(missing.body)["error"] == "RecordNotFound"


def test_a_search_for_something_not_filterable_is_refused_not_widened(world):
    response = world["agent_all"].get("/api/v2/search.json?query=type%3Aticket%20printer")
    assert response.status_code == 422
    assert "full-text" in json.dumps(json.loads(response.body))


def test_zendesk_clients_see_an_update_fail_whole_when_one_part_is_invalid(world):
    agent, _ = zenpy_for(world["agent_all"])
    number = agent.tickets.create(Ticket(subject="Whole", comment=Comment(body="first"), requester_id="alice")).ticket.id
    response = world["agent_all"].request(
        "PUT", f"/api/v2/tickets/{number}.json", {"ticket": {"assignee_id": "nobody-here", "comment": {"body": "reply"}}}
    )
    assert response.status_code == 422
    assert [c.body for c in agent.tickets.comments(ticket=number)] == ["first"]
    assert agent.tickets(id=number).assignee_id is None
    with pytest.raises(APIException):
        agent.tickets.update(Ticket(id=number, status="bogus"))


def test_hostile_parameters_are_4xx_in_zendesks_shape_never_500(world):
    admin = world["admin"]
    for path, status in [
        ("/api/v2/incremental/tickets/cursor.json?start_time=99999999999999", 422),
        ("/api/v2/incremental/tickets/cursor.json", 400),
        ("/api/v2/incremental/tickets/cursor.json?cursor=forged", 400),
        ("/api/v2/search.json?query=" + "type%3Aticket%20" * 200, 422),
        ("/api/v2/search.json?query=type%3Aticket%20created%3E2026-13-45", 422),
        ("/api/v2/tickets/abc.json", 404),
        ("/api/v2/tickets/1.json%00", 404),
        ("/api/v2/users/nobody.json", 404),
        ("/api/v2/tickets.json?page%5Bsize%5D=100000", 422),
    ]:
        response = admin.get(path)
        assert response.status_code == status, (path, response.body)
        assert "error" in json.loads(response.body), path


def test_links_never_carry_a_hostile_host_header(world, make_ticket):
    make_ticket()
    make_ticket()
    response = world["agent_all"].get(
        "/api/v2/tickets.json?page%5Bsize%5D=1", headers={"Host": 'evil.test/"><script>alert(1)</script>'}
    )
    assert response.status_code == 200
    assert json.loads(response.body)["links"]["next"].startswith("http://localhost/api/v2/tickets.json?")


def test_tickets_written_before_the_number_index_are_found_by_number_after_the_reindex_command(world, make_ticket):
    import boto3

    from chalicelib import cli
    from tests.conftest import TABLE

    ticket = make_ticket()
    boto3.client("dynamodb").delete_item(TableName=TABLE, Key={"PK": {"S": f"TICKET#{ticket['id']}"}, "SK": {"S": "NUMBER"}})
    path = f"/api/v2/tickets/{ticket['number']}.json"
    assert world["agent_all"].get(path).status_code == 404
    assert cli.main(["reindex", "--table", TABLE]) == 0
    shown = world["agent_all"].get(path)
    assert shown.status_code == 200 and json.loads(shown.body)["ticket"]["external_id"] == ticket["id"]
