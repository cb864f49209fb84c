"""The roll-forward of a known history with every kind of event, figure by figure, and the
period boundaries of the journal export."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.kit.clock import FrozenClock
from app.kit.db import Database
from billing.exports import service
from billing.exports.periods import Period
from tests.exports.conftest import Driver, parse_csv


async def test_every_event_lands_on_its_line(db: Database, clock: FrozenClock) -> None:
    driver = Driver(db, clock)
    alice, bob = await driver.customer("Alice"), await driver.customer("Bob")
    start = clock.advance(timedelta(minutes=1))
    opening_lot = await driver.buy(alice, pack=1)  # 5 credits, €100.00: before the period
    clock.advance(timedelta(minutes=1))
    period_start = clock.now()

    await driver.buy(bob, pack=2)  # 3 credits, €10.00 (334 + 333 + 333), 30 days
    await driver.free(alice, 2)  # free: credits only
    clock.advance(timedelta(minutes=1))
    first = await driver.charge(bob)  # takes the soonest-expiring lot first: 334 cents
    assert first is not None
    await driver.charge(alice)  # free credits go first: no money
    await driver.charge(alice, 2)  # one free credit, then one paid: €20.00
    clock.advance(timedelta(minutes=1))
    await driver.refund(first)  # back into Bob's lot: +334
    await driver.remove(alice, 1)  # admin removes a paid credit: €20.00 adjustments
    await driver.freeze(opening_lot)  # dispute: credits held, no money moves, no change
    await driver.release(opening_lot)
    await driver.money_back(opening_lot, 2)  # refund of half the price: 3 unused credits
    clock.advance(timedelta(days=31))
    await driver.expire()  # Bob's 3 credits lapse: breakage
    clock.advance(timedelta(minutes=1))
    end = clock.now()

    report = await service.deferred_revenue(db, Period(period_start, end), currencies=["EUR"])
    [eur_money] = report.money
    assert eur_money.currency == "EUR"
    eur = eur_money.in_minor_units()
    assert eur.model_dump() == {
        "opening": 10000, "sales": 1000, "free_grants": 0,
        "recognised": 334 + 2000, "reversed": 334, "breakage": 1000, "refunded": 6000,
        "adjustments": 2000, "other": 0, "closing": 0,
    }  # fmt: skip
    # Alice's €20.00 came out of the opening balance, Bob's 3.34 from the period's sale.
    assert (eur_money.recognised_from_opening.amount, eur_money.recognised_from_sales.amount) == (
        2000,
        334,
    )
    assert report.credits.model_dump() == {
        "opening": 5, "sales": 3, "free_grants": 2, "recognised": 4, "reversed": 1,
        "breakage": 3, "refunded": 3, "adjustments": 1, "other": 0, "closing": 0,
    }  # fmt: skip
    snapshot = await driver.snapshot()
    assert (eur.closing, report.credits.closing) == (snapshot.value, snapshot.credits)

    before = await service.deferred_revenue(db, Period(start, period_start), currencies=["EUR"])
    assert before.money[0].closing.amount == eur.opening == 10000
    assert eur_money.opening.model_dump() == {"amount": 10000, "currency": "EUR"}
    assert before.credits.closing == report.credits.opening == 5


async def test_journal_period_is_from_inclusive_to_exclusive(
    db: Database, clock: FrozenClock
) -> None:
    driver = Driver(db, clock)
    customer = await driver.customer()
    first = clock.advance(timedelta(seconds=1))
    await driver.free(customer, 1)
    second = clock.advance(timedelta(microseconds=1))
    await driver.free(customer, 2)
    third = clock.advance(timedelta(seconds=1))
    await driver.free(customer, 3)

    async def exported(start: datetime, end: datetime) -> list[str]:
        chunks = service.journal_text(db, Period(start, end), "csv")
        rows = parse_csv(b"".join([c async for c in chunks]))
        return [r["debit"] for r in rows if r["debit"]]

    assert await exported(first, third) == ["1", "2"]
    assert await exported(second, third + timedelta(microseconds=1)) == ["2", "3"]
    assert await exported(first, second) == ["1"]
    assert await exported(second, second) == []
    rows = parse_csv(
        b"".join([c async for c in service.journal_text(db, Period(second, third), "csv")])
    )
    assert rows[0]["posted_at"] == second.isoformat().replace("+00:00", "Z")
    assert rows[0]["posted_at"].endswith(".000001Z")
