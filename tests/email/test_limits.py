"""Mail that would exhaust memory or recursion is refused politely, never a 500 (issue 12).

The peak-memory figures are measured in `test_memory.py` (a subprocess per mail)."""

from __future__ import annotations

import asyncio
import smtplib

import pytest

from app.email.parsing import MailLimits, parse
from tests.email.bombs import deep_multipart, encoded_subject, many_headers
from tests.email.conftest import TECH, Mailbox, mail
from tests.waiting import REQUEST_TIMEOUT

LIMITS = MailLimits()


def test_a_subject_over_the_encoded_word_limit_is_refused_before_decoding() -> None:
    parsed = parse(encoded_subject(LIMITS.max_encoded_words + 1), limits=LIMITS)
    assert parsed.refusal is not None and "encoded words" in parsed.refusal
    assert parsed.sender == "ops@acme.example"  # the refusal can still be answered
    assert parsed.subject == ""  # the offending header was never decoded


def test_a_subject_within_the_limit_is_decoded() -> None:
    parsed = parse(encoded_subject(20), limits=LIMITS)
    assert parsed.refusal is None
    assert parsed.subject.startswith("w0w1w2")


def test_a_multipart_nested_3000_deep_is_refused_not_a_recursion_error() -> None:
    parsed = parse(deep_multipart(3000), limits=LIMITS)
    assert parsed.refusal is not None and "MIME" in parsed.refusal
    assert parsed.sender == "ops@acme.example"


def test_nesting_just_within_the_depth_limit_is_read() -> None:
    parsed = parse(deep_multipart(LIMITS.max_mime_depth - 1), limits=LIMITS)
    assert parsed.refusal is None and parsed.body == "inner"


def test_too_many_headers_are_refused() -> None:
    parsed = parse(many_headers(LIMITS.max_headers + 1), limits=LIMITS)
    assert parsed.refusal is not None and "header fields" in parsed.refusal


def test_an_oversized_mail_is_refused_from_its_headers_alone() -> None:
    small = MailLimits(max_bytes=2048)
    raw = mail(subject="Whole log pasted inline", body="line\n" * 2000).as_bytes()
    parsed = parse(raw, limits=small)
    assert parsed.refusal is not None and f"{len(raw)} bytes" in parsed.refusal
    assert parsed.body == "" and parsed.subject == "Whole log pasted inline"


def test_a_header_too_long_is_refused() -> None:
    raw = (
        b"From: ops@acme.example\r\nSubject: x\r\nReferences: "
        + b" ".join(b"<%d@x>" % n for n in range(LIMITS.max_header_bytes // 6))
        + b"\r\n\r\nbody\r\n"
    )
    parsed = parse(raw, limits=LIMITS)
    assert parsed.refusal is not None and "References" in parsed.refusal


def test_nested_comments_in_a_header_do_not_escape_as_an_error() -> None:
    raw = (
        b"From: "
        + b"(" * 5000
        + b"ops@acme.example\r\nContent-Type: text/plain; a="
        + (b"(" * 5000)
        + b"\r\nSubject: Installer fails\r\n\r\nbody\r\n"
    )
    parsed = parse(raw, limits=LIMITS)  # must not raise
    assert parsed.sender == "" or parsed.refusal is not None


async def test_bombs_over_http_are_refused_by_mail_not_500(box: Mailbox) -> None:
    await box.customer(credits=3)
    results = [
        await box.post(encoded_subject(1_000)),
        await box.post(deep_multipart(300)),
        await box.post(many_headers(2_000)),
    ]
    assert [r["outcome"] for r in results] == ["refused_too_large"] * 3
    bodies = [r.body for r in await box.outbox()]
    assert len(bodies) == 3
    assert "encoded words" in bodies[0] and "MIME" in bodies[1] and "header fields" in bodies[2]
    assert await box.tickets() == []


async def test_bombs_over_smtp_are_refused_by_mail_or_552(listener: Mailbox) -> None:
    box = listener
    await box.customer(credits=3)

    def send(raw: bytes) -> None:
        with smtplib.SMTP("127.0.0.1", box.listener_port, timeout=REQUEST_TIMEOUT) as client:
            client.sendmail("ops@acme.example", [TECH], raw)

    await asyncio.to_thread(send, deep_multipart(300))
    await asyncio.to_thread(send, encoded_subject(1_000))
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # far over the size: protocol
        await asyncio.to_thread(send, deep_multipart(3_000))
    assert refused.value.smtp_code == 552
    assert [i.outcome for i in await box.inbound()] == ["refused_too_large"] * 2
    assert len(await box.outbox()) == 2
