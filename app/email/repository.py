"""SQL for the e-mail channel's operator lists."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.email.models import InboundEmail, OutboxEmail
from app.kit.pagination import cursor_int

Row = TypeVar("Row", InboundEmail, OutboxEmail)


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
    before = cursor_int(cursor, "before")
    if before is not None:
        stmt = stmt.where(model.seq < before)
    for name, value in equal.items():
        if value is not None:
            stmt = stmt.where(getattr(model, name) == value)
    return list((await session.execute(stmt)).scalars())
