"""Queries of phone consultations (read by the service-level clock and report too)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.desk.calls.models import CustomerCall


async def for_customer(session: AsyncSession, customer_id: str) -> list[CustomerCall]:
    stmt = select(CustomerCall).where(CustomerCall.customer_id == customer_id)
    return list((await session.execute(stmt)).scalars())


async def count_on_day(session: AsyncSession, customer_id: str, day: date) -> int:
    stmt = select(func.count()).where(
        CustomerCall.customer_id == customer_id, CustomerCall.day == day
    )
    return int((await session.execute(stmt)).scalar_one())


async def page(
    session: AsyncSession,
    customer_id: str,
    *,
    limit: int,
    before: tuple[datetime, str] | None,
) -> list[CustomerCall]:
    """Newest first, by (started_at, id), after the position `before` if given."""
    stmt = select(CustomerCall).where(CustomerCall.customer_id == customer_id)
    if before is not None:
        at, call_id = before
        stmt = stmt.where(
            (CustomerCall.started_at < at)
            | ((CustomerCall.started_at == at) & (CustomerCall.id < call_id))
        )
    stmt = stmt.order_by(CustomerCall.started_at.desc(), CustomerCall.id.desc()).limit(limit + 1)
    return list((await session.execute(stmt)).scalars())


async def in_period(session: AsyncSession, since: datetime, until: datetime) -> list[CustomerCall]:
    stmt = select(CustomerCall).where(
        CustomerCall.started_at >= since, CustomerCall.started_at < until
    )
    return list((await session.execute(stmt)).scalars())
