"""The customers feature's queries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers.models import Customer
from app.kit.auth import ApiKey


async def list_customers(
    session: AsyncSession,
    *,
    after: str | None,
    limit: int,
    email: str | None = None,
    external_ref: str | None = None,
    partner_id: str | None = None,
    updated_gte: datetime | None = None,
) -> list[Customer]:
    """Up to `limit` customers in id order after `after`, filtered by the given fields; with
    `partner_id`, only that partner and its end customers."""
    stmt = select(Customer).order_by(Customer.id).limit(limit)
    if partner_id is not None:
        stmt = stmt.where(or_(Customer.id == partner_id, Customer.parent_id == partner_id))
    if updated_gte is not None:
        stmt = stmt.where(Customer.updated_at >= updated_gte)
    if after is not None:
        stmt = stmt.where(Customer.id > after)
    if email is not None:
        stmt = stmt.where(Customer.email == email)
    if external_ref is not None:
        stmt = stmt.where(Customer.external_ref == external_ref)
    return list((await session.execute(stmt)).scalars())


async def list_api_keys(session: AsyncSession, *, after: str | None, limit: int) -> list[ApiKey]:
    """Up to `limit` API keys in id order after `after`."""
    stmt = select(ApiKey).order_by(ApiKey.id).limit(limit)
    if after is not None:
        stmt = stmt.where(ApiKey.id > after)
    return list((await session.execute(stmt)).scalars())
