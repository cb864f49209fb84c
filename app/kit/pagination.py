"""Cursor pages: `?limit=` (1–200, default 50) and an opaque `?cursor=`."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from app.kit.errors import ValidationFailed

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=200, description="page size, 1–200")]
Cursor = Annotated[str | None, Query(max_length=500, description="from `next_cursor`")]


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = None


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *keys: str) -> dict[str, Any] | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationFailed("The cursor is not one this API issued.") from exc
    if not isinstance(position, dict) or set(position) != set(keys):
        raise ValidationFailed("The cursor is not one this API issued.")
    return position
