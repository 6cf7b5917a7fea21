"""Sentiment of a ticket from its latest customer comments (seed 004), offline.

VADER (vaderSentiment) is a lexicon and rule-based analyzer whose lexicon ships inside the
package: no network and no model download, at import or at run time. The analyzer is built
on first use (it reads its lexicon file once per container), never at import.

VADER's idiom and negation checks rebuild the lowercased word list for every sentiment-laden
word, so its cost is quadratic in words: 1,000 emoji (each expands to a description such as
"grinning face") took 0.9 s, 4,000 took 14 s, and a 32 KB comment 86 s. So VADER only ever sees
the normalized tail of a comment: its last ANALYZED_WORDS words once emoji are expanded and
whitespace collapsed. The end of a comment is where its mood usually is ("... still broken").
"""

from __future__ import annotations

import functools
from typing import Any

from chalicelib.domain.bodies import plain_text

# VADER's documented thresholds on the compound score.
POSITIVE_AT = 0.05
NEGATIVE_AT = -0.05
# The previous label stands for the earlier customer comments; the latest one weighs more.
LATEST_WEIGHT = 0.6
_LABEL_SCORE = {"positive": 0.5, "neutral": 0.0, "negative": -0.5}
# 250 words cost VADER about 15 ms at worst (bench: 64K emoji); a reply is rarely longer.
ANALYZED_WORDS = 250
# Enough characters for ANALYZED_WORDS words, read from the end before any per-character work.
_TAIL_CHARS = ANALYZED_WORDS * 32


@functools.cache
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

    return SentimentIntensityAnalyzer()


def score(text: str) -> float:
    """VADER's compound score of a (sanitized HTML) comment, from -1 to 1, from its analyzed tail."""
    return float(_analyzer().polarity_scores(analyzed_text(text))["compound"])


def analyzed_text(text: str) -> str:
    """What VADER reads of a comment: the last ANALYZED_WORDS words of its plain text, emoji
    replaced by VADER's own descriptions of them (as VADER would), whitespace collapsed. Linear."""
    tail = plain_text(text)[-_TAIL_CHARS:]
    emojis = _analyzer().emojis
    expanded = "".join(f" {emojis[ch]} " if ch in emojis else ch for ch in tail)
    return " ".join(expanded.split()[-ANALYZED_WORDS:])


def label(compound: float) -> str:
    if compound >= POSITIVE_AT:
        return "positive"
    if compound <= NEGATIVE_AT:
        return "negative"
    return "neutral"


def after_customer_comment(previous: str | None, text: str) -> str:
    """The ticket's sentiment after a customer comment: the latest comment, weighted with the
    sentiment of the ones before it (a moving average kept as the label, so updating it
    needs no read of earlier comments)."""
    latest = score(text)
    if previous is None:
        return label(latest)
    return label(LATEST_WEIGHT * latest + (1 - LATEST_WEIGHT) * _LABEL_SCORE.get(previous, 0.0))
