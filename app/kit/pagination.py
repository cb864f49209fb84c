"""Cursor pages: `?limit=` (1–200, default 50) and an opaque `?cursor=`.

One encoder and one strict decoder for every list (issue 12): whatever a client puts in
`cursor` — not base64, not JSON, not an object, the wrong key, a float, a boolean, a
number past 64 bits, `Infinity`/`NaN`, text PostgreSQL cannot store — answers 422
`validation_error` with field `cursor`, never a 500; so does a position of the wrong type,
a time without a zone or one that overflows in UTC (issue 25). `keyset_page` assembles a
page from the `limit + 1` rows a keyset query fetched."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeGuard, TypeVar

from fastapi import Query
from pydantic import BaseModel

from app.kit.errors import ValidationFailed
from app.kit.inputs import INT64_MAX, bad_text, utc_instant

T = TypeVar("T")
R = TypeVar("R")

Limit = Annotated[int, Query(ge=1, le=200, description="page size, 1–200")]
Cursor = Annotated[str | None, Query(max_length=500, description="from `next_cursor`")]

_TEXT_MAX = 200


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = None


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid(why: str) -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not one this API issued; start again without `cursor`.",
        field="cursor",
        errors=[{"field": "cursor", "message": why, "type": "cursor_invalid"}],
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a position")


def _refuse_float(text: str) -> Any:
    raise ValueError("a position is never a fraction")


def _document(cursor: str) -> object:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)
        return json.loads(
            raw.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_refuse_float
        )
    except (ValueError, binascii.Error, UnicodeError, RecursionError) as exc:
        raise _invalid("not a cursor this API issued") from exc


def _position(cursor: str, key: str) -> object:
    document = _document(cursor)
    if not isinstance(document, dict) or list(document) != [key]:
        raise _invalid(f"a cursor here is an object with exactly the key {key!r}")
    return document[key]


def decode_cursor(cursor: str | None, *keys: str) -> dict[str, Any] | None:
    """A cursor of several keys (values checked by the caller), strictly decoded: any
    other shape answers 422 field `cursor`. Prefer the typed readers below."""
    if cursor is None:
        return None
    document = _document(cursor)
    if not isinstance(document, dict) or set(document) != set(keys):
        raise _invalid(f"a cursor here is an object with exactly the keys {sorted(keys)}")
    for value in document.values():
        if isinstance(value, str) and (len(value) > _TEXT_MAX or bad_text(value)):
            raise _invalid("not a cursor this API issued")
    return document


def _identifier(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= _TEXT_MAX and not bad_text(value)


def cursor_int(cursor: str | None, key: str, *, maximum: int = INT64_MAX) -> int | None:
    """The integer position `key` of a cursor, or None without a cursor; `maximum` is the
    largest value the column can hold (`INT32_MAX` for an INTEGER)."""
    if cursor is None:
        return None
    value = _position(cursor, key)
    if type(value) is not int or not 0 <= value <= maximum:
        raise _invalid(f"{key!r} must be a whole number from 0 to {maximum}")
    return value


def cursor_ints(cursor: str | None, key: str, count: int) -> tuple[int, ...] | None:
    """A position `key` of `count` BIGINTs (e.g. a transaction id and a sequence)."""
    if cursor is None:
        return None
    value = _position(cursor, key)
    if (
        not isinstance(value, list)
        or len(value) != count
        or not all(type(v) is int and 0 <= v <= INT64_MAX for v in value)
    ):
        raise _invalid(f"{key!r} must be {count} whole numbers from 0 to {INT64_MAX}")
    return tuple(value)


def cursor_text(cursor: str | None, key: str) -> str | None:
    """The text position `key` of a cursor (an id), or None without a cursor."""
    if cursor is None:
        return None
    value = _position(cursor, key)
    if not _identifier(value):
        raise _invalid(f"{key!r} must be an identifier")
    return value


def cursor_instant_id(cursor: str | None, at: str, key: str) -> tuple[datetime, str] | None:
    """The position of a list ordered by a time, then an id (newest first): `{at: an
    RFC 3339 time with a zone, key: an identifier}`, the time in UTC; None without a cursor."""
    position = decode_cursor(cursor, at, key)
    if position is None:
        return None
    moment, ident = position[at], position[key]
    if not isinstance(moment, str) or not _identifier(ident):
        raise _invalid(f"a cursor here is {{{at!r}: a time, {key!r}: an identifier}}")
    try:
        return utc_instant(datetime.fromisoformat(moment)), ident
    except ValueError as exc:
        raise _invalid(f"{at!r} must be a time with a zone: {exc}") from exc


def keyset_page(
    rows: Sequence[R],
    limit: int,
    *,
    key: str,
    position: Callable[[R], int | str],
    read: Callable[[R], T],
) -> Page[T]:
    """A page from `rows` (up to `limit + 1` fetched): the first `limit` read, and a
    cursor at the last of them when there was one more row."""
    more = len(rows) > limit
    kept = rows[:limit]
    return Page(
        data=[read(r) for r in kept],
        next_cursor=encode_cursor({key: position(kept[-1])}) if more and kept else None,
    )
