"""Conversation rules: who a reply counts as, activity status, safe bodies, templates, sentiment."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import sentiment
from chalicelib.domain.activities import Activity, edit_activity, search_text, system_entries, validate_activity, visible_to
from chalicelib.domain.bodies import BODY_MAX, ELLIPSIS, plain_text, prepare_body
from chalicelib.domain.comments import (
    activity_status_after_reply,
    activity_status_on_open,
    author_relation,
    check_close,
    check_comment,
    feedback_record,
)
from chalicelib.domain.errors import Conflict, NotAllowed, ValidationFailed
from chalicelib.domain.followers import with_follower
from chalicelib.domain.markup import sanitize
from chalicelib.domain.templates import PLACEHOLDERS, check_template, render_template
from chalicelib.domain.tickets import Change, Ticket
from chalicelib.domain.visibility import Caller

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
AGENT = Caller("agent-1", "agent", name="Ann Agent", email="ann@example.com", teams=frozenset({"support"}))
OTHER_AGENT = Caller("agent-2", "agent", teams=frozenset({"support"}))
ALICE = Caller("alice", "customer", org_id="acme")
ORG_ADMIN = Caller("boss", "customer", org_id="acme", org_admin=True)


def ticket(**overrides):
    values = {
        "id": "t1",
        "number": 42,
        "subject": "VPN",
        "description": "down",
        "requester_id": "alice",
        "organization_id": "acme",
        "assignee_id": "agent-1",
        "created_at": NOW,
        "updated_at": NOW,
        "last_activity_at": NOW,
        **overrides,
    }
    return Ticket(**values)


# -- relation and activity status ------------------------------------------------------------
def test_relation_to_the_ticket_decides_who_a_reply_counts_as():
    assert author_relation(AGENT, ticket()) == "agent"
    assert author_relation(ALICE, ticket()) == "requester"
    # An agent who opened a ticket for themself replies as its end user...
    assert author_relation(OTHER_AGENT, ticket(requester_id="agent-2", assignee_id=None)) == "requester"
    # ...and as staff once assigned to it; an agent CC'd on someone's ticket is an end user there.
    assert author_relation(OTHER_AGENT, ticket(requester_id="agent-2", assignee_id="agent-2")) == "agent"
    assert author_relation(OTHER_AGENT, ticket(cc=["agent-2"])) == "requester"


@pytest.mark.parametrize(
    ("current", "relation", "visibility", "expected"),
    [
        ("unread", "agent", "public", "waiting_on_contact"),
        ("waiting_on_agent", "agent", "public", "waiting_on_contact"),
        ("unread", "agent", "internal", "read"),
        ("waiting_on_agent", "agent", "internal", "waiting_on_agent"),
        ("waiting_on_contact", "requester", "public", "waiting_on_agent"),
        ("unread", "requester", "public", "waiting_on_agent"),
        ("read", "requester", "internal", "read"),
    ],
)
def test_activity_status_moves_by_reply(current, relation, visibility, expected):
    assert activity_status_after_reply(current, relation, visibility) == expected


def test_only_the_assigned_agent_opening_an_unread_ticket_marks_it_read():
    assert activity_status_on_open(AGENT, ticket()) == "read"
    assert activity_status_on_open(OTHER_AGENT, ticket()) is None
    assert activity_status_on_open(ALICE, ticket()) is None
    assert activity_status_on_open(AGENT, ticket(activity_status="waiting_on_agent")) is None


# -- who may comment --------------------------------------------------------------------
def test_customers_post_public_replies_only_and_never_status_or_notify():
    with pytest.raises(NotAllowed) as refused:
        check_comment(ALICE, ticket(), visibility="internal", status="pending", notify=["agent-1"])
    assert [e.field for e in refused.value.errors] == ["visibility", "status", "notify"]
    assert check_comment(ALICE, ticket(), visibility="public", status=None, notify=[]) == "requester"


def test_org_admin_reads_but_does_not_reply_to_a_colleagues_ticket():
    with pytest.raises(NotAllowed):
        check_comment(ORG_ADMIN, ticket(), visibility="public", status=None, notify=[])
    assert check_comment(ORG_ADMIN, ticket(requester_id="boss"), visibility="public", status=None, notify=[]) == "requester"


def test_public_replies_to_a_closed_ticket_are_conflicts_pointing_to_a_new_ticket():
    closed = ticket(status="closed", status_category="closed")
    with pytest.raises(Conflict, match=r"open a new ticket and reference ticket #42"):
        check_comment(ALICE, closed, visibility="public", status=None, notify=[])
    with pytest.raises(Conflict):
        check_comment(AGENT, closed, visibility="public", status=None, notify=[])
    assert check_comment(AGENT, closed, visibility="internal", status=None, notify=[]) == "agent"


def test_notify_is_for_internal_notes():
    with pytest.raises(ValidationFailed):
        check_comment(AGENT, ticket(), visibility="public", status=None, notify=["agent-2"])


# -- bodies ----------------------------------------------------------------------------
def test_long_bodies_are_truncated_to_the_limit_with_a_trailing_ellipsis():
    body = prepare_body("x" * (BODY_MAX + 10))
    assert body.truncated and len(body.text) == BODY_MAX and body.text.endswith(ELLIPSIS)
    exact = prepare_body("y" * BODY_MAX)
    assert not exact.truncated and exact.text == "y" * BODY_MAX


def test_truncation_never_leaves_half_a_tag_or_an_unsafe_cut():
    body = prepare_body("<b>" + "a" * (BODY_MAX - 5) + '</b><a href="https://example.com/">link</a>' * 50)
    assert body.truncated and len(body.text) <= BODY_MAX and body.text.endswith(ELLIPSIS)
    assert sanitize(body.text[: -len(ELLIPSIS)]) == body.text[: -len(ELLIPSIS)]  # the cut is well-formed


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([*"ab<>&;:/\"'= \n", "<b>", "</b>", "<a href=", "&amp;", "é"]), max_size=200).map("".join))
def test_prepared_bodies_fit_and_are_stable_under_sanitizing(text):
    body = prepare_body(text, limit=120)
    assert len(body.text) <= 120
    kept = body.text[: -len(ELLIPSIS)] if body.truncated else body.text
    assert sanitize(kept) == kept


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        '<a href="jav&#x09;ascript:alert(1)">x</a>',
        '<iframe src="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="></iframe>',
        "<svg><script>alert(1)</script></svg>",
        '<svg onload="alert(1)"></svg>',
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        '<div style="background:url(javascript:alert(1))">x</div>',
        "[x](javascript:alert(1))",
        "[x]( JaVaScRiPt:alert(1))",
        "[x](java\tscript:alert(1))",
        "[x]: javascript&colon;alert(1)",
        "![x](data:text/html;base64,PHNjcmlwdD4=)",
    ],
)
def test_sanitize_removes_scripts_handlers_and_dangerous_urls(payload):
    clean = sanitize(payload).lower()
    assert "<script" not in clean and "<svg" not in clean and "<iframe" not in clean and "style=" not in clean
    assert not re.search(r"\son[a-z]+\s*=", clean)
    assert not re.search(r"j\s*a\s*v\s*a\s*s\s*c\s*r\s*i\s*p\s*t\s*:", clean)
    assert not re.search(r"data\s*:\s*[a-z]+/", clean)


def test_sanitize_keeps_simple_formatting_and_safe_links():
    text = '<p>Hi <b>there</b> <a href="https://example.com/x">docs</a></p><ul><li>one</li></ul>'
    clean = sanitize(text)
    assert "<b>there</b>" in clean and 'href="https://example.com/x"' in clean and "<li>one</li>" in clean
    assert sanitize("the data: below, in plain prose") == "the data: below, in plain prose"


def test_search_text_covers_the_fields_seed_000_lists():
    assert search_text("task", "Renew", "<b>License</b>") == "renew\nlicense"
    assert search_text("email", "Invoice", "body is not searched") == "invoice"
    assert search_text("meeting", "not searched", "Agenda &amp; notes") == "agenda & notes"
    assert search_text("system", None, None) is None
    assert plain_text("a &lt;b&gt; <i>c</i>") == "a <b> c"


# -- visibility of activities -------------------------------------------------------------
def activity(**overrides):
    values = {"id": "a1", "ticket_id": "t1", "type": "comment", "visibility": "public", "actor_id": "agent-1", "at": NOW}
    return Activity(**{**values, **overrides})


def test_customers_see_only_public_undeleted_activities_of_public_types():
    assert visible_to(ALICE, activity())
    assert not visible_to(ALICE, activity(type="note", visibility="internal"))
    assert not visible_to(ALICE, activity(type="note", visibility="public"))  # a note is internal whatever it says
    assert not visible_to(ALICE, activity(deleted_at=NOW))
    assert visible_to(AGENT, activity(type="note", visibility="internal", deleted_at=NOW))


def test_property_changes_split_into_a_public_and_an_internal_entry():
    entries = system_entries([Change("status", "open", "pending"), Change("team_id", None, "support"), Change("tags", [], ["x"])])
    assert entries == [
        ("public", [{"property": "status", "old": "open", "new": "pending"}]),
        (
            "internal",
            [{"property": "team_id", "old": None, "new": "support"}, {"property": "tags", "old": [], "new": ["x"]}],
        ),
    ]


def test_agent_only_properties_match_the_api_views():
    from chalicelib.api.views import AGENT_ONLY
    from chalicelib.domain.visibility import AGENT_ONLY_PROPERTIES

    assert set(AGENT_ONLY) == AGENT_ONLY_PROPERTIES


# -- activity fields ------------------------------------------------------------------------
def test_each_logged_type_requires_its_own_fields():
    with pytest.raises(ValidationFailed) as bad:
        validate_activity("call", "internal", None, None, {"due_at": NOW})
    assert {e.field for e in bad.value.errors} == {"duration_seconds", "outcome", "due_at"}
    with pytest.raises(ValidationFailed) as bad:
        validate_activity("task", "public", None, None, {})
    assert {e.field for e in bad.value.errors} == {"due_at", "subject", "visibility"}
    with pytest.raises(ValidationFailed) as bad:
        validate_activity("meeting", "public", None, None, {"start_at": NOW, "end_at": NOW - timedelta(hours=1)})
    assert [e.field for e in bad.value.errors] == ["end_at"]
    fields = validate_activity("meeting", "public", None, None, {"start_at": NOW, "link": "https://meet.example/abc"})
    assert fields == {"start_at": "2026-03-02T10:00:00.000Z", "link": "https://meet.example/abc"}


def test_an_edit_records_old_and_new_values_and_resanitizes():
    note = activity(type="note", visibility="internal", body="first")
    edited, changed = edit_activity(note, subject=None, body="second <script>x</script>", values={}, now=NOW)
    assert edited.body == "second " and edited.edited_at == NOW
    assert changed == {"body": {"old": "first", "new": "second "}}
    same, nothing = edit_activity(edited, subject=None, body="second ", values={}, now=NOW)
    assert nothing == {} and same is edited


# -- close, feedback, follow ----------------------------------------------------------------
def test_close_is_for_the_requester_their_org_admin_and_staff():
    check_close(ALICE, ticket())
    check_close(ORG_ADMIN, ticket())
    check_close(AGENT, ticket())
    with pytest.raises(NotAllowed):
        check_close(Caller("carl", "customer", org_id="acme"), ticket(cc=["carl"]))
    with pytest.raises(Conflict):
        check_close(ALICE, ticket(status="closed", status_category="closed"))


def test_feedback_is_left_once_by_the_requester_on_a_closed_ticket():
    closed = ticket(status="closed", status_category="closed")
    record = feedback_record(ALICE, closed, 4, "quick <script>x</script>", NOW)
    assert record == {"rating": 4, "comment": "quick ", "created_at": "2026-03-02T10:00:00.000Z"}
    with pytest.raises(Conflict):
        feedback_record(ALICE, ticket(), 4, "", NOW)
    with pytest.raises(Conflict):
        feedback_record(ALICE, ticket(status="closed", status_category="closed", feedback=record), 4, "", NOW)
    with pytest.raises(NotAllowed):
        feedback_record(ORG_ADMIN, closed, 4, "", NOW)


def test_following_is_idempotent_and_recorded_as_a_change():
    followed, changes = with_follower(ticket(), "alice", True, NOW)
    assert followed.followers == ["alice"] and followed.version == 2
    assert changes == [Change("followers", [], ["alice"])]
    assert with_follower(followed, "alice", True, NOW) == (followed, [])
    unfollowed, _ = with_follower(followed, "alice", False, NOW)
    assert unfollowed.followers == []


# -- templates -------------------------------------------------------------------------------
def test_templates_name_only_known_placeholders():
    check_template("Hi {{ requester.name }}, ticket #{{ticket.number}} — {{ agent.name }}")
    for bad in ("{{ ticket.secret }}", "{{ 7*7 }}", "{{ ticket.__class__ }}", "{{ requester.name | upper }}", "{{}}"):
        with pytest.raises(ValidationFailed):
            check_template(bad)
    assert "ticket.number" in PLACEHOLDERS


def test_placeholders_are_data_never_code():
    values = {
        "ticket.number": "42",
        "requester.name": "{{ agent.name }}<img src=x onerror=alert(1)>",
        "agent.name": "Ann",
    }
    rendered = render_template("Hi {{ requester.name }}, about #{{ ticket.number }}. {{ agent.name }}", values)
    # The requester's name is inserted as text: not expanded again, not markup.
    assert rendered == "Hi {{ agent.name }}&lt;img src=x onerror=alert(1)&gt;, about #42. Ann"


# -- sentiment -------------------------------------------------------------------------------
def test_sentiment_of_a_comment_uses_the_offline_analyzer():
    assert sentiment.after_customer_comment(None, "Thank you so much, this is great!") == "positive"
    assert sentiment.after_customer_comment(None, "This is terrible and I am very angry.") == "negative"
    assert sentiment.after_customer_comment(None, "The printer is on the second floor.") == "neutral"


def test_sentiment_weighs_the_latest_comment_against_the_earlier_ones():
    # A mildly positive comment after negative ones does not flip the ticket at once...
    assert sentiment.after_customer_comment("negative", "it is fine I guess") == "negative"
    # ...a clearly positive one does.
    assert sentiment.after_customer_comment("negative", "Wonderful, it works perfectly now, thank you!") == "positive"


def test_the_analyzer_needs_no_network(monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("sentiment analysis must not open sockets")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    sentiment._analyzer.cache_clear()
    assert sentiment.label(sentiment.score("great")) == "positive"


def _words_vader_reads(monkeypatch, comment):
    analyzer = sentiment._analyzer()
    seen = []
    real = analyzer.polarity_scores

    def spy(text):
        seen.append(text)
        return real(text)

    monkeypatch.setattr(analyzer, "polarity_scores", spy)
    sentiment.score(comment)
    return len(seen[0].split())


@pytest.mark.parametrize("comment", ["😀" * 65_536, "<b>terrible</b> " * 8_000, "not bad but " * 6_000])
def test_vader_reads_a_bounded_tail_of_a_huge_comment(monkeypatch, comment):
    # VADER is quadratic in sentiment-laden words (64K emoji took minutes): the work is bounded by words.
    assert _words_vader_reads(monkeypatch, comment) <= sentiment.ANALYZED_WORDS


def test_sentiment_of_a_long_comment_is_read_from_its_end():
    assert sentiment.after_customer_comment(None, "Wonderful! " * 5_000 + "Broken again, terrible. " * 300) == "negative"
    assert sentiment.after_customer_comment(None, "😡 " * 2_000 + "😀 " * 300) == "positive"
