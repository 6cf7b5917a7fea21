"""Reading inbound MIME (chalicelib/domain/mail/inbound.py)."""

from __future__ import annotations

import base64
import contextlib
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import MailTooLarge, MalformedMail
from chalicelib.domain.mail.inbound import MAX_HTML_CHARS, MAX_RECIPIENTS, html_to_text, parse, safe_filename

HEAD = (
    b"From: =?utf-8?q?Zo=C3=AB_M=C3=BCller?= <Zoe@Customer.example>\r\n"
    b"To: Support <support@helpdesk.local>, bob@customer.example\r\n"
    b"Cc: carol@customer.example\r\n"
    b"Message-ID: <ABC@mail.customer.example>\r\n"
    b"In-Reply-To: <hd.x@helpdesk.local>\r\n"
    b"References: <hd.t.root@helpdesk.local>\r\n <hd.x@helpdesk.local>\r\n"
    b"Return-Path: <zoe@customer.example>\r\n"
    b"MIME-Version: 1.0\r\n"
)


def raw(body: bytes, content_type: bytes = b"text/plain; charset=utf-8", extra: bytes = b"", subject: bytes = b"Hello") -> bytes:
    return HEAD + b"Subject: " + subject + b"\r\n" + extra + b"Content-Type: " + content_type + b"\r\n\r\n" + body


def test_headers_addresses_and_thread_ids_are_read():
    message = parse(raw(b"Hi there"))
    assert message.sender.name == "Zoë Müller" and message.sender.address == "zoe@customer.example"
    assert [box.address for box in message.to] == ["support@helpdesk.local", "bob@customer.example"]
    assert [box.address for box in message.cc] == ["carol@customer.example"]
    assert message.recipient_count == 3
    assert message.message_id == "<abc@mail.customer.example>"
    assert message.in_reply_to == ("<hd.x@helpdesk.local>",)
    assert message.references == ("<hd.t.root@helpdesk.local>", "<hd.x@helpdesk.local>")
    assert message.return_path == "<zoe@customer.example>"
    assert message.text == "Hi there" and message.subject == "Hello"


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (b"=?iso-8859-1?q?Caf=E9_cr=E8me?=", "Café crème"),
        (b"=?UTF-8?B?w4ljaGVjIGR1IHByb2pldA==?=", "Échec du projet"),
        (b"=?utf-8?q?Caf=C3=A9?= au lait", "Café au lait"),
        (b"=?utf-8?q?long_sub?= =?utf-8?q?ject?=", "long subject"),
        (b"=?x-unknown?q?plain?=", "plain"),
        (b"=?utf-8?q?broken", "=?utf-8?q?broken"),
    ],
)
def test_encoded_subjects_are_decoded(subject, expected):
    assert parse(raw(b"x", subject=subject)).subject == expected


def test_raw_8_bit_headers_are_decoded_not_replaced():
    utf8 = parse("From: Jürgen <j@customer.example>\r\nSubject: Grüße aus Köln\r\n\r\nhi".encode())
    assert utf8.subject == "Grüße aus Köln" and utf8.sender.name == "Jürgen"
    latin1 = parse("From: a@customer.example\r\nSubject: café crème\r\n\r\nhi".encode("latin-1"))
    assert latin1.subject == "café crème"


def test_a_subject_that_decodes_to_line_breaks_stays_one_line():
    subject = parse(raw(b"x", subject=b"=?utf-8?q?Hi=0D=0ABcc:_victim@evil.example?=")).subject
    assert subject == "Hi Bcc: victim@evil.example"


QP = b"Content-Transfer-Encoding: quoted-printable\r\n"


@pytest.mark.parametrize(
    ("content_type", "body", "extra", "expected"),
    [
        (
            b"text/plain; charset=iso-8859-1",
            b"Gr=FC=DFe aus K=F6ln",
            b"Content-Transfer-Encoding: quoted-printable\r\n",
            "Grüße aus Köln",
        ),
        (b"text/plain; charset=iso-8859-1", b"Price: \x80 5", b"", "Price: € 5"),
        (b"text/plain; charset=windows-1252", b"\x93quoted\x94", b"", "“quoted”"),
        (b"text/plain; charset=utf-8", base64.b64encode("naïve ✓".encode()), b"Content-Transfer-Encoding: base64\r\n", "naïve ✓"),
        (b"text/plain; charset=x-no-such-charset", "déjà".encode(), b"", "déjà"),
        (b"text/plain", "déjà".encode("latin-1"), b"", "déjà"),
        (b"text/plain; charset=utf-8", b"broken \xff utf8", b"", "broken ÿ utf8"),
        (b"text/plain; charset=utf-7", b"a+ZeVnLIqe-", b"", "a+ZeVnLIqe-"),
    ],
)
def test_body_charsets_and_transfer_encodings_are_decoded(content_type, body, extra, expected):
    assert parse(raw(body, content_type, extra)).text == expected


def test_html_only_mail_becomes_text_with_quotes_marked_and_html_sanitized():
    html = (
        b"<html><body><p>New answer</p><div>second&nbsp;line<br>third</div><script>alert(1)</script>"
        b"<blockquote><p>old text</p><blockquote>older</blockquote></blockquote></body></html>"
    )
    message = parse(raw(html, b"text/html; charset=utf-8"))
    assert message.text.splitlines() == ["New answer", "", "second line", "third", "", "> old text", ">", "> > older"]
    assert message.html is not None and "script" not in message.html


def test_text_plain_is_preferred_over_html():
    mail = EmailMessage()
    mail["From"] = "a@customer.example"
    mail.set_content("plain words")
    mail.add_alternative("<p>html words</p>", subtype="html")
    message = parse(mail.as_bytes(policy=SMTP))
    assert message.text.strip() == "plain words"
    assert message.html is not None and "html words" in message.html


def with_files(*files):
    mail = EmailMessage()
    mail["From"] = "a@customer.example"
    mail["Subject"] = "files"
    mail.set_content("see attached")
    for name, maintype, subtype, data in files:
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return mail.as_bytes(policy=SMTP)


def test_allowed_attachments_are_kept_and_the_rest_left_out_with_a_reason():
    message = parse(
        with_files(
            ("report.pdf", "application", "pdf", b"%PDF-1.4 ok"),
            ("setup.exe", "application", "x-msdownload", b"MZ"),
            ("big.pdf", "application", "pdf", b"x" * 600_000),
            ("data.csv", "application", "octet-stream", b"a,b\n1,2\n"),
            ("empty.txt", "text", "plain", b""),
        )
    )
    assert [(a.filename, a.content_type) for a in message.attachments] == [
        ("report.pdf", "application/pdf"),
        ("data.csv", "text/csv"),
    ]
    assert [(o.filename, o.reason) for o in message.left_out] == [
        ("setup.exe", "type_not_allowed"),
        ("big.pdf", "too_large"),
        ("empty.txt", "empty"),
    ]
    assert message.text.strip() == "see attached"


def test_a_forwarded_message_is_one_left_out_file_not_part_of_the_body():
    inner = with_files(("inner.pdf", "application", "pdf", b"%PDF inner"))
    body = (
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee below\r\n'
        b"--b\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b--\r\n"
    )
    message = parse(b"From: a@customer.example\r\nMIME-Version: 1.0\r\n" + body)
    assert message.text == "see below" and message.attachments == ()
    assert [(o.filename, o.reason) for o in message.left_out] == [("forwarded.eml", "type_not_allowed")]


def test_at_most_five_attachments_per_message():
    message = parse(with_files(*[(f"f{i}.png", "image", "png", b"\x89PNG") for i in range(7)]))
    assert len(message.attachments) == 5
    assert [o.reason for o in message.left_out] == ["too_many", "too_many"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\Rechnung März.pdf", "Rechnung Marz.pdf"),
        ("..hidden.pdf", "hidden.pdf"),
        ("<script>.pdf", "script.pdf"),
        ("", "attachment"),
        ("日本.pdf", "attachment.pdf"),
        ("a" * 300 + ".pdf", "a" * 196 + ".pdf"),
        ("x.tar..gz", "x.tar.gz"),
    ],
)
def test_attachment_names_are_made_safe(name, expected):
    assert safe_filename(name) == expected


def test_rfc2231_encoded_filenames_are_decoded():
    body = (
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n'
        b"--b\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''Pr%C3%BCfung.pdf\r\n\r\n%PDF\r\n--b--\r\n"
    )
    message = parse(b"From: a@customer.example\r\nMIME-Version: 1.0\r\n" + body)
    assert [a.filename for a in message.attachments] == ["Prufung.pdf"]


def test_a_message_over_20_mb_is_refused():
    with pytest.raises(MailTooLarge):
        parse(raw(b"x" * (20 * 1024 * 1024)))


def test_ten_thousand_recipients_are_capped_and_counted():
    to = b", ".join(b"user%d@customer.example" for i in range(10_000))
    message = parse(b"From: a@customer.example\r\nTo: " + to + b"\r\n\r\nbody")
    assert len(message.to) == MAX_RECIPIENTS and message.recipient_count == 10_000


def test_a_5_mb_single_line_body_is_read_and_bounded():
    message = parse(raw(b"word " * 1_000_000))
    assert len(message.text) == 1_000_000 and message.text.startswith("word word")
    html = parse(raw(b"<p>" + b"w" * 5_000_000 + b"</p>", b"text/html"))
    assert html.text.startswith("www") and 250_000 < len(html.text) <= MAX_HTML_CHARS


def nested(depth: int) -> bytes:
    head = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(depth))
    tail = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))
    return b"From: a@customer.example\r\nMIME-Version: 1.0\r\n" + head + b"Content-Type: text/plain\r\n\r\nhi" + tail


def test_moderate_nesting_is_read_and_hostile_nesting_refused():
    assert parse(nested(20)).text == "hi"
    with pytest.raises(MalformedMail):
        parse(nested(2_000))
    with pytest.raises(MalformedMail):
        parse(nested(40))  # under the container limit, over the depth limit


@pytest.mark.parametrize(
    "hostile",
    [
        b"From: a@b.example\r\n" + b"X-A: b\r\n" * 200_000 + b"\r\nbody",
        b"From: a@b.example\r\nSubject: " + b"x" * 1_000_000 + b"\r\n\r\nbody",
        b'From: a@b.example\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' + b"--b\r\n\r\nx\r\n" * 50_000 + b"--b--\r\n",
        b"",
        b"   \r\n",
    ],
)
def test_hostile_or_empty_messages_are_one_typed_error(hostile):
    with pytest.raises(MalformedMail):
        parse(hostile)


def test_a_message_without_headers_or_with_garbage_still_parses():
    message = parse(b"\xff\xfe\x00garbage without any header")
    assert message.sender.address == "" and message.message_id is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2_000))
def test_arbitrary_bytes_never_raise_anything_but_malformed_mail(data):
    with contextlib.suppress(MalformedMail):
        parse(HEAD + data)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                b"\r\n",
                b"--b\r\n",
                b"Content-Type: multipart/mixed; boundary=b\r\n",
                b"=?utf-8?q?=FF?=",
                b"x",
                b"Content-Transfer-Encoding: base64\r\n",
                b"==",
                b"\r\n\r\n",
            ]
        ),
        max_size=60,
    )
)
def test_mime_shaped_garbage_never_raises_anything_but_malformed_mail(chunks):
    with contextlib.suppress(MalformedMail):
        parse(b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" + b"".join(chunks))


def test_html_to_text_keeps_blocks_apart():
    assert html_to_text("<p>a</p><p>b</p>") == "a\n\nb"
    assert html_to_text("<div>a</div><div>b<br>c</div>") == "a\nb\nc"
