"""Contract levels (seeds 004 §4, 001 §4.2): named sets of first-response and resolution
targets per severity (and category), assigned to customers. The service-level clock of a
customer's tickets uses their level's targets instead of the line's where the level sets
them; the assignment target stays the line's. A change applies at once, to open tickets
too (their `sla` block is computed when read)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers import service as customers
from app.desk.sla.levels.models import ContractLevel, ContractLevelTarget, CustomerContractLevel
from app.desk.sla.levels.schemas import CustomerLevelRead, LevelRead, LevelTarget, LevelWrite
from app.desk.sla.models import Category
from app.kit.errors import Conflict, NotFound, ValidationFailed
from app.kit.ids import new_id


class LevelExists(Conflict):
    code = "contract_level_exists"


class LevelInUse(Conflict):
    code = "contract_level_in_use"


LevelTargets = dict[tuple[int, str], tuple[timedelta, timedelta]]


def _check(data: LevelWrite) -> None:
    keys = [(t.severity, t.category) for t in data.targets]
    if len(keys) != len(set(keys)):
        raise ValidationFailed("Each severity and category may appear once.", field="targets")


async def _targets(session: AsyncSession, level_id: str) -> list[ContractLevelTarget]:
    stmt = (
        select(ContractLevelTarget)
        .where(ContractLevelTarget.level_id == level_id)
        .order_by(ContractLevelTarget.severity, ContractLevelTarget.category)
    )
    return list((await session.execute(stmt)).scalars())


async def _read(session: AsyncSession, level: ContractLevel) -> LevelRead:
    return LevelRead(
        id=level.id, name=level.name, created_at=level.created_at, updated_at=level.updated_at,
        targets=[
            LevelTarget(
                severity=t.severity, category=Category(t.category),
                first_response_minutes=t.first_response_minutes,
                resolution_minutes=t.resolution_minutes,
            )
            for t in await _targets(session, level.id)
        ],
    )  # fmt: skip


def _rows(level_id: str, data: LevelWrite) -> list[ContractLevelTarget]:
    return [
        ContractLevelTarget(
            level_id=level_id, severity=t.severity, category=t.category.value,
            first_response_minutes=t.first_response_minutes,
            resolution_minutes=t.resolution_minutes,
        )
        for t in data.targets
    ]  # fmt: skip


async def _by_name(session: AsyncSession, name: str) -> ContractLevel | None:
    stmt = select(ContractLevel).where(ContractLevel.name == name)
    return (await session.execute(stmt)).scalars().first()


async def create_level(session: AsyncSession, data: LevelWrite, now: datetime) -> LevelRead:
    _check(data)
    if await _by_name(session, data.name) is not None:
        raise LevelExists(f"A contract level named {data.name!r} exists.")
    level = ContractLevel(id=new_id("lvl"), name=data.name, created_at=now, updated_at=now)
    session.add(level)
    await session.flush()
    session.add_all(_rows(level.id, data))
    await session.flush()
    return await _read(session, level)


async def get_level(session: AsyncSession, level_id: str) -> ContractLevel:
    level = await session.get(ContractLevel, level_id)
    if level is None:
        raise NotFound("No such contract level.")
    return level


async def read_level(session: AsyncSession, level_id: str) -> LevelRead:
    return await _read(session, await get_level(session, level_id))


async def list_levels(session: AsyncSession) -> list[LevelRead]:
    levels = (await session.execute(select(ContractLevel).order_by(ContractLevel.name))).scalars()
    return [await _read(session, level) for level in levels]


async def replace_level(
    session: AsyncSession, level_id: str, data: LevelWrite, now: datetime
) -> LevelRead:
    """New name and targets; the customers on this level get them at once."""
    _check(data)
    level = await get_level(session, level_id)
    other = await _by_name(session, data.name)
    if other is not None and other.id != level.id:
        raise LevelExists(f"A contract level named {data.name!r} exists.")
    level.name, level.updated_at = data.name, now
    await session.execute(
        delete(ContractLevelTarget).where(ContractLevelTarget.level_id == level.id)
    )
    session.add_all(_rows(level.id, data))
    await session.flush()
    return await _read(session, level)


async def delete_level(session: AsyncSession, level_id: str) -> None:
    level = await get_level(session, level_id)
    stmt = select(CustomerContractLevel.customer_id).where(
        CustomerContractLevel.level_id == level.id
    )
    if (await session.execute(stmt.limit(1))).first() is not None:
        raise LevelInUse("Customers are on this level; move them to another one first.")
    await session.execute(
        delete(ContractLevelTarget).where(ContractLevelTarget.level_id == level.id)
    )
    await session.delete(level)
    await session.flush()


async def customer_level(session: AsyncSession, customer_id: str) -> CustomerLevelRead:
    await customers.get_customer(session, customer_id)  # 404 for an unknown customer
    row = await session.get(CustomerContractLevel, customer_id)
    level = None if row is None else await read_level(session, row.level_id)
    return CustomerLevelRead(customer_id=customer_id, level=level)


async def assign_level(
    session: AsyncSession, customer_id: str, level_id: str | None, now: datetime
) -> CustomerLevelRead:
    await customers.get_customer(session, customer_id)
    row = await session.get(CustomerContractLevel, customer_id)
    if level_id is None:
        if row is not None:
            await session.delete(row)
            await session.flush()
        return CustomerLevelRead(customer_id=customer_id, level=None)
    level = await get_level(session, level_id)
    if row is None:
        session.add(
            CustomerContractLevel(customer_id=customer_id, level_id=level.id, assigned_at=now)
        )
    else:
        row.level_id, row.assigned_at = level.id, now
    await session.flush()
    return CustomerLevelRead(customer_id=customer_id, level=await _read(session, level))


async def targets_of_customer(session: AsyncSession, customer_id: str) -> LevelTargets:
    """The customer's level targets by (severity, category): empty without a level. One
    query, for the service-level clock."""
    stmt = (
        select(ContractLevelTarget)
        .join(CustomerContractLevel, CustomerContractLevel.level_id == ContractLevelTarget.level_id)
        .where(CustomerContractLevel.customer_id == customer_id)
    )
    return {
        (t.severity, t.category): target_times(t) for t in (await session.execute(stmt)).scalars()
    }


def target_times(t: ContractLevelTarget) -> tuple[timedelta, timedelta]:
    """A level's (first response, resolution) for one severity and category."""
    return timedelta(minutes=t.first_response_minutes), timedelta(minutes=t.resolution_minutes)
