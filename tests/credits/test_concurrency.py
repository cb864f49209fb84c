"""Concurrent ledger operations through real, separate PostgreSQL connections: the wallet
row lock must make every outcome the same as some serial order."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest

from app.kit.clock import FrozenClock
from app.kit.db import Database
from credits import service
from credits.errors import AlreadyRefunded, InsufficientCredits
from tests.credits.conftest import Ledger

POOL = 20  # up to 40 connections (pool + overflow): the server is shared with other runs


@pytest.fixture
async def pool(db: Database) -> Database:
    wide = Database(db.url, pool_size=POOL)
    yield wide  # type: ignore[misc]
    await wide.dispose()


async def _outcomes(
    n: int, work: Callable[[int], Awaitable[object]]
) -> tuple[Counter[str], list[object]]:
    async def one(i: int) -> object:
        try:
            return await work(i)
        except (InsufficientCredits, AlreadyRefunded) as exc:
            return exc

    results = await asyncio.gather(*(one(i) for i in range(n)))
    return Counter(type(r).__name__ for r in results), results


async def test_200_concurrent_charges_on_50_credits(
    pool: Database, ledger: Ledger, clock: FrozenClock
) -> None:
    cid = await ledger.customer()
    await ledger.grant(cid, 30, 30_000)
    await ledger.grant(cid, 20)
    peak = 0

    async def charge(i: int) -> object:
        nonlocal peak
        async with pool.unit_of_work() as session:
            peak = max(peak, pool.engine.pool.checkedout())  # type: ignore[attr-defined]
            return await service.charge(session, cid, now=clock.now(), ticket_id=f"tkt_{i}")

    counts, results = await _outcomes(200, charge)
    assert counts == Counter({"Posted": 50, "InsufficientCredits": 150})
    assert peak > 10, "the charges did not run on separate connections at once"
    refused = [r for r in results if isinstance(r, InsufficientCredits)]
    assert {(r.status, r.available) for r in refused} == {(402, 0)}
    wallet = await ledger.wallet(cid)
    assert (wallet.available, wallet.frozen) == (0, 0)
    charges = await ledger.transactions(cid, "charge")
    assert len(charges) == 50
    # serial order: each balance_after is distinct, 49 down to 0
    assert sorted(t.balance_after or 0 for t in charges) == list(range(50))
    assert len({t.ticket_id for t in charges}) == 50


async def test_concurrent_grants_and_charges_lose_no_update(
    pool: Database, ledger: Ledger, clock: FrozenClock
) -> None:
    cid = await ledger.customer()
    await ledger.grant(cid, 60, 60_000)

    async def grant_or_charge(i: int) -> object:
        async with pool.unit_of_work() as session:
            if i % 2:
                return await service.charge(session, cid, now=clock.now(), credits=1)
            return await service.grant(
                session, cid, credits=2, amount=0, currency="EUR", source="adjustment",
                now=clock.now(),
            )  # fmt: skip

    counts, _ = await _outcomes(120, grant_or_charge)
    assert counts == Counter({"Posted": 120})
    assert (await ledger.wallet(cid)).available == 60 + 60 * 2 - 60
    assert len(await ledger.transactions(cid)) == 121


async def test_concurrent_refunds_of_one_charge_refund_once(
    pool: Database, ledger: Ledger, clock: FrozenClock
) -> None:
    cid = await ledger.customer()
    await ledger.grant(cid, 2, 6_000)
    charge = await ledger.charge(cid)

    async def refund(i: int) -> object:
        async with pool.unit_of_work() as session:
            return await service.refund_charge(
                session, charge.transaction.id, reason=f"retry {i}", now=clock.now()
            )

    counts, _ = await _outcomes(40, refund)
    assert counts == Counter({"Posted": 1, "AlreadyRefunded": 39})
    assert (await ledger.wallet(cid)).available == 2
    assert len(await ledger.transactions(cid, "refund")) == 1


async def test_concurrent_repeats_of_one_spend_reference_count_once(
    pool: Database, ledger: Ledger, clock: FrozenClock
) -> None:
    cid = await ledger.customer()

    async def spend(i: int) -> service.SpendResult:
        async with pool.unit_of_work() as session:
            return await service.record_spend(
                session, cid, amount=10_000, reference="inv-1", occurred_at=clock.now(),
                now=clock.now(), threshold=10_000, currency="EUR",
            )  # fmt: skip

    results = await asyncio.gather(*(spend(i) for i in range(30)))
    assert sorted(r.recorded for r in results) == [False] * 29 + [True]
    assert sum(r.credits_granted for r in results) == 1
    assert (await ledger.wallet(cid)).available == 1


async def test_charges_on_many_wallets_run_side_by_side(
    pool: Database, ledger: Ledger, clock: FrozenClock
) -> None:
    customers = [await ledger.customer(f"C{i}") for i in range(10)]
    for cid in customers:
        await ledger.grant(cid, 5, 10_000)

    async def charge(i: int) -> object:
        async with pool.unit_of_work() as session:
            return await service.charge(session, customers[i % 10], now=clock.now())

    counts, _ = await _outcomes(60, charge)
    assert counts == Counter({"Posted": 50, "InsufficientCredits": 10})
    for cid in customers:
        assert (await ledger.wallet(cid)).available == 0
