"""SQL for the e-mail channel's operator lists."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.email.models import InboundEmail, OutboxEmail
from app.kit.errors import ValidationFailed
from app.kit.pagination import decode_cursor

Row = TypeVar("Row", InboundEmail, OutboxEmail)


def _before(cursor: str | None) -> int | None:
    position = decode_cursor(cursor, "before")
    before = position["before"] if position else None
    if before is not None and not isinstance(before, int):
        raise ValidationFailed("The cursor is not one this API issued.")
    return before


async def newest_first(
    session: AsyncSession,
    model: type[Row],
    *,
    limit: int,
    cursor: str | None,
    **equal: str | None,
) -> list[Row]:
    """Rows newest first (by insertion order), one more than `limit`, filtered by the
    given column values when they are not None."""
    stmt = select(model).order_by(model.seq.desc()).limit(limit + 1)
    before = _before(cursor)
    if before is not None:
        stmt = stmt.where(model.seq < before)
    for name, value in equal.items():
        if value is not None:
            stmt = stmt.where(getattr(model, name) == value)
    return list((await session.execute(stmt)).scalars())
