"""The quoted-reply corpus (tests/fixtures/mail/replies, see its README) and how a trimmer scores
on it. `python -m tests.domain.mail.reply_corpus` prints the table in docs/decisions.md."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chalicelib.domain.mail.inbound import html_to_text, parse
from chalicelib.domain.markup import sanitize

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "mail" / "replies"


@dataclass(frozen=True)
class Case:
    name: str
    text: str  # the body as the inbound parser gives it
    expected: str


def cases() -> list[Case]:
    out = []
    for expected_file in sorted(CORPUS.glob("*.expected.txt")):
        name = expected_file.name.removesuffix(".expected.txt")
        out.append(Case(name, body_of(name), expected_file.read_text(encoding="utf-8")))
    return out


def body_of(name: str) -> str:
    eml, html, txt = (CORPUS / f"{name}.{ext}" for ext in ("eml", "html", "txt"))
    if eml.exists():
        return parse(eml.read_bytes()).text
    if html.exists():
        return html_to_text(sanitize(html.read_text(encoding="utf-8")))
    return txt.read_text(encoding="utf-8")


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def verdict(got: str, expected: str) -> str:
    """exact | over (part of the new text lost) | under (quoted text kept) | wrong.
    White space is not compared (clients differ in blank lines and trailing spaces)."""
    g, e = _norm(got), _norm(expected)
    if g == e:
        return "exact"
    if e.startswith(g) or (g in e):
        return "over"
    if e in g:
        return "under"
    return "wrong"


def score(trim: Callable[[str], str]) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {"exact": [], "over": [], "under": [], "wrong": []}
    for case in cases():
        try:
            got = trim(case.text)
        except Exception:  # a library crashing on a case counts against it
            got = ""
        table[verdict(got, case.expected)].append(case.name)
    return table


def _candidates() -> dict[str, Callable[[str], str]]:
    """Every candidate that is installed (the others: `.venv/bin/pip install quotequail==0.5.4
    email-reply-parser==0.5.12`; only mail-parser-reply is a dependency)."""
    from mailparser_reply import EmailReplyParser

    from chalicelib.domain.mail import trimming

    languages = trimming.LANGUAGES

    def mpr_content(text: str) -> str:
        replies = EmailReplyParser(languages=languages).read(text).replies
        return str(replies[0].content) if replies else text

    def mpr_body(text: str) -> str:
        return str(EmailReplyParser(languages=languages).parse_reply(text=text))

    found: dict[str, Callable[[str], str]] = {}
    try:
        import quotequail

        def qq(text: str) -> str:
            unwrapped = quotequail.unwrap(text)
            return str(unwrapped.get("text_top", "")) if unwrapped else text

        found["quotequail 0.5.4 (unwrap)"] = qq
    except ImportError:
        pass
    found["mail-parser-reply 1.36 (first reply, content)"] = mpr_content
    found["mail-parser-reply 1.36 (parse_reply, body)"] = mpr_body
    try:
        import email_reply_parser

        found["email-reply-parser 0.5.12"] = email_reply_parser.EmailReplyParser.parse_reply
    except ImportError:
        pass
    found["ours: trimming.new_text (mail-parser-reply + fallbacks)"] = trimming.new_text
    return found


if __name__ == "__main__":
    total = len(cases())
    print(f"| library | exact | over-trimmed | under-trimmed | wrong | (of {total}) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, trim in _candidates().items():
        table = score(trim)
        print(f"| {label} | " + " | ".join(str(len(table[k])) for k in ("exact", "over", "under", "wrong")) + " | |")
        for kind in ("over", "under", "wrong"):
            if table[kind]:
                print(f"  {kind}: {', '.join(table[kind])}")
