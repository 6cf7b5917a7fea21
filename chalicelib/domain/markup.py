"""Safe rich text: what comments, notes and ticket descriptions may contain once stored."""

from __future__ import annotations

import functools
import re

import nh3

# "Simple formatting" (seed 002): text structure, links and images, no styles, no forms,
# no SVG/MathML, no event handlers; URLs only http(s)/mailto (no javascript:, data:).
_ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol",
        "p", "pre", "q", "s", "small", "span", "strike", "strong", "sub", "sup", "table",
        "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan", "scope"}),
    "ol": frozenset({"start"}),
}
_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_CLEANER = nh3.Cleaner(
    tags=set(_ALLOWED_TAGS),
    attributes={tag: set(names) for tag, names in _ALLOWED_ATTRIBUTES.items()},
    url_schemes=set(_URL_SCHEMES),
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)
_GAP = r"[\x00-\x20]*"  # browsers drop tabs/newlines inside a URL scheme


def _scheme(word: str, after: str = "") -> re.Pattern[str]:
    return re.compile(_GAP.join(re.escape(ch) for ch in word) + _GAP + ":" + after, re.IGNORECASE)


# Dangerous schemes left in *text* (Markdown link destinations, reference links, bare
# URLs) are defused by replacing their colon. `data:` only when a media type follows, so
# prose such as "the data: below" is untouched.
_TEXT_SCHEMES = (
    _scheme("javascript"),
    _scheme("vbscript"),
    _scheme("livescript"),
    _scheme("data", r"(?=\s*[a-z0-9.+-]+/)"),
)
_SAFE_COLON = "\uff1a"  # FULLWIDTH COLON: reads as a colon, is no URL scheme separator


def sanitize(text: str) -> str:
    """HTML/Markdown safe to store and render: nh3 (ammonia) allow-list, then text schemes defused.

    nh3 decodes character references in text (`&#58;`, `&colon;`, `&#x09;`) before it
    serializes, so the scheme check sees what a browser or Markdown renderer would.
    """
    cleaned = _CLEANER.clean(text)
    for pattern in _TEXT_SCHEMES:
        cleaned = pattern.sub(lambda m: m.group(0)[:-1] + _SAFE_COLON, cleaned)
    return cleaned


# Mail (issue 10): the same allow-list without images, so a message loads nothing remote when
# opened (tracking pixels, mixed content); links stay, they load only when clicked. Built on
# first use: only the mail functions need it, not every route that imports this module.
@functools.cache
def _mail_cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(_ALLOWED_TAGS - {"img"}),
        attributes={tag: set(names) for tag, names in _ALLOWED_ATTRIBUTES.items() if tag != "img"},
        url_schemes=set(_URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def sanitize_for_mail(text: str) -> str:
    """`sanitize`, then without images or anything else that loads remote content."""
    return _mail_cleaner().clean(sanitize(text))
