"""The whole email loop through `make run`, as a customer and an agent live it: mail in over SMTP →
a ticket → the agent's reply mailed back (an .eml under mail/sent/) threading to the customer's
mail → the customer answers from every client in the reply corpus → one comment each on the same
ticket, only the new text → an internal note mails no customer → a duplicate delivery adds nothing.

Every hop is the real one: aiosmtpd → the inbound bucket + SES's notification → SNS → SQS →
`receive_mail`; the API → the stream → the outbox → EventBridge → `send_notifications` → moto's SES.

The corpus is split over two customers: one sender's 21st message in 10 minutes is parked
(`RATE_LIMIT`), and 31 replies plus the first mail would park 12 of them. Each customer sends 17
or 18 messages, so nothing may be parked and every reply must be a comment with its trimmed text.
"""

from __future__ import annotations

import email
import html
import re
import smtplib
import time
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

from chalicelib.services.inbound_mail import RATE_LIMIT
from chalicelib.tokens import mint_local_token
from tests.conftest import SECRET
from tests.domain.mail.reply_corpus import CORPUS as CORPUS_DIR
from tests.domain.mail.reply_corpus import Case, cases, verdict
from tests.local.test_stack_process import _Api, _free_port, _running_stack

SUPPORT = "support@helpdesk.local"
T = TypeVar("T")


def test_mail_in_reply_out_and_every_clients_answer_on_one_ticket(tmp_path: Path) -> None:
    state_dir, smtp_port = tmp_path / "state", _free_port()
    arguments = ["--port", str(_free_port()), "--moto-port", str(_free_port()), "--smtp-port", str(smtp_port)]
    agent = mint_local_token(
        sub="agent-loop", role="agent", secret=SECRET, name="Agent", email="agent@example.com", teams=["support"], access="all"
    )
    # The assignee is someone else: nobody is mailed their own note or reply (never the actor).
    assignee = mint_local_token(
        sub="agent-two", role="agent", secret=SECRET, name="Agent Two", email="two@example.com", teams=["support"], access="all"
    )
    corpus = cases()
    halves = {"carol@example.com": corpus[::2], "dave@example.com": corpus[1::2]}
    assert all(len(replies) + 3 <= RATE_LIMIT for replies in halves.values())  # + first mail, duplicate, last reply
    with _running_stack([*arguments, "--fresh", "--no-demo", "--state-dir", str(state_dir)]) as api:
        for token in (agent, assignee):
            assert api.call("GET", "/v1/statuses", token)[0] == 200  # the agents are in the directory
        sent_dir = state_dir / "mail" / "sent"
        for customer, replies in halves.items():
            first_id = f"<first.{customer.split('@')[0]}@example.com>"
            _smtp(smtp_port, _mail(customer, "My printer is on fire", "It smells of toast.", message_id=first_id))
            ticket = _eventually(lambda c=customer: _ticket_requested_by(api, agent, c), f"a ticket requested by {customer}")
            assert ticket["channel"] == "email" and ticket["subject"] == "My printer is on fire"
            tid = ticket["id"]
            # The ticket goes to the assignee (who then follows it); the agent replies in public.
            assert api.call("PATCH", f"/v1/tickets/{tid}", agent, {"assignee_id": "agent-two"})[0] == 200
            assert api.call("POST", f"/v1/tickets/{tid}/comments", agent, {"body": "Is it still burning?"})[0] == 201
            (ours,) = _eventually(lambda c=customer: _mails(sent_dir, to=c) or None, f"the agent's reply mailed to {customer}")
            assert f"[#{ticket['number']}]" in ours["Subject"]
            assert first_id in ours["References"] and ours["In-Reply-To"]  # threads to the customer's own mail
            assert ours["Auto-Submitted"] == "auto-generated"

            # The customer answers from each client in the corpus: one comment each, only the new text.
            for number, case in enumerate(replies):
                _smtp(smtp_port, _reply(case, customer, ours, message_id=f"<reply.{number}.{customer}>"))
            got = _eventually(
                lambda t=tid: _customer_comments(api, agent, t),
                f"{len(replies)} comments from {customer}",
                until=lambda texts, n=len(replies): len(texts) >= n,
            )
            assert len(got) == len(replies)
            by_verdict = {case.name: _best_verdict(got, case.expected) for case in replies}
            assert {name: v for name, v in by_verdict.items() if v != "exact"} == {}
            assert len(_tickets(api, agent)) == list(halves).index(customer) + 1  # no reply opened a ticket

        # An internal note reaches the assignee (and, checked at the end, no customer).
        note = "Internal: the toner supplier is at fault"
        assert api.call("POST", f"/v1/tickets/{tid}/comments", agent, {"body": note, "visibility": "internal"})[0] == 201
        _eventually(lambda: [m for m in _mails(sent_dir, to="two@example.com") if note in _text(m)] or None, "the note mailed")

        # A duplicate delivery (same Message-ID) adds nothing; a new reply after it is taken.
        before = len(_customer_comments(api, agent, tid))
        _smtp(smtp_port, _reply(replies[0], customer, ours, message_id=f"<reply.0.{customer}>"))
        _smtp(smtp_port, _mail(customer, "Re: barrier", "One more thing: it stopped.", message_id="<last@example.com>", to=ours))
        after = _eventually(
            lambda: _customer_comments(api, agent, tid), "the reply after the duplicate", until=lambda texts: len(texts) > before
        )
        assert len(after) == before + 1
        assert "One more thing: it stopped." in after[-1]
        # The note's recipients were all mailed by the one record that mailed the assignee.
        assert not [m for c in halves for m in _mails(sent_dir, to=c) if note in _text(m)]


# -- mail ------------------------------------------------------------------------------------
def _mail(sender: str, subject: str, text: str, *, message_id: str, to: EmailMessage | None = None) -> bytes:
    built = EmailMessage()
    built["From"], built["To"], built["Subject"], built["Message-ID"] = sender, SUPPORT, subject, message_id
    if to is not None:  # a reply to our message
        built["In-Reply-To"] = to["Message-ID"]
        built["References"] = f"{to['References']} {to['Message-ID']}"
    built.set_content(text)
    return built.as_bytes(policy=policy.SMTP)


def _reply(case: Case, sender: str, ours: EmailMessage, *, message_id: str) -> bytes:
    """The corpus case as this customer's reply to our mail: the client's own MIME where the corpus
    has it (.eml), its HTML as a text/html mail, else its plain text."""
    eml, page = CORPUS_DIR / f"{case.name}.eml", CORPUS_DIR / f"{case.name}.html"
    if eml.exists():
        message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
        for part in message.walk():  # the corpus keeps bodies decoded: encode them as a client would
            if part.get_content_maintype() == "text" and not part.is_multipart():
                part.set_content(part.get_content(), subtype=part.get_content_subtype(), cte="quoted-printable")  # type: ignore[attr-defined]
    else:
        message = EmailMessage()
        if page.exists():
            message.set_content(page.read_text(encoding="utf-8"), subtype="html")
        else:
            message.set_content(case.text)
    for header in ("From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References", "Reply-To"):
        del message[header]
    message["From"], message["To"], message["Message-ID"] = sender, ours["Reply-To"] or SUPPORT, message_id
    message["Subject"] = f"Re: {ours['Subject']}"
    message["In-Reply-To"] = ours["Message-ID"]
    message["References"] = f"{ours['References']} {ours['Message-ID']}"
    return message.as_bytes(policy=policy.SMTP)


def _smtp(port: int, raw: bytes) -> None:
    parsed = email.message_from_bytes(raw, policy=policy.default)
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail(parsed["From"], [SUPPORT], raw)


def _mails(directory: Path, *, to: str) -> list[EmailMessage]:
    found = []
    for path in sorted(directory.glob("*.eml")) if directory.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if any(a.addr_spec == to for a in message["To"].addresses):
            found.append(message)  # type: ignore[arg-type]
    return found


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return str(part.get_content()) if part is not None else ""


# -- the API ---------------------------------------------------------------------------------
def _tickets(api: _Api, token: str) -> list[dict[str, Any]]:
    status, page = api.call("GET", "/v1/tickets?limit=100", token)
    assert status == 200
    items: list[dict[str, Any]] = page["items"]
    return items


def _ticket_requested_by(api: _Api, token: str, address: str) -> dict[str, Any] | None:
    for ticket in _tickets(api, token):
        status, full = api.call("GET", f"/v1/tickets/{ticket['id']}", token)
        requester = api.call("GET", f"/v1/users/{full['requester_id']}", token)[1]
        if status == 200 and requester.get("email") == address:
            return full  # type: ignore[no-any-return]
    return None


def _customer_comments(api: _Api, token: str, ticket_id: str) -> list[str]:
    """The customers' comments, oldest first, as plain text."""
    status, page = api.call("GET", f"/v1/tickets/{ticket_id}/timeline?type=comment&limit=100", token)
    assert status == 200
    texts = [
        re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", item["body"]))).strip()
        for item in reversed(page["items"])
        if item.get("actor_id") != "agent-loop"
    ]
    return texts


def _best_verdict(comments: list[str], expected: str) -> str:
    verdicts = [verdict(comment, expected) for comment in comments]
    return "exact" if "exact" in verdicts else "missing"


def _eventually(probe: Callable[[], T | None], what: str, *, until: Callable[[T], bool] = bool, timeout: float = 120) -> T:
    """Poll until the probe's answer is there (`until`; the loop is asynchronous: queues and the
    stream); a timeout names what never came and what the probe last saw."""
    deadline, value = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        value = probe()
        if value is not None and until(value):
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what}: not there after {timeout} s (last seen: {value!r})")
