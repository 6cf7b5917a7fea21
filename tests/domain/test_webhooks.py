"""Webhook rules, pure: which URLs are allowed, signing, who gets an event, the retry schedule."""

from __future__ import annotations

import ipaddress
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import webhooks as rules
from chalicelib.domain.errors import ValidationFailed


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/helpdesk",
        "https://hooks.example.com:8443/in?token=abc",
        "https://HOOKS.Example.COM./x",
        "https://8.8.8.8/hook",
        "https://[2606:4700:4700::1111]/hook",
    ],
)
def test_public_https_urls_are_accepted(url):
    assert rules.url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.example.com/x", "https"),
        ("ftp://hooks.example.com/x", "https"),
        ("hooks.example.com/x", "https"),
        ("/relative/path", "https"),
        ("https://", "host"),
        ("https://user:pass@hooks.example.com/x", "credentials"),
        ("https://user@hooks.example.com/x", "credentials"),
        ("https://localhost/x", "localhost"),
        ("https://api.localhost/x", "localhost"),
        ("https://intranet/x", "fully qualified"),
        ("https://127.0.0.1/x", "private"),
        ("https://10.1.2.3/x", "private"),
        ("https://172.16.0.1/x", "private"),
        ("https://192.168.1.1/x", "private"),
        ("https://169.254.169.254/latest/meta-data", "private"),
        ("https://100.64.0.1/x", "private"),
        ("https://0.0.0.0/x", "private"),
        ("https://240.0.0.1/x", "private"),
        ("https://224.0.0.1/x", "private"),
        ("https://[::1]/x", "private"),
        ("https://[fe80::1]/x", "private"),
        ("https://[fd00::1]/x", "private"),
        ("https://[::ffff:127.0.0.1]/x", "private"),
        ("https://[::ffff:10.0.0.1]/x", "private"),
        ("https://2130706433/x", "private"),  # 127.0.0.1 as one decimal number
        ("https://0x7f.1/x", "private"),
        ("https://0177.0.0.1/x", "private"),
        ("https://017700000001/x", "private"),
        ("https://hooks.example.com:0/x", "port"),
        ("https://hooks.example.com:99999/x", "valid URL"),
        ("https://hooks example.com/x", "whitespace"),
        ("https://exa_mple.com/x", "host name"),
        ("https://" + "a" * 2050 + ".com/", "characters"),
    ],
)
def test_unsafe_or_malformed_urls_are_refused_with_a_reason(url, why):
    problem = rules.url_problem(url)

    assert problem is not None and why in problem


def test_check_url_raises_a_field_error():
    with pytest.raises(ValidationFailed) as raised:
        rules.check_url("http://example.com/")
    assert [e.field for e in raised.value.errors] == ["url"]


@given(st.ip_addresses())
def test_an_ip_literal_is_allowed_exactly_when_the_address_is_global(address):
    host = f"[{address}]" if address.version == 6 else str(address)
    allowed = rules.url_problem(f"https://{host}/hook") is None

    mapped = getattr(address, "ipv4_mapped", None)
    judged = mapped or address
    expected = judged.is_global and not (judged.is_multicast or judged.is_reserved or judged.is_link_local)
    if address.version == 6 and (address.sixtofour or address.teredo):
        return  # judged by the embedded IPv4 address; covered below
    assert allowed == expected


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_legacy_numeric_hosts_mean_what_a_resolver_makes_of_them(value):
    address = ipaddress.IPv4Address(value)
    a, b, c, d = address.packed

    for spelling in (
        str(value),
        hex(value),
        f"{a}.{(b << 16) | (c << 8) | d}",
        f"{a}.{b}.{(c << 8) | d}",
        f"0{oct(a)[2:]}.{b}.{c}.{d}",
    ):
        assert rules.ip_literal(spelling) == address, spelling


def test_events_are_known_types_or_the_wildcard_alone():
    assert rules.check_events(["ticket.created", "comment.created", "ticket.created"]) == ["ticket.created", "comment.created"]
    assert rules.check_events(["*"]) == ["*"]
    assert rules.check_events(["escalation.failed"]) == ["escalation.failed"]
    for bad, field in ((["ticket.exploded"], "events[0]"), (["*", "ticket.created"], "events[0]"), ([], "events")):
        with pytest.raises(ValidationFailed) as raised:
            rules.check_events(bad)
        assert raised.value.errors[0].field == field


def _hook(hook_id, events, active=True):
    return rules.Webhook(id=hook_id, url=f"https://{hook_id}.example.com/", events=tuple(events), active=active, secret="s")


def test_only_active_subscribers_of_the_type_get_an_event():
    hooks = [
        _hook("b", ["ticket.created"]),
        _hook("a", ["*"]),
        _hook("c", ["comment.created"]),
        _hook("d", ["ticket.created"], active=False),
    ]

    assert [w.id for w in rules.subscribers(hooks, "ticket.created")] == ["a", "b"]
    assert [w.id for w in rules.subscribers(hooks, "sla.breached")] == ["a"]


@given(secret=st.text(min_size=1, max_size=64), body=st.binary(max_size=2048), t=st.integers(0, 2**40))
def test_a_signature_verifies_with_its_secret_and_body_only(secret, body, t):
    header = rules.sign(secret, t, body)

    assert header.startswith(f"t={t},v1=")
    assert rules.verify(secret, header, body, now=t + 10)
    assert not rules.verify(secret + "x", header, body, now=t)
    assert not rules.verify(secret, header, body + b"x", now=t)
    assert not rules.verify(secret, header, body, now=t + rules.SIGNATURE_TOLERANCE_SECONDS + 1)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    import hashlib
    import hmac

    body = b'{"id":"e1"}'
    expected = hmac.new(b"whsec_abc", b"1700000000." + body, hashlib.sha256).hexdigest()

    assert rules.sign("whsec_abc", 1700000000, body) == f"t=1700000000,v1={expected}"


def test_retry_schedule_grows_then_gives_up_after_the_last_attempt():
    delays = [rules.retry_delay(attempt) for attempt in range(1, rules.MAX_ATTEMPTS + 1)]

    assert delays[:-1] == list(rules.RETRY_DELAYS)
    assert delays[-1] is None
    assert all(0 < d <= 900 for d in rules.RETRY_DELAYS)  # SQS's longest delay
    assert delays[:-1] == sorted(delays[:-1])
    with pytest.raises(ValueError):
        rules.retry_delay(0)


def test_a_bus_message_and_a_retry_message_describe_the_same_event():
    bus = {
        "id": "eb-1",
        "detail-type": "ticket.updated",
        "source": "helpdesk",
        "time": "2026-01-02T03:04:05Z",
        "detail": {"event_id": "e-1", "at": "2026-01-02T03:04:05.123456Z", "ticket_id": "t1", "changes": []},
    }
    job = rules.job_from_message(bus)

    assert (job.webhook_id, job.attempt) == (None, 1)
    assert job.event.as_dict() == {
        "id": "e-1",
        "type": "ticket.updated",
        "at": "2026-01-02T03:04:05.123456Z",
        "detail": bus["detail"],
    }
    retry = rules.job_from_message(json.loads(json.dumps(rules.retry_message("w1", job.event, 3))))
    assert (retry.webhook_id, retry.attempt, retry.event) == ("w1", 3, job.event)
    assert json.loads(rules.body_of(retry.event)) == job.event.as_dict()
    for bad in ({"kind": rules.RETRY_KIND, "webhook_id": "w1", "attempt": 0, "event": job.event.as_dict()}, {"detail": {}}):
        with pytest.raises(ValueError):
            rules.job_from_message(bad)


def test_only_2xx_is_delivered():
    assert [rules.delivered(s) for s in (200, 204, 299, 301, 302, 400, 410, 500, None)] == [True] * 3 + [False] * 6
