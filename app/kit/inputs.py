"""Text PostgreSQL cannot store, refused at one place for every request (issue 12).

A `text`/`varchar` column cannot hold U+0000, and a lone UTF-16 surrogate (which JSON can
spell as `"\\ud800"`) cannot be encoded as UTF-8 at all. Rather than every schema and
every path or query parameter guarding against them, the body-limit middleware calls
`unstorable()` on the path, the query string, the headers and a JSON body before the app
sees the request, and answers 422 `validation_error` naming the field."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Scope


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
