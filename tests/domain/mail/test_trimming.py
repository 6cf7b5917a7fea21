"""Quoted-reply trimming (chalicelib/domain/mail/trimming.py) and the reply corpus."""

from __future__ import annotations

import pytest

from chalicelib.domain.mail.trimming import new_text
from tests.domain.mail.reply_corpus import cases, score, verdict

CORPUS = cases()


def test_the_corpus_covers_the_clients_and_languages_we_promise():
    names = " ".join(case.name for case in CORPUS)
    for client in ("gmail", "outlook", "apple_mail", "iphone", "android", "yahoo", "aol", "thunderbird", "hotmail"):
        assert client in names
    for language in ("german", "french"):
        assert language in names
    assert len(CORPUS) >= 30


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_each_reply_in_the_corpus_keeps_exactly_the_new_text(case):
    assert verdict(new_text(case.text), case.expected) == "exact", new_text(case.text)


def test_the_whole_corpus_scores_exact():
    table = score(new_text)
    assert table["over"] == table["under"] == table["wrong"] == []


def test_inline_answers_between_quotes_are_kept_whole():
    text = "On Mon, Ann <ann@x.example> wrote:\n> Which printer?\nThe one on floor 2.\n> Since when?\nMonday."
    assert new_text(text) == text


def test_bottom_posted_reply_keeps_the_text_after_the_quote():
    assert new_text("On 04/02/2012 06:26 PM, Megan wrote:\n> Hi\n> there\n\nHello back") == "Hello back"


def test_a_reply_that_is_only_quotes_is_kept_rather_than_lost():
    text = "On Mon, Ann <ann@x.example> wrote:\n> Which printer?"
    assert new_text(text) == text


def test_a_colon_line_in_the_new_text_is_not_taken_for_an_attribution():
    text = (
        "Steps to reproduce:\n\n1. open the app\n2. click print\n\n"
        "On Mon, 1 Dec 2026, Bob <bob@helpdesk.local> wrote:\n> Can you describe it?"
    )
    assert new_text(text) == "Steps to reproduce:\n\n1. open the app\n2. click print"


def test_an_outlook_separator_left_above_the_header_is_dropped():
    text = "Thanks!\n" + "_" * 32 + "\nFrom: Bob <bob@helpdesk.local>\nSent: Monday\nTo: Ann\nSubject: Re: x\n\nold"
    assert new_text(text) == "Thanks!"


def test_a_russian_header_block_is_cut():
    text = "Спасибо!\nОт: Боб\nОтправлено: 26 июня 2014 г.\nКому: Анна\nстарый текст"
    assert new_text(text) == "Спасибо!"


def test_a_long_single_line_reply_is_bounded():
    assert len(new_text("word " * 1_000_000)) <= 100_000


def test_a_reply_padded_with_blank_lines_is_trimmed_without_handing_the_padding_to_the_library(monkeypatch):
    # The library is quadratic in runs of whitespace-only lines (8,000 took 24 s): an attacker's
    # padding must reach it as single blank lines, and the reply must still be trimmed.
    from mailparser_reply import EmailReplyParser

    seen: list[str] = []
    original = EmailReplyParser.read

    def recording_read(self, text, *args, **kwargs):
        seen.append(text)
        return original(self, text, *args, **kwargs)

    monkeypatch.setattr(EmailReplyParser, "read", recording_read)
    padding = " \n" * 3_000
    text = f"Thanks, that fixed it.\n{padding}\nOn Mon, Jan 5, 2026 at 10:00 AM Ann <ann@example.com> wrote:\n> old text\n"
    assert new_text(text) == "Thanks, that fixed it."
    assert "\n\n\n" not in seen[0]
