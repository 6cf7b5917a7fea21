"""Who is mailed about what (chalicelib/domain/mail/recipients.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.events import TYPES, ticket_event
from chalicelib.domain.mail.recipients import CommentFacts, Person, customer_changes, recipients
from chalicelib.domain.tickets import Change, Ticket
from chalicelib.domain.visibility import AGENT_ONLY_PROPERTIES

NOW = datetime(2026, 12, 1, tzinfo=UTC)
PEOPLE = {
    "ann": Person("ann", "customer", "ann@customer.example", "Ann"),
    "cid": Person("cid", "customer", "cid@customer.example", "Cid"),
    "bob": Person("bob", "agent", "bob@helpdesk.local", "Bob"),
    "fay": Person("fay", "agent", "fay@helpdesk.local", "Fay"),
    "nia": Person("nia", "agent", "nia@helpdesk.local", "Nia"),
    "max": Person("max", "admin", "max@helpdesk.local", "Max"),
}


def ticket(**overrides) -> Ticket:
    values = dict(
        id="t1",
        number=12,
        subject="Printer",
        description="on fire",
        requester_id="ann",
        created_at=NOW,
        updated_at=NOW,
        last_activity_at=NOW,
        cc=["cid"],
        followers=["bob", "fay"],
        assignee_id="bob",
    )
    values.update(overrides)
    return Ticket(**values)


def event(event_type: str, actor: str, changes=(), **extra):
    return ticket_event(
        event_type, event_id="e1", ticket_id="t1", version=2, actor_id=actor, at="2026-12-01T00:00:00Z",
        changes=list(changes), extra=extra,
    )  # fmt: skip


def who(deliveries):
    return {(d.user_id, d.audience) for d in deliveries}


def test_agent_public_reply_reaches_requester_cc_and_other_followers_not_the_author():
    got = recipients(event("comment.created", "bob", visibility="public"), ticket(), PEOPLE, comment=CommentFacts("public"))
    assert who(got) == {("ann", "customer"), ("cid", "customer"), ("fay", "agent")}
    assert next(d for d in got if d.user_id == "ann").reasons == ("requester",)


def test_customer_reply_is_not_echoed_to_them_but_reaches_cc_and_agents():
    got = recipients(event("comment.created", "ann", visibility="public"), ticket(), PEOPLE, comment=CommentFacts("public"))
    assert who(got) == {("cid", "customer"), ("bob", "agent"), ("fay", "agent")}


def test_internal_note_reaches_followers_assignee_and_notified_agents_only():
    note = CommentFacts("internal", notify=["nia", "ann"])
    got = recipients(event("comment.created", "fay", visibility="internal"), ticket(), PEOPLE, comment=note)
    assert who(got) == {("bob", "agent"), ("nia", "agent")}
    assert next(d for d in got if d.user_id == "nia").reasons == ("notified",)


def test_status_change_to_resolved_or_closed_reaches_customers_other_changes_do_not():
    solved = event("ticket.updated", "bob", [Change("status", "open", "done")])
    got = recipients(solved, ticket(), PEOPLE, status_categories={"done": "resolved"})
    assert ("ann", "customer") in who(got) and ("cid", "customer") in who(got)
    pending = event("ticket.updated", "bob", [Change("status", "open", "pending"), Change("tags", [], ["vip"])])
    assert who(recipients(pending, ticket(), PEOPLE)) == {("fay", "agent")}


def test_every_escalation_stage_change_reaches_the_customer():
    got = recipients(
        event("escalation.stage_changed", "system", [Change("escalation.stage", "engineering", "verification")]), ticket(), PEOPLE
    )
    assert who(got) == {("ann", "customer"), ("cid", "customer"), ("bob", "agent"), ("fay", "agent")}


def test_ticket_opened_for_a_customer_tells_them_but_not_when_they_opened_it():
    assert ("ann", "customer") in who(recipients(event("ticket.created", "bob"), ticket(), PEOPLE))
    assert "ann" not in {d.user_id for d in recipients(event("ticket.created", "ann"), ticket(), PEOPLE)}


def test_sla_breach_reaches_agents_only():
    assert who(recipients(event("sla.breached", "system"), ticket(), PEOPLE)) == {("bob", "agent"), ("fay", "agent")}


def test_notifications_off_suppressed_or_missing_addresses_are_skipped():
    people = dict(PEOPLE)
    people["ann"] = Person("ann", "customer", "ann@customer.example", notifications=False)
    people["cid"] = Person("cid", "customer", "cid@customer.example", suppressed=True)
    people["fay"] = Person("fay", "agent", "not an address")
    got = recipients(event("comment.created", "nia", visibility="public"), ticket(), people, comment=CommentFacts("public"))
    assert who(got) == {("bob", "agent")}


def test_staff_requester_gets_the_customer_version_unless_they_also_follow():
    t = ticket(requester_id="max", cc=[], followers=["fay"])
    public = event("comment.created", "bob", visibility="public")
    assert ("max", "customer") in who(recipients(public, t, PEOPLE, comment=CommentFacts("public")))
    t2 = ticket(requester_id="max", cc=[], followers=["max"])
    assert ("max", "agent") in who(recipients(public, t2, PEOPLE, comment=CommentFacts("public")))


def test_a_customer_on_the_followers_list_still_never_gets_internal_content():
    t = ticket(followers=["ann", "bob"])
    note = event("comment.created", "fay", visibility="internal")
    assert "ann" not in {d.user_id for d in recipients(note, t, PEOPLE, comment=CommentFacts("internal", ["ann"]))}


def test_an_address_at_our_support_domain_is_never_mailed():
    public = event("comment.created", "nia", visibility="public")
    got = recipients(public, ticket(), PEOPLE, comment=CommentFacts("public"), support_domain="HelpDesk.local")
    assert who(got) == {("ann", "customer"), ("cid", "customer")}


def test_one_delivery_per_person_and_per_address():
    people = dict(PEOPLE)
    people["fay"] = Person("fay", "agent", "BOB@helpdesk.local")
    got = recipients(
        event("comment.created", "nia", visibility="public"), ticket(cc=["cid", "ann"]), people, comment=CommentFacts("public")
    )
    addresses = [d.address for d in got]
    assert len(addresses) == len(set(addresses))
    assert [d.user_id for d in got].count("bob") == 1


def test_customer_version_never_mentions_agent_only_properties():
    changes = [Change("status", "open", "resolved"), Change("tags", [], ["vip"]), Change("team_id", None, "t2")]
    assert [c["property"] for c in customer_changes(event("ticket.updated", "bob", changes))] == ["status"]


ids = st.sampled_from([*sorted(PEOPLE), "ghost"])
# Mostly reachable people (so the rule is exercised), some with notifications off, suppressed,
# a shared or a broken address; comment events drawn more often than the rest.
people_strategy = st.fixed_dictionaries(
    {
        uid: st.builds(
            Person,
            id=st.just(uid),
            role=st.sampled_from(["customer", "agent", "admin"]),
            email=st.sampled_from([f"{uid}@x.example"] * 3 + ["shared@x.example", "bad"]),
            notifications=st.sampled_from([True, True, True, False]),
            suppressed=st.sampled_from([False, False, False, True]),
        )
        for uid in sorted(PEOPLE)
    }
)
event_types = st.sampled_from([*TYPES, "comment.created", "comment.created", "comment.created"])


@given(
    event_type=event_types,
    visibility=st.sampled_from(["public", "internal"]),
    actor=ids,
    requester=ids,
    cc=st.lists(ids, max_size=4),
    followers=st.lists(ids, max_size=4),
    assignee=st.one_of(st.none(), ids),
    notify=st.lists(ids, max_size=3),
    people=people_strategy,
    properties=st.lists(st.sampled_from(["status", "priority", *sorted(AGENT_ONLY_PROPERTIES)]), max_size=4),
    new_status=st.sampled_from(["open", "pending", "resolved", "closed"]),
)
def test_internal_content_never_reaches_a_customer(
    event_type, visibility, actor, requester, cc, followers, assignee, notify, people, properties, new_status
):
    changes = [Change(name, None, new_status if name == "status" else "x") for name in properties]
    e = event(event_type, actor, changes, visibility=visibility)
    t = ticket(requester_id=requester, cc=cc, followers=followers, assignee_id=assignee)
    got = recipients(e, t, people, comment=CommentFacts(visibility, notify) if event_type == "comment.created" else None)

    for delivery in got:
        person = people[delivery.user_id]
        assert delivery.user_id != actor
        assert person.notifications and not person.suppressed
        if person.role == "customer":
            assert delivery.audience == "customer"
        if delivery.audience == "customer":
            assert not (event_type == "comment.created" and visibility == "internal")
            assert event_type not in ("sla.breached", "ticket.deleted", "ticket.restored", "ticket.merged", "feedback.received")
    assert len({d.user_id for d in got}) == len(got) == len({d.address for d in got})
    assert all(c["property"] not in AGENT_ONLY_PROPERTIES for c in customer_changes(e))
