"""RFC 5322 / MIME parsing: a raw message in, what the desk needs out. No database here.

Bodies come from text/plain, else text/html reduced to text; any declared charset is
decoded (an unknown or lying one falls back to UTF-8 with replacement, never an error).
Parts with a file name, or marked `attachment`, are attachments."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

# `[#123]` anywhere in the subject threads the mail into ticket 123.
TICKET_TAG = re.compile(r"\[#(\d{1,9})\]")
_REPLY_PREFIX = re.compile(
    r"^\s*((re|fw|fwd|aw|sv|wg|ответ|отв|пересл)\s*(\[\d+\])?\s*:\s*)+", re.I
)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_LOOP_SENDERS = ("mailer-daemon", "postmaster")


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
    automated: bool = False
    size: int = 0

    @property
    def ticket_number(self) -> int | None:
        found = TICKET_TAG.search(self.subject)
        return int(found.group(1)) if found else None

    @property
    def topic(self) -> str:
        """The subject without reply prefixes and ticket tags: what a new ticket is called."""
        return _REPLY_PREFIX.sub("", TICKET_TAG.sub(" ", self.subject)).strip()


def normalise_address(value: str) -> str:
    return parseaddr(value)[1].strip().lower()


def parse(raw: bytes, *, envelope_sender: str | None = None) -> ParsedMail:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    sender = normalise_address(_header(message, "From")) or normalise_address(envelope_sender or "")
    message_id = _first_id(_header(message, "Message-ID"))
    references = _MESSAGE_ID.findall(_header(message, "In-Reply-To"))
    references += _MESSAGE_ID.findall(_header(message, "References"))
    recipients = [
        a.lower()
        for _, a in getaddresses(
            [_header(message, h) for h in ("Delivered-To", "X-Original-To", "To", "Cc")]
        )
        if a
    ]
    plain, rich, attachments = _walk(message)
    body = plain if plain.strip() else html_to_text(rich)
    return ParsedMail(
        sender=sender,
        subject=" ".join(_header(message, "Subject").split()),
        body=body.strip(),
        message_id=message_id,
        dedupe_key=hashlib.sha256(f"mid:{message_id}".encode() if message_id else raw).hexdigest(),
        references=references,
        recipients=recipients,
        attachments=attachments,
        automated=is_automated(message, sender, envelope_sender),
        size=len(raw),
    )


def is_automated(message: Message, sender: str, envelope_sender: str | None) -> bool:
    """Mail that must never be answered (RFC 3834): auto-submitted, bulk or list mail,
    bounces (an empty envelope sender) and mailer daemons."""
    auto = _header(message, "Auto-Submitted").strip().lower()
    if auto and auto != "no":
        return True
    if _header(message, "Precedence").strip().lower() in ("bulk", "list", "junk"):
        return True
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond"):
        return True
    if envelope_sender is not None and envelope_sender.strip() in ("", "<>"):
        return True
    return sender.split("@", 1)[0] in _LOOP_SENDERS or not sender


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a malformed header is treated as absent
        return ""
    return str(value) if value is not None else ""


def _first_id(value: str) -> str | None:
    found = _MESSAGE_ID.search(value)
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
                    Attachment(_clean_name(filename or "attachment"), content_type, data)
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
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
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
