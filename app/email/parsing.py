"""RFC 5322 / MIME parsing: a raw message in, what the desk needs out. No database here.

Bodies come from text/plain, else text/html reduced to text; any declared charset is
decoded (an unknown or lying one falls back to UTF-8 with replacement, never an error).
Parts with a file name, or marked `attachment`, are attachments.

Parsing is bounded (issue 12): the size is checked before anything is parsed, and every
header field is checked against `MailLimits` as the parser reads it, before the standard
library decodes it. The cause being guarded against is in
`email._header_value_parser.get_encoded_word`: each RFC 2047 encoded word keeps a copy of
the whole rest of the header (`ew.cte = value`) in the parse tree, so memory grows with the
square of the number of encoded words (20,000 words in a 280 KB Subject: 1.5 GiB). MIME
nesting is bounded too (the parser and `walk()` recurse once per level). A mail over a
limit comes back with `refusal` set and only its few routing headers read, so it can be
answered politely; nothing in here raises for anything a sender can write."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import html
import re
import weakref
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import Any

import anyio
import anyio.to_thread

from app.kit.inputs import storable

# `[#123]` anywhere in the subject threads the mail into ticket 123.
TICKET_TAG = re.compile(r"\[#(\d{1,9})\]")
_REPLY_PREFIX = re.compile(
    r"^\s*((re|fw|fwd|aw|sv|wg|ответ|отв|пересл)\s*(\[\d+\])?\s*:\s*)+", re.I
)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_LOOP_SENDERS = ("mailer-daemon", "postmaster")
_CONTAINER = re.compile(r"\s*(multipart|message)/", re.I)
# The headers read from a refused mail: enough to answer it and to recognise automation.
_SALVAGED = frozenset(
    {"from", "subject", "message-id", "in-reply-to", "references", "to", "cc",
     "delivered-to", "x-original-to", "auto-submitted", "precedence", "x-autoreply",
     "x-autorespond", "x-auto-response-suppress", "content-language"}
)  # fmt: skip
# RFC 3834 §3.1.5 suggests "Auto:" for an automatic response's subject; mail clients'
# out-of-office answers that carry no Auto-Submitted use their own words.
_AUTO_SUBJECT = re.compile(
    r"^\s*(autoreply|auto-reply|automatic reply|out of office|out of the office"
    r"|abwesenheitsnotiz|автоответ|автоматический ответ|нет на месте)\b\s*[:：]",
    re.I,
)
_BULK = frozenset({"bulk", "list", "junk", "auto_reply"})
# X-Auto-Response-Suppress (Microsoft): the sender asks that these not be answered.
_SUPPRESS_ANSWERS = frozenset({"all", "oof", "autoreply"})


@dataclass(frozen=True, slots=True)
class MailLimits:
    """What one inbound mail may contain (settings `CREDITDESK_EMAIL_MAX_*`)."""

    max_bytes: int = 10_485_760
    max_headers: int = 1_000  # header fields in the whole mail, all MIME parts together
    max_header_bytes: int = 32_768  # one header field, folded lines included
    max_encoded_words: int = 200  # RFC 2047 encoded words in one header field
    max_mime_depth: int = 20  # nesting of multipart/message parts
    max_mime_parts: int = 200


class MailOverLimit(ValueError):
    """Raised inside the parser when a mail goes over a `MailLimits` bound."""


class _BoundedPolicy(EmailPolicy):
    """`policy.default` that checks each header field as the parser reads it (before any
    decoding) and counts MIME containers. One instance per parse: it carries the counts."""

    limits: Any = None
    counts: Any = None

    def header_source_parse(self, sourcelines: list[str]) -> tuple[str, str]:
        counts, limits = self.counts, self.limits
        counts["headers"] += 1
        if counts["headers"] > limits.max_headers:
            raise MailOverLimit(f"it has more than {limits.max_headers} header fields")
        size = sum(len(line) for line in sourcelines)
        name = sourcelines[0].split(":", 1)[0].strip()[:80]
        if size > limits.max_header_bytes:
            raise MailOverLimit(
                f"the {name} header is {size} bytes (at most {limits.max_header_bytes})"
            )
        words = _encoded_words("".join(sourcelines))
        if words > limits.max_encoded_words:
            raise MailOverLimit(
                f"the {name} header has {words} encoded words (at most {limits.max_encoded_words})"
            )
        parsed: tuple[str, str] = super().header_source_parse(sourcelines)
        if parsed[0].lower() == "content-type" and _CONTAINER.match(parsed[1]):
            counts["containers"] += 1
            if counts["containers"] >= limits.max_mime_parts:
                raise MailOverLimit(f"it has more than {limits.max_mime_parts} MIME parts")
        return parsed


def _encoded_words(value: str) -> int:
    """Every `=?` is where the header parser tries an encoded word: counting them bounds
    its work whatever the folding or the validity of the words."""
    return value.count("=?")


def _bounded_policy(limits: MailLimits) -> _BoundedPolicy:
    counts = {"headers": 0, "containers": 0}
    return _BoundedPolicy(limits=limits, counts=counts)  # type: ignore[call-overload]


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(slots=True)
class ParsedMail:
    sender: str
    subject: str
    body: str
    message_id: str | None
    dedupe_key: str
    references: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    automated: bool = False  # a robot's mail: neither answered nor made a ticket
    no_auto_answers: bool = False  # X-Auto-Response-Suppress asks for no automatic answers
    size: int = 0
    refusal: str | None = None  # why the mail is over a limit (then nothing else is read)
    language: str | None = None  # its Content-Language (RFC 3282), for an unknown sender's answer

    @property
    def ticket_number(self) -> int | None:
        found = TICKET_TAG.search(self.subject)
        return int(found.group(1)) if found else None

    @property
    def topic(self) -> str:
        """The subject without reply prefixes and ticket tags: what a new ticket is called."""
        return _REPLY_PREFIX.sub("", TICKET_TAG.sub(" ", self.subject)).strip()


_limiters: weakref.WeakKeyDictionary[Any, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()


async def parse_off_loop(
    raw: bytes, *, envelope_sender: str | None, limits: MailLimits, concurrency: int
) -> ParsedMail:
    """`parse` in a worker thread, at most `concurrency` at once per event loop, so a
    large mail neither blocks the loop nor multiplies its memory by the number of senders."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None or limiter.total_tokens != concurrency:
        limiter = _limiters[loop] = anyio.CapacityLimiter(concurrency)
    return await anyio.to_thread.run_sync(
        functools.partial(parse, raw, envelope_sender=envelope_sender, limits=limits),
        limiter=limiter,
    )


def normalise_address(value: str) -> str:
    return parseaddr(value)[1].strip().lower()


def parse(
    raw: bytes, *, envelope_sender: str | None = None, limits: MailLimits | None = None
) -> ParsedMail:
    """The mail, or (with `refusal` set) what can be read safely of a mail over a limit."""
    limits = limits or MailLimits()
    if len(raw) > limits.max_bytes:
        return _refused(
            raw, envelope_sender, limits,
            f"the message is {len(raw)} bytes (at most {limits.max_bytes})",
        )  # fmt: skip
    try:
        message = BytesParser(policy=_bounded_policy(limits)).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        depth = _depth(message)
        if depth > limits.max_mime_depth:
            raise MailOverLimit(
                f"its MIME parts are nested {depth} deep (at most {limits.max_mime_depth})"
            )
        return _read(message, raw, envelope_sender)
    except MailOverLimit as exc:
        return _refused(raw, envelope_sender, limits, str(exc))
    except Exception as exc:  # whatever the stdlib trips on is answered by mail
        return _refused(
            raw, envelope_sender, limits, f"it could not be read ({type(exc).__name__})"
        )


def _depth(message: Message) -> int:
    """How deep MIME parts nest, without recursion."""
    deepest = 0
    stack: list[tuple[Message, int]] = [(message, 0)]
    while stack:
        part, level = stack.pop()
        deepest = max(deepest, level)
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack.extend((child, level + 1) for child in payload if isinstance(child, Message))
    return deepest


def _refused(raw: bytes, envelope_sender: str | None, limits: MailLimits, why: str) -> ParsedMail:
    """A mail over a limit: only a few routing headers of its top-level header block, each
    within the limits, are read, so the refusal can be addressed; its body is not read."""
    fields: list[bytes] = []
    seen: set[bytes] = set()
    end = raw.find(b"\n\n")
    crlf = raw.find(b"\r\n\r\n")
    cut = min(x for x in (end, crlf, len(raw)) if x >= 0)
    block = raw[: min(cut, limits.max_headers * 1024)]
    current: list[bytes] = []
    for line in [*block.splitlines(), b""]:
        if line[:1] in (b" ", b"\t") and current:
            current.append(line)
            continue
        if current:
            name = current[0].split(b":", 1)[0].strip().lower()
            value = b"\r\n".join(current)
            if (
                name.decode("ascii", "replace") in _SALVAGED
                and name not in seen
                and len(value) <= limits.max_header_bytes
                and _encoded_words(value.decode("latin-1")) <= limits.max_encoded_words
            ):
                seen.add(name)
                fields.append(value)
        current = [line] if b":" in line else []
    try:
        head = BytesParser(policy=_bounded_policy(limits)).parsebytes(
            b"\r\n".join(fields) + b"\r\n\r\n"
        )
        assert isinstance(head, EmailMessage)
        mail = _read(head, raw, envelope_sender, body=False)
    except Exception:  # nothing readable: answer the envelope sender, if any
        sender = normalise_address(envelope_sender or "")
        mail = ParsedMail(
            sender=sender, subject="", body="", message_id=None,
            dedupe_key=hashlib.sha256(raw).hexdigest(), automated=not sender, size=len(raw),
        )  # fmt: skip
    mail.refusal = why
    mail.body, mail.attachments = "", []
    return mail


def _read(
    message: EmailMessage, raw: bytes, envelope_sender: str | None, *, body: bool = True
) -> ParsedMail:
    sender = normalise_address(_header(message, "From")) or normalise_address(envelope_sender or "")
    message_id = _first_id(_header(message, "Message-ID"))
    references = _MESSAGE_ID.findall(storable(_header(message, "In-Reply-To")))
    references += _MESSAGE_ID.findall(storable(_header(message, "References")))
    recipients = [
        storable(a.lower())
        for _, a in getaddresses(
            [_header(message, h) for h in ("Delivered-To", "X-Original-To", "To", "Cc")]
        )
        if a
    ]
    plain, rich, attachments = _walk(message) if body else ("", "", [])
    text = plain if plain.strip() else html_to_text(rich)
    return ParsedMail(
        sender=storable(sender),
        subject=storable(" ".join(_header(message, "Subject").split())),
        body=storable(text.strip()),
        message_id=message_id,
        dedupe_key=hashlib.sha256(f"mid:{message_id}".encode() if message_id else raw).hexdigest(),
        references=references,
        recipients=recipients,
        attachments=attachments,
        automated=is_automated(message, sender, envelope_sender),
        no_auto_answers=suppresses_answers(message),
        size=len(raw),
        language=storable(_header(message, "Content-Language"))[:200] or None,
    )


def is_automated(message: Message, sender: str, envelope_sender: str | None) -> bool:
    """Mail that must never be answered nor made a ticket (RFC 3834 §2, §5): any
    Auto-Submitted but `no` (its parameters aside), bulk/list/junk/auto_reply precedence,
    the common X-Autoreply/X-Autorespond marks, an out-of-office subject, bounces (an
    empty envelope sender) and mailer daemons."""
    auto = _header(message, "Auto-Submitted").split(";", 1)[0].strip().lower()
    if auto and auto != "no":
        return True
    if _header(message, "Precedence").strip().lower() in _BULK:
        return True
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond"):
        return True
    if _AUTO_SUBJECT.match(_header(message, "Subject")):
        return True
    if envelope_sender is not None and envelope_sender.strip() in ("", "<>"):
        return True
    return sender.split("@", 1)[0] in _LOOP_SENDERS or not sender


def suppresses_answers(message: Message) -> bool:
    """`X-Auto-Response-Suppress: All`, `OOF` or `AutoReply` (any of a comma list): the
    sender's system asks for no automatic answers, so none but a ticket's receipt is sent."""
    values = _header(message, "X-Auto-Response-Suppress").lower().replace(";", ",")
    return any(v.strip() in _SUPPRESS_ANSWERS for v in values.split(","))


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a malformed header is treated as absent
        return ""
    return str(value) if value is not None else ""


def _first_id(value: str) -> str | None:
    found = _MESSAGE_ID.search(storable(value))
    return found.group(0)[:500] if found else None


def _walk(message: EmailMessage) -> tuple[str, str, list[Attachment]]:
    plain: list[str] = []
    rich: list[str] = []
    attachments: list[Attachment] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        disposition = (part.get_content_disposition() or "").lower()
        content_type = part.get_content_type()
        if filename or disposition == "attachment":
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                attachments.append(
                    Attachment(_clean_name(filename or "attachment"), storable(content_type), data)
                )
        elif content_type == "text/plain":
            plain.append(_text(part))
        elif content_type == "text/html":
            rich.append(_text(part))
    return "\n\n".join(plain), "\n\n".join(rich), attachments


def _text(part: Message) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        return data.decode("utf-8", errors="replace")


def _clean_name(name: str) -> str:
    name = storable(name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "attachment"
    return name[:255]


class _TextExtractor(HTMLParser):
    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in self._BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head") and self._skip:
            self._skip -= 1
        elif tag in self._BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)


def html_to_text(markup: str) -> str:
    if not markup.strip():
        return ""
    extractor = _TextExtractor()
    try:
        extractor.feed(markup)
        extractor.close()
    except Exception:  # broken markup: strip tags crudely rather than fail
        return html.unescape(re.sub(r"<[^>]*>", " ", markup))
    lines = (" ".join(line.split()) for line in "".join(extractor.chunks).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
