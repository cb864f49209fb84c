"""Queries of the product registry."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.products.models import Product, ProductVersion


def name_key(name: str) -> str:
    return " ".join(name.casefold().split())


async def by_name(session: AsyncSession, name: str) -> Product | None:
    stmt = select(Product).where(Product.name_key == name_key(name))
    return (await session.execute(stmt)).scalars().first()


async def versions(session: AsyncSession, product_ids: list[str]) -> list[ProductVersion]:
    if not product_ids:
        return []
    stmt = select(ProductVersion).where(ProductVersion.product_id.in_(product_ids))
    return list((await session.execute(stmt)).scalars())


async def all_products(session: AsyncSession) -> list[Product]:
    return list((await session.execute(select(Product).order_by(Product.name_key))).scalars())
