"""Reading an inbound message: raw MIME bytes -> `ParsedInbound`, or one typed error.

`parse` raises only `MailTooLarge` (over 20 MB) and `MalformedMail` (anything it cannot read,
including input built to hurt the parser); everything else a sender can get wrong is tolerated
and decoded as well as it can be:
- headers: RFC 2047 words decoded with the charset fallback below, control characters removed
  from the subject and names; at most `MAX_HEADER_VALUE` characters of any value are read;
- addresses: From, To and Cc through `email.utils.getaddresses`, each address re-checked by
  `addresses.split_address` (an invalid one is dropped); at most `MAX_RECIPIENTS` kept,
  `recipient_count` counts them all;
- the body: the first text/plain part that is not an attachment, else the first text/html
  converted to text (blocks and line breaks kept, `<blockquote>` as `> ` lines so the trimmer
  sees quotes); quoted-printable and base64 decoded; the declared charset, else UTF-8, else
  Windows-1252 (a superset of ISO-8859-1's printable range, what browsers do for both);
  an unknown charset name falls back the same way;
- attachments: every other non-multipart part with a file name (or of a non-text type; an
  attached message/rfc822 is one such file, not more body parts),
  checked against the ticket attachment rules (`attachments.validate_attachment`: the
  allow-list, 500 KB, 5 per message); `application/octet-stream` takes the type of its
  extension (clients send it for CSV, HAR, ...); what fails is left out with a reason.

Bounds against hostile input, measured with the standard library's parser on 3.11 (see
docs/decisions.md): 2,000 nested multiparts overflow its recursion and 50,000 parts take 2 s
(16 s with policy.default), 200,000 header lines 1.2 s. So before parsing, a message is refused
with more than `MAX_CONTAINERS` `boundary=` parameters, `MAX_DELIMITERS` lines starting with
`--`, or a top-level header block over `MAX_HEADER_BYTES` or `MAX_HEADER_LINES`; parsing uses
the lenient compat32 policy (3-7x faster on these inputs) and this module decodes headers itself.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from email import message_from_bytes
from email.header import decode_header
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses
from html.parser import HTMLParser

from chalicelib.domain.attachments import ALLOWED_TYPES, MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS_PER_MESSAGE, validate_attachment
from chalicelib.domain.errors import MailTooLarge, MalformedMail, ValidationFailed
from chalicelib.domain.mail.addresses import normalize_address
from chalicelib.domain.mail.message_ids import parse_ids
from chalicelib.domain.mail.outbound import header_text
from chalicelib.domain.mail.parsed import Attachment, LeftOut, Mailbox, ParsedInbound
from chalicelib.domain.markup import sanitize

MAX_MESSAGE_BYTES = 20 * 1024 * 1024  # issue 10: "a message over 20 MB is refused"
MAX_HEADER_BYTES = 512 * 1024
MAX_HEADER_LINES = 5_000
MAX_CONTAINERS = 100
MAX_DELIMITERS = 10_000
MAX_DEPTH = 30
MAX_HEADER_VALUE = 64 * 1024  # characters of a header value read (a 10,000-address To fits ~3,000)
MAX_RECIPIENT_HEADER = 1024 * 1024  # characters of To/Cc read for counting
MAX_RECIPIENTS = 100
MAX_KEPT_HEADERS = 300
MAX_TEXT_CHARS = 1_000_000  # body text kept (a comment keeps 64K; the raw message stays in S3)
# HTML read: converting is ~3.5 s per MB of dense markup (<b>x</b> repeated), so 256K (~0.9 s)
MAX_HTML_CHARS = 256 * 1024
SUBJECT_MAX = 250
NAME_MAX = 120
FALLBACK_CHARSETS = ("utf-8", "windows-1252")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_BOUNDARY = re.compile(rb"boundary\s*=", re.IGNORECASE)
_DELIMITER = re.compile(rb"\n--")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9 ._()-]+")


def parse(raw: bytes) -> ParsedInbound:
    """The message's headers, text, HTML and attachments (see the module docstring)."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MailTooLarge(f"the message is {len(raw)} bytes; at most {MAX_MESSAGE_BYTES} are accepted")
    _check_shape(raw)
    try:
        message = message_from_bytes(raw, policy=compat32)
        return _read(message)
    except (MailTooLarge, MalformedMail):
        raise
    except (RecursionError, MemoryError) as exc:
        raise MalformedMail("the message's structure is too deep or too large") from exc
    except Exception as exc:  # the parser's lenient mode can still trip on pathological input
        raise MalformedMail(f"unreadable MIME ({type(exc).__name__})") from exc


def _check_shape(raw: bytes) -> None:
    end = _HEADER_END.search(raw, 0, MAX_HEADER_BYTES + 4)
    header_block = raw[: end.start()] if end else raw[: MAX_HEADER_BYTES + 1]
    if not raw.strip():
        raise MalformedMail("the message is empty")
    if len(header_block) > MAX_HEADER_BYTES or header_block.count(b"\n") > MAX_HEADER_LINES:
        raise MalformedMail("the message's header is too large")
    if len(_BOUNDARY.findall(raw)) > MAX_CONTAINERS:
        raise MalformedMail("the message has too many multipart containers")
    if sum(1 for _ in _DELIMITER.finditer(raw)) > MAX_DELIMITERS:
        raise MalformedMail("the message has too many parts")


def _read(message: Message) -> ParsedInbound:
    raw: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        raw.setdefault(str(name).strip().lower(), []).append(str(value))

    def first(name: str) -> str | None:
        values = raw.get(name)
        return values[0][:MAX_HEADER_VALUE] if values else None

    recipients: list[Mailbox] = []
    count = 0
    groups: dict[str, list[Mailbox]] = {"to": [], "cc": []}
    for name in ("to", "cc"):
        for box in _mailboxes(raw.get(name, []), limit=MAX_RECIPIENT_HEADER):
            count += 1
            if len(recipients) < MAX_RECIPIENTS:
                recipients.append(box)
                groups[name].append(box)
    senders = list(_mailboxes(raw.get("from", []), limit=MAX_HEADER_VALUE))
    return_path = first("return-path")
    text, html, attachments, left_out = _body(message)
    message_ids = parse_ids(first("message-id"), limit=1)
    return ParsedInbound(
        message_id=message_ids[0] if message_ids else None,
        in_reply_to=tuple(parse_ids(first("in-reply-to"))),
        references=tuple(parse_ids(first("references"))),
        subject=header_text(decode_words(first("subject")), SUBJECT_MAX),
        sender=senders[0] if senders else Mailbox("", ""),
        return_path=None if return_path is None else return_path.strip(),
        to=tuple(groups["to"]),
        cc=tuple(groups["cc"]),
        recipient_count=count,
        content_type=message.get_content_type().lower(),
        headers=_headers(message.raw_items()),
        text=text,
        html=html,
        attachments=tuple(attachments),
        left_out=tuple(left_out),
    )


def _headers(items: Iterable[tuple[str, object]]) -> dict[str, tuple[str, ...]]:
    kept: dict[str, list[str]] = {}
    for index, (name, value) in enumerate(items):
        if index >= MAX_KEPT_HEADERS:
            break
        kept.setdefault(str(name).strip().lower(), []).append(header_text(decode_words(value), 8_192))
    return {name: tuple(values) for name, values in kept.items()}


def decode_words(value: object, limit: int = MAX_HEADER_VALUE) -> str:
    """A header value with its RFC 2047 encoded words decoded; never raises. Raw 8-bit bytes
    (RFC 6532 UTF-8 headers, or legacy Latin-1 ones) are decoded like a body without a charset."""
    if value is None:
        return ""
    text = str(value)[:limit]
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        text = decode_bytes(text.encode("ascii", "surrogateescape"), None)
    try:
        words = decode_header(text)
    except Exception:  # a malformed encoded word: keep the text as written
        return text
    # white space between two encoded words is dropped (RFC 2047 6.2); plain runs keep theirs
    return "".join(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk for chunk, charset in words)


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text of `data` in its declared charset, else UTF-8, else Windows-1252; never raises."""
    names = [charset.strip().strip('"').lower()] if charset else []
    for name in [*names, *FALLBACK_CHARSETS]:
        if name in ("iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii"):
            name = "windows-1252"  # WHATWG: these labels mean windows-1252; it decodes every byte sent as them
        try:
            codec = codecs.lookup(name)
        except (LookupError, ValueError):
            continue
        if codec.name in ("utf-7",):  # decodes "+..." silently into other text; never trust it
            continue
        try:
            return data.decode(codec.name)
        except (UnicodeDecodeError, ValueError):
            continue
    return data.decode("windows-1252", errors="replace")


def _mailboxes(values: Sequence[object], limit: int) -> Iterator[Mailbox]:
    text = ", ".join(str(v) for v in values)[:limit]
    for name, address in getaddresses([text]):
        normalized = normalize_address(address)
        if normalized:
            yield Mailbox(header_text(decode_words(name), NAME_MAX), normalized)


# -- body and attachments -------------------------------------------------------------------
def _leaves(message: Message) -> Iterator[Message]:
    stack: list[tuple[Message, int]] = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        # an attached message is one file (left out: .eml is not allowed), not more body parts
        if part.is_multipart() and part.get_content_type().lower() != "message/rfc822":
            if depth >= MAX_DEPTH:
                raise MalformedMail("the message is nested too deeply")
            payload = part.get_payload()
            children = payload if isinstance(payload, list) else []
            stack.extend((child, depth + 1) for child in reversed(children) if isinstance(child, Message))
        else:
            yield part


def _body(message: Message) -> tuple[str, str | None, list[Attachment], list[LeftOut]]:
    plain: str | None = None
    html: str | None = None
    attachments: list[Attachment] = []
    left_out: list[LeftOut] = []
    for part in _leaves(message):
        content_type = part.get_content_type().lower()
        filename = part.get_filename()
        disposition = (part.get("content-disposition") or "").split(";", 1)[0].strip().lower()
        is_file = disposition == "attachment" or filename is not None or not content_type.startswith("text/")
        if not is_file and content_type == "text/plain" and plain is None:
            plain = _text_of(part)
            continue
        if not is_file and content_type == "text/html" and html is None:
            html = _text_of(part)
            continue
        if not is_file:
            continue
        _attachment(part, content_type, filename, attachments, left_out)
    clean_html = sanitize(html[:MAX_HTML_CHARS]) if html is not None else None
    text = plain if plain is not None else (html_to_text(clean_html) if clean_html is not None else "")
    return _normalize_text(text)[:MAX_TEXT_CHARS], clean_html, attachments, left_out


def _text_of(part: Message) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    return decode_bytes(data[: MAX_TEXT_CHARS * 4], part.get_content_charset())


def _normalize_text(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def _attachment(
    part: Message, content_type: str, filename: str | None, attachments: list[Attachment], left_out: list[LeftOut]
) -> None:
    if content_type == "message/rfc822":
        inner = part.get_payload()
        payload = inner[0].as_bytes() if isinstance(inner, list) and inner and isinstance(inner[0], Message) else b""
        filename = filename or "forwarded.eml"
    else:
        data = part.get_payload(decode=True)
        payload = data if isinstance(data, bytes) else b""
    name = safe_filename(decode_words(filename) if filename else "")
    if content_type == "application/octet-stream":
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if extension in ALLOWED_TYPES:
            content_type = sorted(ALLOWED_TYPES[extension])[0]
    if not payload:
        left_out.append(LeftOut(name, content_type, 0, "empty"))
        return
    try:
        validate_attachment(name, content_type, len(payload))
    except ValidationFailed as exc:
        fields = {error.field for error in exc.errors}
        reason = "too_large" if fields == {"size"} and len(payload) > MAX_ATTACHMENT_BYTES else "type_not_allowed"
        left_out.append(LeftOut(name, content_type, len(payload), reason))
        return
    if len(attachments) >= MAX_ATTACHMENTS_PER_MESSAGE:
        left_out.append(LeftOut(name, content_type, len(payload), "too_many"))
        return
    attachments.append(Attachment(name, content_type, payload))


def safe_filename(name: str) -> str:
    """A file name in the attachment alphabet: the last path segment, accents folded, unsafe
    characters replaced, at most 200 characters keeping the extension; "attachment" for a stem
    with nothing left."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    ascii_name = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    stem, dot, extension = ascii_name.rpartition(".")
    if not dot or not extension.isalnum() or len(extension) > 10:
        stem, extension = ascii_name, ""
    stem = re.sub(r"\.{2,}", ".", _UNSAFE_NAME.sub("_", stem)).strip(" ._-") or "attachment"
    suffix = f".{extension}" if extension else ""
    return stem[: 200 - len(suffix)].rstrip(" ._-") + suffix


# -- HTML to text ---------------------------------------------------------------------------
_BLOCKS = frozenset({"div", "br", "li", "tr", "pre", "table", "ul", "ol", "dl", "dt", "dd"})
_PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "blockquote"})  # a blank line after


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.depth = 0  # blockquote nesting

    def _break(self, blank: bool = False) -> None:
        line = " ".join("".join(self.current).split())
        prefix = "> " * self.depth
        if line:
            self.lines.append(prefix + line)
        if blank and self.lines and self.lines[-1].strip("> "):
            self.lines.append(prefix.rstrip())
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS or tag in _PARAGRAPHS:
            self._break(blank=tag in _PARAGRAPHS)
        if tag == "blockquote":
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS or tag in _PARAGRAPHS:
            self._break(blank=tag in _PARAGRAPHS)
        if tag == "blockquote":
            self.depth = max(0, self.depth - 1)

    def handle_data(self, data: str) -> None:
        self.current.append(data.replace("\xa0", " "))


def html_to_text(html: str) -> str:
    """The text of sanitized HTML: one line per block, a blank line after paragraphs, `> ` per
    blockquote level (so quoted history looks as it does in a text/plain reply)."""
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    parser._break()
    lines = parser.lines
    while lines and not lines[-1].strip("> "):
        lines.pop()
    return "\n".join(lines).strip("\n")
