"""Building notification messages (chalicelib/domain/mail/outbound.py)."""

from __future__ import annotations

import email
import html
from datetime import UTC, datetime
from email import policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.mail.outbound import Outbound, Recipient, build, build_bytes, subject_line

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def outbound(**overrides):
    values = dict(
        message_id="<hd.abc@helpdesk.local>",
        to=Recipient("Ann Example", "ann@customer.example"),
        from_name="Bob at Support",
        from_address="support@helpdesk.local",
        reply_to="support+t1-aaaaaaaaaaaaaaaa@helpdesk.local",
        ticket_number=1234,
        subject="Printer on fire",
        text="We replaced the toner.\nRegards",
        html="<p>We replaced the <b>toner</b>.</p>",
        thread_root="<hd.t.root@helpdesk.local>",
        thread=("<m1@customer.example>", "<hd.prev@helpdesk.local>"),
        now=NOW,
    )
    values.update(overrides)
    return Outbound(**values)


def parsed(message):
    return email.message_from_bytes(build_bytes(message), policy=policy.default)


def test_notification_threads_in_every_client():
    mail = parsed(outbound())
    assert mail["Message-ID"] == "<hd.abc@helpdesk.local>"
    assert mail["In-Reply-To"] == "<hd.prev@helpdesk.local>"
    assert mail["References"].split() == ["<hd.t.root@helpdesk.local>", "<m1@customer.example>", "<hd.prev@helpdesk.local>"]
    assert mail["Subject"] == "[#1234] Printer on fire"
    assert mail["Reply-To"] == "support+t1-aaaaaaaaaaaaaaaa@helpdesk.local"
    assert mail["From"].addresses[0].display_name == "Bob at Support"
    assert mail["From"].addresses[0].addr_spec == "support@helpdesk.local"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Date"].datetime == NOW


def test_first_message_of_a_ticket_replies_to_the_thread_root():
    mail = parsed(outbound(thread=()))
    assert mail["In-Reply-To"] == mail["References"] == "<hd.t.root@helpdesk.local>"


def test_references_stay_bounded_on_a_long_thread():
    mail = parsed(outbound(thread=tuple(f"<m{i}@x.example>" for i in range(500))))
    refs = mail["References"].split()
    assert len(refs) == 20 and refs[0] == "<hd.t.root@helpdesk.local>" and refs[-1] == "<m499@x.example>"


def test_message_has_text_and_sanitized_html_without_remote_content():
    html = '<p onclick="x()">Hi</p><img src="http://tracker.example/p.gif"><script>alert(1)</script><a href="https://ok.example">ok</a>'
    mail = parsed(outbound(html=html))
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",)).get_content()
    rendered = mail.get_body(("html",)).get_content()
    assert "We replaced the toner." in text
    assert "tracker.example" not in rendered and "<img" not in rendered
    assert "script" not in rendered and "onclick" not in rendered
    assert 'href="https://ok.example"' in rendered


def test_plain_text_becomes_escaped_html_when_no_html_is_given():
    rendered = parsed(outbound(html=None, text="a < b\nnext")).get_body(("html",)).get_content()
    assert "a &lt; b<br>next" in rendered


def test_stored_thread_ids_with_line_breaks_never_reach_the_headers():
    mail = parsed(outbound(thread=("<ok@x.example>", "<evil@x.example>\r\nBcc: victim@evil.example", "junk")))
    assert mail["Bcc"] is None
    assert mail["References"].split() == ["<hd.t.root@helpdesk.local>", "<ok@x.example>"]


def test_a_message_id_that_is_not_one_id_is_a_domain_error():
    with pytest.raises(ValidationFailed):
        build(outbound(message_id="<a@b>\r\nBcc: x@y"))


def test_subject_tag_is_not_doubled():
    assert subject_line(1234, "Re: [#1234] Printer") == "Re: [#1234] Printer"


@pytest.mark.parametrize(
    "evil",
    ["Hi\r\nBcc: victim@evil.example", "Hi\nBcc: victim@evil.example", "Hi\rBcc: x@y", "Hi\x00\x0bBcc:\u2028x@y", "\x85Bcc: x@y"],
)
def test_control_characters_in_names_and_subjects_cannot_inject_headers(evil):
    raw = build_bytes(outbound(subject=evil, from_name=evil, to=Recipient(evil, "ann@customer.example")))
    mail = email.message_from_bytes(raw, policy=policy.default)
    assert mail["Bcc"] is None
    assert all(name.lower() != "bcc" for name in mail)


@given(name=st.text(max_size=200), subject=st.text(max_size=300))
def test_any_name_or_subject_builds_a_message_with_exactly_our_headers(name, subject):
    raw = build_bytes(outbound(subject=subject, from_name=name, to=Recipient(name, "ann@customer.example")))
    mail = email.message_from_bytes(raw, policy=policy.default)
    assert sorted(mail.keys()) == sorted(
        ["From", "To", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To", "References", "Auto-Submitted",
         "X-Auto-Response-Suppress", "MIME-Version", "Content-Type"]
    )  # fmt: skip
    assert mail["To"].addresses[0].addr_spec == "ann@customer.example"
    assert mail["Subject"].startswith("[#1234]")


def test_non_ascii_names_are_encoded_not_pasted():
    raw = build_bytes(outbound(to=Recipient("Zoë Müller", "zoe@customer.example")))
    assert b"Zo\xc3\xab" not in raw.split(b"\r\n\r\n")[0]
    assert email.message_from_bytes(raw, policy=policy.default)["To"].addresses[0].display_name == "Zoë Müller"


@pytest.mark.parametrize("address", ["not-an-address", "a@b\r\nBcc: x@y", "a@b, c@d", "a@b,c@d", '"a b"@c.example', "a..b@c", ""])
def test_an_invalid_recipient_address_is_a_domain_error(address):
    with pytest.raises(ValidationFailed):
        build(outbound(to=Recipient("Ann", address)))


def _lines(raw):
    return raw.split(b"\r\n")


@pytest.mark.parametrize(
    "text",
    [
        "Fixed 🔥 — the 𝄞 clef, 中文 and ümlauts.\nRegards",  # 4-byte (astral) characters, short lines
        "Fixed, see log:\n" + "ü🔥 " * 700 + "\nRegards",  # one line of 5,600 octets in UTF-8
        "x" * 3000 + "\nASCII only, one line over 998 octets",
    ],
    ids=["astral-characters", "long-8-bit-line", "long-ascii-line"],
)
def test_any_body_goes_out_as_7_bit_lines_within_998_octets_and_reads_back_exactly(text):
    raw = build_bytes(outbound(text=text, html=None))
    # SES SendRawEmail and relays without 8BITMIME take 7-bit mail; RFC 5322 caps a line at 998 octets.
    assert raw.isascii()
    assert max(len(line) for line in _lines(raw)) <= 998
    mail = email.message_from_bytes(raw, policy=policy.default)
    plain, rendered = mail.get_body(("plain",)), mail.get_body(("html",))
    for part in (plain, rendered):
        assert part["Content-Transfer-Encoding"] in ("7bit", "quoted-printable", "base64")
        assert part.get_content_charset() == "utf-8"
    assert plain.get_content().replace("\r\n", "\n").rstrip("\n") == text
    assert html.escape(text).replace("\n", "<br>") in rendered.get_content()


def test_8_bit_text_is_quoted_printable_or_base64_never_raw_8bit():
    raw = build_bytes(outbound(text="Grüße, Zoë 🔥", html="<p>Grüße 🔥</p>"))
    mail = email.message_from_bytes(raw, policy=policy.default)
    encodings = {part.get_content_type(): part["Content-Transfer-Encoding"] for part in mail.walk() if not part.is_multipart()}
    assert set(encodings) == {"text/plain", "text/html"}
    assert set(encodings.values()) <= {"quoted-printable", "base64"}
    assert mail.get_body(("plain",)).get_content().strip() == "Grüße, Zoë 🔥"
