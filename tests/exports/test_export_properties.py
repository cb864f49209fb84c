"""Property tests on random ledger histories: the exported journal balances,
the CSV, JSON Lines and XLSX carry the same rows and tie out to the database, exports are
byte-for-byte reproducible, and the deferred-revenue roll-forward chains and ties out to
the lots at every cut-off."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from app.kit.clock import FrozenClock, rfc3339
from app.kit.db import Database
from billing.exports import service
from billing.exports.aging import lot_aging
from billing.exports.periods import Period
from billing.exports.schemas import ROLL_FORWARD_LINES, DeferredRevenueRead, RollForward
from billing.exports.writers import JOURNAL_COLUMNS, neutralise_formula, xlsx_money
from tests.exports.conftest import Driver, Snapshot, amount, parse_csv, totals_by_account

CUSTOMERS = 3
customer = st.integers(0, CUSTOMERS - 1)
pick = st.integers(0, 1000)  # an index into what exists so far
operation = st.one_of(
    st.tuples(st.just("buy"), customer, st.integers(0, 4)),
    st.tuples(st.just("free"), customer, st.integers(1, 3), st.sampled_from([None, 3])),
    st.tuples(st.just("charge"), customer, st.integers(1, 3)),
    st.tuples(st.just("refund"), pick),
    st.tuples(st.just("remove"), customer, st.integers(1, 2)),
    st.tuples(st.just("money_back"), pick, st.integers(0, 4)),
    st.tuples(st.just("freeze"), pick),
    st.tuples(st.just("release"), pick),
    st.tuples(st.just("expire")),
)
# Seconds to the next step: from one second to forty days, so that lots lapse.
wait = st.one_of(st.integers(1, 120), st.integers(3600, 40 * 86400))
history = st.lists(st.tuples(operation, wait), min_size=3, max_size=25)
cuts = st.tuples(pick, pick, pick)

BOUNDED = settings(
    max_examples=15,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def apply(driver: Driver, op: tuple[Any, ...]) -> None:
    name, *args = op
    if name == "buy":
        await driver.buy(driver.customers[args[0]], args[1])
    elif name == "free":
        await driver.free(driver.customers[args[0]], args[1], args[2])
    elif name == "charge":
        await driver.charge(driver.customers[args[0]], args[1])
    elif name == "refund" and driver.charges:
        await driver.refund(driver.charges[args[0] % len(driver.charges)])
    elif name == "remove":
        await driver.remove(driver.customers[args[0]], args[1])
    elif name == "money_back" and driver.paid_lots:
        await driver.money_back(driver.paid_lots[args[0] % len(driver.paid_lots)], args[1])
    elif name == "freeze" and driver.lots:
        await driver.freeze(driver.lots[args[0] % len(driver.lots)])
    elif name == "release" and driver.lots:
        await driver.release(driver.lots[args[0] % len(driver.lots)])
    elif name == "expire":
        await driver.expire()


async def run_history(
    db: Database, clock: FrozenClock, steps: list[Any], vat_rate: Decimal = Decimal(0)
) -> list[Snapshot]:
    """Plays the steps; a snapshot before the first and after each (time has moved on since
    the step's postings, so a snapshot at `t` is the state at cut-off `t`)."""
    clock.advance(timedelta(hours=1))
    driver = Driver(db, clock, vat_rate=vat_rate)
    for i in range(CUSTOMERS):
        await driver.customer(f"Customer {i}")
    clock.advance(timedelta(seconds=1))
    snapshots = [await driver.snapshot()]
    for i, customer_id in enumerate(driver.customers):  # something to spend from the start
        await driver.buy(customer_id, pack=i + 1)
    await driver.free(driver.customers[0], 2, valid_days=3)
    clock.advance(timedelta(seconds=1))
    snapshots.append(await driver.snapshot())
    for op, seconds in steps:
        await apply(driver, op)
        clock.advance(timedelta(seconds=seconds))
        snapshots.append(await driver.snapshot())
    return snapshots


async def raw_rows(db: Database, period: Period) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    async for batch in service.journal_rows(db, period, batch_size=7):  # several pages
        rows += batch
    return rows


async def text_export(db: Database, period: Period, fmt: str) -> bytes:
    return b"".join([c async for c in service.journal_text(db, period, fmt, batch_size=5)])  # type: ignore[arg-type]


async def xlsx_export(db: Database, period: Period) -> bytes:
    target = io.BytesIO()
    await service.journal_xlsx(db, period, target, batch_size=6)
    return target.getvalue()


def padded(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A read-only sheet leaves out a row's trailing empty cells."""
    return row + (None,) * (len(JOURNAL_COLUMNS) - len(row))


def xlsx_time(value: Any) -> str:
    """A date cell (naive UTC; a spreadsheet keeps about a microsecond) → RFC 3339."""
    assert isinstance(value, datetime)
    return rfc3339(value.replace(tzinfo=UTC))


def as_text(value: Any) -> str:
    return "" if value is None else str(value)


def assert_balanced(rows: list[dict[str, str]]) -> None:
    """Every transaction, and the period as a whole, has debits = credits per unit."""
    per_txn: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    per_unit: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        net = Decimal(amount(row["debit"], row["unit"])) - Decimal(
            amount(row["credit"], row["unit"])
        )
        assert (row["debit"] == "") != (row["credit"] == ""), row
        per_txn[(row["transaction_id"], row["unit"])] += net
        per_unit[row["unit"]] += net
    assert all(v == 0 for v in per_txn.values()), per_txn
    assert all(v == 0 for v in per_unit.values()), per_unit


def money(report: DeferredRevenueRead) -> RollForward:
    [eur] = report.money
    assert eur.currency == "EUR"
    # IFRS 15.116(b): recognition splits into out of the opening balance and from sales
    # (a charge refunded back into an old lot and charged again counts twice, as in
    # `recognised`).
    from_opening, from_sales = eur.recognised_from_opening.amount, eur.recognised_from_sales.amount
    assert from_opening + from_sales == eur.recognised.amount
    assert from_opening >= 0 and from_sales >= 0
    return eur.in_minor_units()


def assert_chains(ab: RollForward, bc: RollForward, ac: RollForward) -> None:
    assert ab.closing == bc.opening
    assert ab.opening == ac.opening
    assert bc.closing == ac.closing
    for line, _ in ROLL_FORWARD_LINES:
        assert getattr(ab, line) + getattr(bc, line) == getattr(ac, line), line
    for rf in (ab, bc, ac):
        moved = sum(sign * getattr(rf, line) for line, sign in ROLL_FORWARD_LINES)
        assert rf.opening + moved == rf.closing
        assert rf.other == 0


@BOUNDED
@given(steps=history, cut=cuts, vat=st.sampled_from(["0", "0.19"]))
async def test_journal_and_roll_forward_on_random_histories(
    db: Database, clock: FrozenClock, steps: list[Any], cut: tuple[int, int, int], vat: str
) -> None:
    """With and without VAT in the pack prices (the roll-forward is net of VAT)."""
    snapshots = await run_history(db, clock, steps, Decimal(vat))
    a, b, c = sorted((snapshots[i % len(snapshots)] for i in cut), key=lambda s: s.at)
    whole = Period(snapshots[0].at, snapshots[-1].at)

    # The CSV parses, every transaction balances, and it ties out to the database.
    csv_bytes = await text_export(db, whole, "csv")
    rows = parse_csv(csv_bytes)
    assert csv_bytes.split(b"\r\n", 1)[0].decode() == ",".join(JOURNAL_COLUMNS)
    assert_balanced(rows)
    for kind in sorted({r["event"] for r in rows}):
        event(kind)
    driver = Driver(db, clock)
    assert totals_by_account(rows) == await driver.line_totals(whole.start, whole.end)

    # Any sub-period balances per unit and ties out too.
    part = Period(a.at, c.at)
    part_rows = parse_csv(await text_export(db, part, "csv"))
    assert_balanced(part_rows)
    assert totals_by_account(part_rows) == await driver.line_totals(part.start, part.end)

    # CSV, JSON Lines and XLSX carry the same rows as the source, in the same order.
    source = await raw_rows(db, whole)
    assert [tuple(r.values()) for r in rows] == [
        tuple(
            neutralise_formula(as_text(v)) if col in ("reference", "memo") else as_text(v)
            for col, v in zip(JOURNAL_COLUMNS, r, strict=True)
        )
        for r in source
    ]
    jsonl = await text_export(db, whole, "jsonl")
    assert [tuple(json.loads(line).values()) for line in jsonl.splitlines()] == source
    xlsx = await xlsx_export(db, whole)
    sheet = load_workbook(io.BytesIO(xlsx), read_only=True)["journal"]
    header, *cells = list(sheet.iter_rows(values_only=True))
    assert header == JOURNAL_COLUMNS
    assert [
        tuple(
            xlsx_money(v, str(row[4]))
            if col in ("debit", "credit") and row[4] != "CREDIT"
            else xlsx_time(v)
            if col == "posted_at"
            else v
            for col, v in zip(JOURNAL_COLUMNS, padded(row), strict=True)
        )
        for row in cells
    ] == source

    # The same period gives the same bytes.
    assert await text_export(db, whole, "csv") == csv_bytes
    assert await text_export(db, whole, "jsonl") == jsonl
    assert await xlsx_export(db, whole) == xlsx

    # The roll-forward chains: [a, b) + [b, c) = [a, c); closing of one = opening of next;
    # and the closing at every cut-off equals Σ lots' remaining value (and credits) then.
    ab = await service.deferred_revenue(db, Period(a.at, b.at), currencies=["EUR"])
    bc = await service.deferred_revenue(db, Period(b.at, c.at), currencies=["EUR"])
    ac = await service.deferred_revenue(db, Period(a.at, c.at), currencies=["EUR"])
    assert_chains(money(ab), money(bc), money(ac))
    assert_chains(ab.credits, bc.credits, ac.credits)
    for report, snapshot in ((ab, a), (ab, b), (bc, c)):
        figures = money(report)
        at_end = snapshot is not a
        assert (figures.closing if at_end else figures.opening) == snapshot.value
        credits = report.credits
        assert (credits.closing if at_end else credits.opening) == snapshot.credits

    # The lot-aging report at each cut-off holds what the lots held then, and each of its
    # breakdowns adds up to that.
    for snapshot in (a, b, c):
        aging = await lot_aging(db, snapshot.at, "EUR")
        assert (aging.total.value, aging.total.credits) == (snapshot.value, snapshot.credits)
        for figures in (aging.by_age, aging.by_source, aging.by_expiry):
            assert sum(f.value for f in figures) == aging.total.value
            assert sum(f.credits for f in figures) == aging.total.credits
            assert sum(f.lots for f in figures) == aging.total.lots
