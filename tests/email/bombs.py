"""The worst mails of issue 12, built with the standard library only (the memory test
imports this in a bare subprocess)."""

from __future__ import annotations

TECH = "tech@desk.test"


def encoded_subject(words: int) -> bytes:
    """A Subject of `words` RFC 2047 encoded words, folded as a mailer would."""
    text = " ".join(f"=?utf-8?q?w{n % 10}?=" for n in range(words))
    folded = "\r\n ".join(text[i : i + 70] for i in range(0, len(text), 70))
    return (
        b"From: Ops <ops@acme.example>\r\nTo: " + TECH.encode() + b"\r\n"
        b"Message-ID: <ew." + str(words).encode() + b"@acme.example>\r\n"
        b"Subject: " + folded.encode() + b"\r\n\r\nThe installer fails.\r\n"
    )


def deep_multipart(depth: int) -> bytes:
    head = (
        b"From: Ops <ops@acme.example>\r\nTo: " + TECH.encode() + b"\r\n"
        b"Message-ID: <deep." + str(depth).encode() + b"@acme.example>\r\n"
        b"Subject: Installer fails with a nested mail\r\nMIME-Version: 1.0\r\n"
    )
    parts = [head]
    for level in range(depth):
        parts.append(
            f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n'.encode()
        )
    parts.append(b"Content-Type: text/plain\r\n\r\ninner\r\n")
    for level in reversed(range(depth)):
        parts.append(f"--b{level}--\r\n".encode())
    return b"".join(parts)


def many_headers(count: int) -> bytes:
    extra = b"".join(b"X-Filler-%d: value\r\n" % n for n in range(count))
    return (
        b"From: Ops <ops@acme.example>\r\nTo: " + TECH.encode() + b"\r\n"
        b"Message-ID: <many." + str(count).encode() + b"@acme.example>\r\n"
        b"Subject: Installer fails with many headers\r\n" + extra + b"\r\nbody\r\n"
    )
