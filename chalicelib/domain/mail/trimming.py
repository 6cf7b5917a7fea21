"""Quoted-reply trimming: only the new text of an inbound reply becomes the comment.

The library is mail-parser-reply (pure Python, no dependencies; chosen by measurement on the
corpus in tests/fixtures/mail/replies, docs/decisions.md "Email channel: the pure core"):
its first reply's content, so signatures stay (what the person sent, minus the history).
Three fallbacks cover what it missed on the corpus, each applied to its output:
- a trailing separator line (`____`, `-----`) it leaves above an Outlook header block is dropped;
- a header block in a language it does not know (Russian `От:`/`Отправлено:`/`Кому:`, ...) is cut;
- an attribution line ending in `:` (any language, wrapped over up to three lines) followed by
  nothing but `>` quoted lines to the end is cut; when the quote comes first and the new text
  after it (bottom posting, Thunderbird), the text after the quote is the reply.
The result is never empty: when trimming would leave nothing, the whole text is kept (a
comment with history beats a lost one). Only the first `MAX_TRIM_CHARS` are examined: the
library's regular expressions are not linear on long lines, and a comment keeps 64K anyway.
"""

from __future__ import annotations

import re

from mailparser_reply import EmailReplyParser  # type: ignore[import-untyped]

LANGUAGES = ["en", "de", "fr", "es", "it", "nl"]
MAX_TRIM_CHARS = 100_000
_SEPARATOR = re.compile(r"^\s*(_{8,}|-{5,}[^\n]*)\s*$")
_FOREIGN_HEADER = re.compile(r"^\s*\*?(От|Отправлено|Кому|Тема|Дата|De|Para|Enviado|Assunto|Data)\s*:\*?\s", re.IGNORECASE)
_QUOTED = re.compile(r"^\s*>")
_ATTRIBUTION_PART = re.compile(r"\d|@")
_ENDS_SENTENCE = re.compile(r"[.!?]\s*$")
# The library is quadratic (worse, measured: 8,000 blank lines took 24 s) in runs of lines holding
# nothing but whitespace; one empty line says the same, so each run becomes one before it reads them.
_BLANK_RUN = re.compile(r"\n(?:[^\S\n]*\n)+")


def new_text(text: str) -> str:
    """The new text of a reply (see the module docstring); never empty for a non-empty text."""
    head = _BLANK_RUN.sub("\n\n", text[:MAX_TRIM_CHARS].replace("\r\n", "\n"))
    replies = EmailReplyParser(languages=LANGUAGES).read(head).replies
    trimmed = str(replies[0].content) if replies else head
    lines = trimmed.split("\n")
    lines = _cut_foreign_headers(lines)
    lines = _cut_quote_block(lines)
    while lines and (not lines[-1].strip() or _SEPARATOR.match(lines[-1])):
        lines.pop()
    result = "\n".join(lines).strip("\n")
    return result if result.strip() else text.strip()


def _cut_foreign_headers(lines: list[str]) -> list[str]:
    for index in range(len(lines) - 1):
        if index and _FOREIGN_HEADER.match(lines[index]) and _FOREIGN_HEADER.match(lines[index + 1]):
            return lines[:index]
    return lines


def _cut_quote_block(lines: list[str]) -> list[str]:
    quoted = [i for i, line in enumerate(lines) if _QUOTED.match(line)]
    if not quoted:
        return lines
    first, last = quoted[0], quoted[-1]
    contiguous = all(_QUOTED.match(line) or not line.strip() for line in lines[first : last + 1])
    if not contiguous:
        return lines  # replies written between quoted lines (inline answers): keep it all
    start = _attribution_start(lines, first)
    after = lines[last + 1 :]
    if any(line.strip() for line in after):
        before = [line for line in lines[:start] if line.strip()]
        return after if not before else lines  # bottom posting, or quotes in the middle: keep
    return lines[:start]


def _attribution_start(lines: list[str], first_quote: int) -> int:
    """Where the attribution ("On ... wrote:", "... написал:") above a quote starts, if any."""
    index = first_quote - 1
    while index >= 0 and not lines[index].strip():
        index -= 1
    if index < 0 or not lines[index].rstrip().endswith(":"):
        return first_quote
    # a wrapped attribution: lines above it that carry a date or an address and end mid-sentence
    start = index
    while start > 0 and index - start < 2 and _continues_attribution(lines[start - 1]):
        start -= 1
    return start


def _continues_attribution(line: str) -> bool:
    return bool(_ATTRIBUTION_PART.search(line)) and not _ENDS_SENTENCE.search(line)
