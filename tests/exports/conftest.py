"""A small ledger driver for the export tests: each operation is its own unit of work (as a
request or a job would be), on the real services of `credits.service`."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select

from app.customers.schemas import CustomerCreate
from app.customers.service import create_customer
from app.kit.clock import FrozenClock
from app.kit.db import Database
from credits import accounts as acc
from credits import service
from credits.catalogue import split_vat
from credits.errors import AlreadyRefunded, InsufficientCredits
from credits.models import JournalLine, JournalTransaction, Lot

PACKS = [(1, 3000, None), (5, 10000, None), (3, 1000, 30), (30, 30000, 90), (7, 1001, 10)]


@dataclass(frozen=True)
class Snapshot:
    """Σ over lots at `at` (nothing posted at `at` or after when it was taken)."""

    at: datetime
    value: int
    credits: int


@dataclass
class Driver:
    db: Database
    clock: FrozenClock
    customers: list[str] = field(default_factory=list)
    charges: list[str] = field(default_factory=list)
    lots: list[str] = field(default_factory=list)
    paid_lots: list[str] = field(default_factory=list)
    vat_rate: Decimal = Decimal(0)  # pack prices include VAT at this rate
    gross: dict[str, int] = field(default_factory=dict)  # lot → price paid

    async def customer(self, name: str = "Acme Hosting") -> str:
        async with self.db.unit_of_work() as session:
            customer = await create_customer(
                session, CustomerCreate(name=name, email="ops@acme.example"), self.clock.now()
            )
        self.customers.append(customer.id)
        return customer.id

    async def buy(self, customer_id: str, pack: int, purchase: str | None = None) -> str:
        credits, price, valid_days = PACKS[pack % len(PACKS)]
        amount, vat = split_vat(price, self.vat_rate)
        async with self.db.unit_of_work() as session:
            posted = await service.grant(
                session, customer_id, credits=credits, amount=amount, vat=vat, currency="EUR",
                source="purchase", now=self.clock.now(), valid_days=valid_days,
                cash_account=acc.CASH_STRIPE, purchase_id=purchase,
                memo="pack, paid", reference=f"pi_{len(self.lots)}",
            )  # fmt: skip
        assert posted.lot is not None
        self.lots.append(posted.lot.id)
        self.paid_lots.append(posted.lot.id)
        self.gross[posted.lot.id] = price
        return posted.lot.id

    async def free(self, customer_id: str, credits: int, valid_days: int | None = None) -> None:
        async with self.db.unit_of_work() as session:
            posted = await service.adjust(
                session, customer_id, credits=credits, reason="=goodwill, \"quoted\"\nline two",
                now=self.clock.now(), currency="EUR", valid_days=valid_days,
            )  # fmt: skip
        assert posted.lot is not None
        self.lots.append(posted.lot.id)

    async def charge(self, customer_id: str, credits: int = 1) -> str | None:
        try:
            async with self.db.unit_of_work() as session:
                posted = await service.charge(
                    session, customer_id, credits=credits, now=self.clock.now(),
                    ticket_id=f"tkt_{len(self.charges)}", ticket_number=len(self.charges) + 1,
                    memo="Ticket: ünïcødé",
                )  # fmt: skip
        except InsufficientCredits:
            return None
        self.charges.append(posted.transaction.id)
        return posted.transaction.id

    async def refund(self, charge_id: str) -> None:
        try:
            async with self.db.unit_of_work() as session:
                await service.refund_charge(
                    session, charge_id, reason="product_bug", now=self.clock.now(),
                    reference="BUG-1",
                )  # fmt: skip
        except AlreadyRefunded:
            pass

    async def remove(self, customer_id: str, credits: int) -> None:
        try:
            async with self.db.unit_of_work() as session:
                await service.adjust(
                    session, customer_id, credits=-credits, reason="correction",
                    now=self.clock.now(), currency="EUR",
                )  # fmt: skip
        except InsufficientCredits:
            pass

    async def money_back(self, lot_id: str, share: int) -> None:
        """A Stripe refund of `share`/4 of the lot's price."""
        async with self.db.unit_of_work() as session:
            lot = await session.get(Lot, lot_id)
            assert lot is not None
            await service.revoke_lot(
                session, lot_id, now=self.clock.now(), reason="stripe_refund",
                refund_amount=self.gross[lot_id] * share // 4, reference=f"re_{lot_id}",
            )  # fmt: skip

    async def freeze(self, lot_id: str) -> None:
        async with self.db.unit_of_work() as session:
            await service.freeze_lot(session, lot_id, now=self.clock.now(), reason="dispute")

    async def release(self, lot_id: str) -> None:
        async with self.db.unit_of_work() as session:
            await service.release_lot(session, lot_id, now=self.clock.now(), reason="won")

    async def expire(self) -> None:
        now = self.clock.now()
        async with self.db.unit_of_work() as session:
            for customer_id in await service.customers_with_lapsed_lots(session, now):
                await service.expire_customer(session, customer_id, now)

    async def snapshot(self) -> Snapshot:
        async with self.db.unit_of_work() as session:
            row = (
                await session.execute(
                    select(
                        func.coalesce(func.sum(Lot.value_remaining), 0),
                        func.coalesce(func.sum(Lot.remaining + Lot.frozen), 0),
                    )
                )
            ).one()
        return Snapshot(self.clock.now(), int(row[0]), int(row[1]))

    async def line_totals(
        self, start: datetime, end: datetime
    ) -> dict[tuple[str, str], tuple[int, int]]:
        """(account, unit) → (Σ debits, Σ credits as a positive number), straight from SQL."""
        debit = func.sum(case((JournalLine.amount > 0, JournalLine.amount), else_=0))
        credit = func.sum(case((JournalLine.amount < 0, -JournalLine.amount), else_=0))
        stmt = (
            select(JournalLine.account, JournalLine.unit, debit, credit)
            .join(JournalTransaction, JournalTransaction.seq == JournalLine.transaction_seq)
            .where(JournalTransaction.posted_at >= start, JournalTransaction.posted_at < end)
            .group_by(JournalLine.account, JournalLine.unit)
        )
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return {(a, u): (int(d), int(c)) for a, u, d, c in rows}


def parse_csv(data: bytes) -> list[dict[str, str]]:
    text_ = data.decode("utf-8")
    return list(csv.DictReader(io.StringIO(text_, newline="")))


def amount(value: str, unit: str) -> Decimal | int:
    if value == "":
        return 0
    return int(value) if unit == "CREDIT" else Decimal(value)


def totals_by_account(rows: list[dict[str, str]]) -> dict[tuple[str, str], tuple[int, int]]:
    """CSV rows → (account, unit) → (Σ debits, Σ credits) in minor units / credits."""
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        unit = row["unit"]
        scale = 1 if unit == "CREDIT" else 100
        for i, column in enumerate(("debit", "credit")):
            value = amount(row[column], unit)
            cents = value * scale
            assert cents == int(cents), row
            sums[(row["account"], unit)][i] += int(cents)
    return {key: (d, c) for key, (d, c) in sums.items()}


def later(clock: FrozenClock, seconds: int) -> None:
    clock.advance(timedelta(seconds=seconds))
