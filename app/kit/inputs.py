"""Inputs the database or Python cannot hold, refused at the edge with a 422.

Integers: `INT32_MAX`/`INT64_MAX` bound every integer query or body field that meets an
INTEGER or BIGINT column (`le=INT32_MAX`). Times: `Instant` is the one type of every
timestamp a client sends (query or body): RFC 3339 with a zone, as api.md says, and
convertible to UTC with a day to spare either side, so neither the database's conversion
nor a service's `astimezone`/`+ timedelta` can overflow (issue 25).

Text PostgreSQL cannot store is refused at one place for every request (issue 12).

A `text`/`varchar` column cannot hold U+0000, and a lone UTF-16 surrogate (which JSON can
spell as `"\\ud800"`) cannot be encoded as UTF-8 at all. Rather than every schema and
every path or query parameter guarding against them, the body-limit middleware calls
`unstorable()` on the path, the query string, the headers and a JSON body before the app
sees the request, and answers 422 `validation_error` naming the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

from pydantic import AfterValidator, AwareDatetime
from starlette.types import Scope

INT32_MAX = 2**31 - 1  # an INTEGER column (a ticket's number)
INT64_MAX = 2**63 - 1  # a BIGINT column

EARLIEST = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)


def utc_instant(moment: datetime) -> datetime:
    """`moment` in UTC. ValueError (a 422 through pydantic) when it has no zone or lies
    outside `[EARLIEST, LATEST]`: `0001-01-01T00:00:00+14:00` is before year 1 in UTC."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a time needs a zone (RFC 3339), e.g. 2026-11-22T10:00:00Z")
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise ValueError(
            f"a time must lie from {EARLIEST.date().isoformat()} to "
            f"{LATEST.date().isoformat()} in UTC"
        )
    return utc


Instant = Annotated[AwareDatetime, AfterValidator(utc_instant)]


def bad_text(value: str) -> bool:
    """True when `value` holds NUL or a lone surrogate."""
    if "\x00" in value:
        return True
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def storable(value: str) -> str:
    """`value` with what PostgreSQL cannot store removed (for text we must keep, e.g. mail)."""
    if not bad_text(value):
        return value
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def unstorable(scope: Scope, body: bytes) -> str | None:
    """The location of the first unstorable text in the request, or None."""
    if bad_text(scope.get("path", "")):
        return "path"
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if bad_text(name) or bad_text(value):
                return f"query.{name.replace(chr(0), '')}"
    for name, raw in scope.get("headers", []):
        if b"\x00" in raw:
            return f"header.{name.decode('latin-1')}"
    if body and _is_json(scope):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:  # JSON is UTF-8 (RFC 8259); FastAPI would answer 400
            return "body"
        if "\\u" not in text:
            # JSON can carry a NUL or a lone surrogate only as a `\u` escape (a raw NUL is
            # invalid JSON, and valid UTF-8 holds no surrogate): nothing to look for
            return None
        try:
            document = json.loads(text)
        except ValueError:  # not JSON: the endpoint's own validation answers (422)
            return None
        return _walk(document)
    return None


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


def _walk(document: Any) -> str | None:
    stack: list[tuple[Any, str]] = [(document, "body")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            if bad_text(node):
                return where
        elif isinstance(node, dict):
            for key, value in node.items():
                if bad_text(key):
                    return f"{where}.{storable(key)}"
                stack.append((value, f"{where}.{key}"))
        elif isinstance(node, list):
            stack.extend((value, f"{where}.{i}") for i, value in enumerate(node))
    return None
