"""Who of a message's To and Cc may join the ticket's CC (chalicelib/domain/mail/cc.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.mail.cc import MAX_MAIL_CC, cc_candidates
from tests.domain.mail.builders import inbound

DOMAIN = "helpdesk.local"


def test_copied_people_are_candidates_in_order_without_our_addresses_the_sender_or_duplicates():
    message = inbound(
        sender="ann@customer.example",
        to=("support@helpdesk.local", "Bob@Customer.example", "support+t-abc@helpdesk.local"),
        cc=("ann@customer.example", "bob@customer.example", "carl@partner.example", "x@mail.helpdesk.local"),
    )
    assert cc_candidates(message, support_domain=DOMAIN) == ["bob@customer.example", "carl@partner.example"]
    assert cc_candidates(message, support_domain=DOMAIN, exclude=["carl@partner.example"]) == ["bob@customer.example"]


def test_invalid_addresses_are_not_candidates():
    message = inbound(cc=("not an address", '"a@b,c"@customer.example', ""))
    assert cc_candidates(message, support_domain=DOMAIN) == []


@given(
    st.lists(
        st.sampled_from(["a@x.example", "B@x.example", "b@x.example", "support@helpdesk.local", "c@y.example"])
        | st.builds(lambda i: f"p{i}@z.example", st.integers(0, 30)),
        max_size=60,
    )
)
def test_candidates_are_bounded_unique_and_never_ours(addresses):
    found = cc_candidates(inbound(cc=tuple(addresses)), support_domain=DOMAIN)
    assert len(found) <= MAX_MAIL_CC and len(found) == len(set(found))
    assert all(not a.endswith("@helpdesk.local") and a == a.lower() for a in found)
