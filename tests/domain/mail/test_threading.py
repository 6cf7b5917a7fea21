"""Which ticket an inbound message belongs to (chalicelib/domain/mail/threading.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.mail.addresses import ReplyAddresses
from chalicelib.domain.mail.message_ids import MessageIds
from chalicelib.domain.mail.threading import Decision, Lookups, NumberMatch, decide, subject_number
from tests.domain.mail.builders import inbound

SECRET = b"s" * 32
ids = MessageIds("helpdesk.local", [SECRET])
addresses = ReplyAddresses("helpdesk.local", [SECRET])
T1, T2 = "a" * 32, "b" * 32
SENT = ids.for_message("evt-1", "ann@customer.example")


class Desk:
    """Tickets by message id, token and number, counting what is asked."""

    def __init__(self, known=None, tickets=(T1, T2), numbers=None):
        self.known = dict(known or {SENT: T1, "<m0@customer.example>": T1})
        self.tickets = set(tickets)
        self.numbers = numbers or {7: (T2, {"ann@customer.example"})}
        self.asked: list[str] = []

    def lookups(self) -> Lookups:
        return Lookups(self.by_message_ids, self.by_token, self.by_number)

    def by_message_ids(self, mids):
        self.asked.append(list(mids))
        return {mid: self.known[mid] for mid in mids if mid in self.known}

    def by_token(self, token):
        ticket_id = addresses.ticket_of_token(token)
        return ticket_id if ticket_id in self.tickets else None

    def by_number(self, number, sender):
        if number not in self.numbers:
            return None
        ticket_id, end_users = self.numbers[number]
        return NumberMatch(ticket_id, sender in end_users)


def route(message, desk=None, **kwargs):
    return decide(message, (desk or Desk()).lookups(), ids=ids, addresses=addresses, **kwargs)


def test_a_reply_to_our_notification_comments_on_its_ticket():
    assert route(inbound(in_reply_to=(SENT,))) == Decision("comment", "in_reply_to", T1)


def test_references_thread_when_in_reply_to_is_unknown_newest_first():
    desk = Desk(known={"<old@x>": T2, "<new@x>": T1})
    message = inbound(in_reply_to=("<unknown@x>",), references=("<old@x>", "<new@x>"))
    assert route(message, desk) == Decision("comment", "references", T1)


def test_thread_beats_token_and_token_beats_subject_number():
    to = (addresses.address_for(T2),)
    assert route(inbound(in_reply_to=(SENT,), to=to, subject="[#7]")).ticket_id == T1
    assert route(inbound(to=to, subject="Re: [#99] x")) == Decision("comment", "reply_token", T2)


def test_reply_token_in_cc_or_envelope_threads():
    assert route(inbound(cc=(addresses.address_for(T1),))) == Decision("comment", "reply_token", T1)
    assert route(inbound(), envelope_recipients=[addresses.address_for(T2)]).ticket_id == T2


def test_a_forged_token_opens_a_new_ticket():
    forged = f"support+{T1}-aaaaaaaaaaaaaaaa@helpdesk.local"
    assert route(inbound(to=(forged,))) == Decision("new_ticket", "no_thread")


def test_a_token_for_a_ticket_that_no_longer_exists_opens_a_new_ticket():
    desk = Desk(tickets=())
    assert route(inbound(to=(addresses.address_for(T1),)), desk) == Decision("new_ticket", "no_thread")


def test_subject_number_threads_only_for_the_requester_or_cc():
    assert route(inbound(subject="Re: [#7] Printer")) == Decision("comment", "subject_number", T2)
    stranger = inbound(sender="eve@elsewhere.example", subject="Re: [#7] Printer")
    assert route(stranger) == Decision("new_ticket", "subject_number_from_stranger")
    assert route(inbound(subject="Re: [#8] unknown number")) == Decision("new_ticket", "no_thread")


def test_a_message_with_no_thread_opens_a_new_ticket():
    assert route(inbound()) == Decision("new_ticket", "no_thread")


def test_a_second_delivery_of_the_same_message_is_ignored():
    assert route(inbound(message_id="<m0@customer.example>", in_reply_to=(SENT,))) == Decision("ignore", "duplicate")


def test_auto_replies_to_our_mail_are_ignored_not_commented():
    message = inbound(in_reply_to=(SENT,), headers={"Auto-Submitted": "auto-replied"})
    assert route(message) == Decision("ignore", "auto_submitted")


def test_our_own_message_is_ignored_before_any_lookup():
    desk = Desk()
    assert route(inbound(message_id=SENT), desk) == Decision("ignore", "our_message")
    assert desk.asked == []


def test_thread_ids_are_looked_up_in_one_bounded_batch():
    desk = Desk()
    references = tuple(f"<r{i}@x>" for i in range(500))
    route(inbound(in_reply_to=("<a@x>",), references=references), desk)
    assert len(desk.asked) == 1 and len(desk.asked[0]) == 100
    assert desk.asked[0][:3] == ["<m1@customer.example>", "<a@x>", "<r499@x>"]


def test_ten_thousand_recipients_check_a_bounded_number_of_tokens():
    to = (*(f"user{i}@customer.example" for i in range(10_000)), addresses.address_for(T1))
    assert route(inbound(to=to)) == Decision("new_ticket", "no_thread")


def test_subject_number_is_the_last_bracketed_number():
    assert subject_number("Re: [#12] Fwd: [#34] x") == 34
    assert subject_number("RE: AW: [#1234]") == 1234
    assert subject_number("about #12 and [12]") is None


@given(
    subject=st.text(max_size=300),
    ids_=st.lists(st.text(max_size=40), max_size=5),
    to=st.lists(st.text(max_size=60), max_size=5),
)
def test_any_inbound_headers_give_a_decision(subject, ids_, to):
    message = inbound(subject=subject, in_reply_to=tuple(ids_), references=tuple(ids_), to=tuple(to))
    decision = route(message)
    assert decision.action in ("comment", "new_ticket", "ignore")
    assert (decision.ticket_id is not None) == (decision.action == "comment")
