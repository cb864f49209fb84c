"""The product and version registry and the support window of seed 002: "once a software
version has been released … the previous version will be supported for 180 days"
(`CREDITDESK_VERSION_SUPPORT_DAYS`).

A version is supported from its release date until `support_days` after the release of
the version that follows it; the newest released version is always supported; a version
whose release date is still to come is not (it is announced, not out). A technical ticket
naming a registered product and a version that is not supported is refused before any
charge (`422 unsupported_version`, or `422 unknown_version` for a version the registry
does not know), with the supported versions listed. A product nobody registered, a
registered product without versions, or a ticket naming no version: nothing changes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.errors import NotFound
from app.kit.ids import new_id
from app.products import repository as repo
from app.products.errors import ProductExists, UnknownVersion, UnsupportedVersion, VersionExists
from app.products.models import Product, ProductVersion
from app.products.schemas import ProductCreate, ProductRead, VersionCreate, VersionRead


def lifecycle(versions: Sequence[ProductVersion], today: date, days: int) -> list[VersionRead]:
    """Each version's support, newest release first."""
    released = sorted({v.released_on for v in versions if v.released_on <= today})
    result = []
    for v in sorted(versions, key=lambda v: (v.released_on, v.version), reverse=True):
        if v.released_on > today:
            result.append(
                VersionRead(
                    version=v.version,
                    released_on=v.released_on,
                    supported=False,
                    supported_until=None,
                )
            )
            continue
        following = next((d for d in released if d > v.released_on), None)
        until = None if following is None else following + timedelta(days=days)
        result.append(
            VersionRead(
                version=v.version,
                released_on=v.released_on,
                supported=until is None or today <= until,
                supported_until=until,
            )
        )
    return result


def _read(
    product: Product, versions: Sequence[ProductVersion], today: date, days: int
) -> ProductRead:
    states = lifecycle(versions, today, days)
    return ProductRead(
        id=product.id, name=product.name, created_at=product.created_at, versions=states,
        supported_versions=[s.version for s in states if s.supported],
    )  # fmt: skip


async def create_product(session: AsyncSession, data: ProductCreate, now: datetime) -> ProductRead:
    key = repo.name_key(data.name)
    if await repo.by_name(session, key) is not None:
        raise ProductExists(f"A product named {data.name!r} is already registered.")
    product = Product(id=new_id("prd"), name=data.name, name_key=key, created_at=now)
    session.add(product)
    await session.flush()
    return _read(product, [], now.date(), 0)


async def get_product(session: AsyncSession, product_id: str) -> Product:
    product = await session.get(Product, product_id)
    if product is None:
        raise NotFound("No such product.")
    return product


async def read_product(
    session: AsyncSession, product_id: str, *, now: datetime, days: int
) -> ProductRead:
    product = await get_product(session, product_id)
    return _read(product, await repo.versions(session, [product.id]), now.date(), days)


async def list_products(session: AsyncSession, *, now: datetime, days: int) -> list[ProductRead]:
    products = await repo.all_products(session)
    by_product: dict[str, list[ProductVersion]] = defaultdict(list)
    for v in await repo.versions(session, [p.id for p in products]):
        by_product[v.product_id].append(v)
    return [_read(p, by_product[p.id], now.date(), days) for p in products]


async def add_version(
    session: AsyncSession, product_id: str, data: VersionCreate, *, now: datetime, days: int
) -> ProductRead:
    product = await get_product(session, product_id)
    existing = await repo.versions(session, [product.id])
    if any(v.version == data.version for v in existing):
        raise VersionExists(f"{product.name} {data.version} is already registered.")
    version = ProductVersion(
        id=new_id("ver"), product_id=product.id, version=data.version,
        released_on=data.released_on, created_at=now,
    )  # fmt: skip
    session.add(version)
    await session.flush()
    return _read(product, [*existing, version], now.date(), days)


def _listing(states: Sequence[VersionRead]) -> list[dict[str, Any]]:
    return [
        {
            "version": s.version,
            "released_on": s.released_on.isoformat(),
            "supported_until": s.supported_until.isoformat() if s.supported_until else None,
        }
        for s in states
        if s.supported
    ]


async def supported_versions(
    session: AsyncSession, product: str | None, *, now: datetime, days: int
) -> list[dict[str, Any]] | None:
    """The supported versions of a registered product (None: not registered)."""
    if product is None:
        return None
    found = await repo.by_name(session, product)
    if found is None:
        return None
    return _listing(lifecycle(await repo.versions(session, [found.id]), now.date(), days))


async def check_ticket_version(
    session: AsyncSession, product: str | None, version: str | None, *, now: datetime, days: int
) -> None:
    """Refuses (422) a technical request about a version out of support or unknown to the
    registry of a registered product. Anything else passes unchanged."""
    if product is None or version is None:
        return
    found = await repo.by_name(session, product)
    if found is None:
        return
    check_version(found, await repo.versions(session, [found.id]), version, now=now, days=days)


def check_version(
    found: Product, versions: Sequence[ProductVersion], version: str, *, now: datetime, days: int
) -> None:
    """`check_ticket_version` once the product and its versions are read (or cached)."""
    if not versions:
        return
    states = lifecycle(versions, now.date(), days)
    listing = _listing(states)
    names = ", ".join(s["version"] for s in listing) or "none"
    state = next((s for s in states if s.version == version.strip()), None)
    if state is None:
        raise UnknownVersion(
            f"{found.name} has no version {version!r}. Supported versions: {names}.",
            field="version", product=found.name, version=version, supported_versions=listing,
        )  # fmt: skip
    if not state.supported:
        why = (
            f"support ended on {state.supported_until.isoformat()}"
            if state.supported_until is not None
            else f"it is released on {state.released_on.isoformat()}"
        )
        raise UnsupportedVersion(
            f"{found.name} {state.version} is not supported ({why}); nothing was charged. "
            f"Supported versions: {names}. Update, or ask customer relations about support "
            "for older versions (seed 002: at our discretion, on time and materials).",
            field="version", product=found.name, version=state.version,
            supported_versions=listing,
        )  # fmt: skip
