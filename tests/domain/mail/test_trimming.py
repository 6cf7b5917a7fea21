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
