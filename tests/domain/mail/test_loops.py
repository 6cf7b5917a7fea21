"""Auto-reply, bounce and loop detection (chalicelib/domain/mail/loops.py)."""

from __future__ import annotations

import pytest

from chalicelib.domain.mail.loops import automated_reason
from chalicelib.domain.mail.message_ids import MessageIds
from tests.domain.mail.builders import inbound

ids = MessageIds("helpdesk.local", [b"s" * 32])


def test_a_persons_mail_is_not_automated():
    assert automated_reason(inbound(), ids) is None
    assert automated_reason(inbound(headers={"Auto-Submitted": "no"}), ids) is None
    assert automated_reason(inbound(headers={"Precedence": "first-class"}), ids) is None


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "auto_submitted"),
        ({"Auto-Submitted": "auto-generated; owner-email=x@y"}, "auto_submitted"),
        ({"Auto-Submitted": "auto-notified"}, "auto_submitted"),
        ({"Precedence": "bulk"}, "precedence"),
        ({"Precedence": " Junk "}, "precedence"),
        ({"Precedence": "list"}, "precedence"),
        ({"X-Autoreply": "yes"}, "autoreply_header"),
        ({"X-Autorespond": "Out of office"}, "autoreply_header"),
        ({"List-Id": "<news.shop.example>"}, "mailing_list"),
        ({"List-Unsubscribe": "<mailto:unsub@shop.example>"}, "mailing_list"),
    ],
)
def test_auto_replies_and_bulk_mail_are_automated(headers, reason):
    assert automated_reason(inbound(headers=headers), ids) == reason


def test_outlook_out_of_office_is_automated():
    message = inbound(subject="Automatic reply: Printer on fire", headers={"X-Auto-Response-Suppress": "All"})
    assert automated_reason(message, ids) == "autoreply_header"
    # Outlook stamps the same header on ordinary mail: the subject decides
    assert automated_reason(inbound(headers={"X-Auto-Response-Suppress": "All"}), ids) is None


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.customer.example", "postmaster@customer.example"])
def test_mail_from_daemons_is_automated(sender):
    assert automated_reason(inbound(sender=sender), ids) == "mailer_daemon"


def test_bounces_with_a_null_return_path_or_a_report_are_automated():
    assert automated_reason(inbound(return_path="<>"), ids) == "null_return_path"
    assert automated_reason(inbound(content_type="multipart/report"), ids) == "delivery_report"


def test_our_own_message_coming_back_is_a_loop():
    ours = ids.for_message("evt-1", "ann@customer.example")
    assert automated_reason(inbound(message_id=ours), ids) == "our_message"
    assert automated_reason(inbound(sender="support+abc@HelpDesk.local"), ids) == "from_us"


def test_a_reply_to_our_mail_through_a_list_still_counts_as_a_person():
    ours = ids.for_message("evt-1", "team@lists.customer.example")
    message = inbound(in_reply_to=(ours,), headers={"List-Id": "<team.lists.customer.example>"})
    assert automated_reason(message, ids) is None
