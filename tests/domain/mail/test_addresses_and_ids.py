"""Reply-address tokens and Message-IDs (chalicelib/domain/mail/addresses.py, message_ids.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.mail.addresses import ReplyAddresses, normalize_address, split_address
from chalicelib.domain.mail.message_ids import MessageIds, parse_ids, references_for

SECRET = b"s" * 32
OTHER = b"o" * 32
TICKET = "0123456789abcdef0123456789abcdef"
addresses = ReplyAddresses("helpdesk.local", [SECRET])
ids = MessageIds("helpdesk.local", [SECRET])


def test_reply_address_names_the_ticket_it_was_minted_for():
    address = addresses.address_for(TICKET)
    assert address.startswith("support+") and address.endswith("@helpdesk.local")
    assert len(address.split("@")[0]) <= 64
    assert addresses.ticket_of(address) == TICKET


@given(st.from_regex(r"[a-z0-9]{1,39}", fullmatch=True))
def test_every_ticket_id_round_trips_through_its_reply_address(ticket_id):
    address = addresses.address_for(ticket_id)
    assert len(address.split("@")[0]) <= 64
    assert addresses.ticket_of(address) == ticket_id


def test_reply_address_survives_case_folding_and_display_brackets():
    address = addresses.address_for(TICKET)
    assert addresses.ticket_of("<" + address.upper() + ">") == TICKET


def test_token_of_one_ticket_never_opens_another():
    token = addresses.token_for(TICKET)
    mac = token.split("-")[1]
    assert addresses.ticket_of_token(f"{'f' * 32}-{mac}") is None


@given(st.text(max_size=80))
def test_a_guessed_or_garbled_token_names_no_ticket(token):
    assert addresses.ticket_of_token(token) in (None, TICKET)
    if addresses.ticket_of_token(token) == TICKET:
        assert token.strip().lower() == addresses.token_for(TICKET)


def test_token_minted_with_another_secret_is_refused_unless_that_secret_is_in_the_ring():
    old = ReplyAddresses("helpdesk.local", [OTHER]).address_for(TICKET)
    assert addresses.ticket_of(old) is None
    assert ReplyAddresses("helpdesk.local", [SECRET, OTHER]).ticket_of(old) == TICKET


def test_tokens_at_another_domain_or_mailbox_are_not_ours():
    token = addresses.token_for(TICKET)
    assert addresses.ticket_of(f"support+{token}@evil.example") is None
    assert addresses.ticket_of(f"sales+{token}@helpdesk.local") is None
    assert addresses.ticket_of("support@helpdesk.local") is None


@pytest.mark.parametrize(
    "text",
    ["", "no-at-sign", "a@", "@b", "a b@c", "x@y\r\nBcc: z@w", "<a@b", "a@b>", "a" * 400 + "@b.example"],
)
def test_anything_but_one_bare_address_splits_to_nothing(text):
    assert split_address(text) == ("", "")
    assert normalize_address(text) == ""


def test_short_or_missing_secrets_are_refused():
    with pytest.raises(ValueError):
        ReplyAddresses("helpdesk.local", [])
    with pytest.raises(ValueError):
        ReplyAddresses("helpdesk.local", [b"short"])


def test_retried_send_carries_the_same_message_id_and_each_recipient_its_own():
    first = ids.for_message("evt-1", "Ann@Example.com")
    assert first == ids.for_message("evt-1", "ann@example.com")
    assert first != ids.for_message("evt-1", "bob@example.com")
    assert first != ids.for_message("evt-2", "ann@example.com")
    assert first.startswith("<") and first.endswith("@helpdesk.local>")


def test_message_ids_depend_on_the_secret():
    assert ids.for_message("evt-1", "a@x") != MessageIds("helpdesk.local", [OTHER]).for_message("evt-1", "a@x")


def test_our_message_ids_and_thread_roots_are_recognised_and_others_are_not():
    assert ids.is_ours(ids.for_message("evt-1", "a@x"))
    assert ids.is_ours(ids.thread_root(TICKET).upper())
    assert not ids.is_ours("<CAF=abc@mail.gmail.com>")
    assert not ids.is_ours(ids.for_message("evt-1", "a@x").replace("helpdesk.local", "other.example"))


def test_parse_ids_reads_ids_in_order_lowercased_and_bounded():
    header = "<A@x>  (comment) <b@y>\r\n <a@x> junk <c@z>"
    assert parse_ids(header) == ["<a@x>", "<b@y>", "<c@z>"]
    many = " ".join(f"<m{i}@x>" for i in range(5000))
    parsed = parse_ids(many)
    assert len(parsed) == 100 and parsed[-1] == "<m4999@x>"
    assert parse_ids(None) == [] and parse_ids("no ids here") == []


def test_references_start_at_the_thread_root_and_keep_the_latest():
    thread = [f"<m{i}@x>" for i in range(50)]
    refs = references_for(thread, "<root@x>")
    assert refs[0] == "<root@x>" and refs[-1] == "<m49@x>" and len(refs) == 20
    assert references_for(["<root@x>", "<a@x>"], "<root@x>") == ["<root@x>", "<a@x>"]
