"""Notification claims against a moto server (conditional writes atomic across threads)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from chalicelib import composition


def test_concurrent_claims_of_one_notification_let_exactly_one_sender_send(moto_server):
    mail = composition.mail_repository()
    now = composition.clock()

    def claim(_: int) -> str:
        state, _claim = mail.claim("t1", "event-1", "alice@acme.example", "<hd.x@helpdesk.local>", now, timedelta(minutes=5))
        return state

    with ThreadPoolExecutor(max_workers=16) as pool:
        states = list(pool.map(claim, range(32)))
    assert states.count("claimed") == 1
    assert set(states) == {"claimed", "held"}


def test_a_sent_claim_is_done_for_every_later_attempt_even_after_its_lease(moto_server):
    from chalicelib.domain.activities import Activity

    mail = composition.mail_repository()
    now = composition.clock()
    state, claim = mail.claim("t1", "event-1", "alice@acme.example", "<hd.x@helpdesk.local>", now, timedelta(minutes=5))
    assert state == "claimed" and claim is not None
    activity = Activity(id="a1", ticket_id="t1", type="email", visibility="internal", actor_id="system", at=now)
    assert mail.record_sent(claim, activity, now)

    later = now + timedelta(hours=1)
    assert mail.claim("t1", "event-1", "alice@acme.example", "<hd.x@helpdesk.local>", later, timedelta(minutes=5)) == (
        "done",
        None,
    )
    assert [t.message_id for t in mail.thread("t1")] == ["<hd.x@helpdesk.local>"]
