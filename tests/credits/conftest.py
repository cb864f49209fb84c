"""Service-level helpers for the ledger tests: each call is its own unit of work, as a
request or a job would be."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from app.customers.schemas import CustomerCreate
from app.customers.service import create_customer
from app.kit.clock import FrozenClock
from app.kit.db import Database
from credits import accounts as acc
from credits import queries, service
from credits.models import JournalLine, JournalTransaction, Lot, Wallet
from credits.schemas import BalanceRead

THRESHOLD = 10_000


@dataclass
class Ledger:
    db: Database
    clock: FrozenClock

    async def customer(self, name: str = "Acme Hosting") -> str:
        async with self.db.unit_of_work() as session:
            customer = await create_customer(
                session, CustomerCreate(name=name, email="ops@acme.example"), self.clock.now()
            )
            return customer.id

    async def grant(
        self,
        customer_id: str,
        credits: int,
        amount: int = 0,
        *,
        valid_days: int | None = None,
        source: str | None = None,
        purchase_id: str | None = None,
    ) -> Lot:
        async with self.db.unit_of_work() as session:
            posted = await service.grant(
                session,
                customer_id,
                credits=credits,
                amount=amount,
                currency="EUR",
                source=source or ("purchase" if amount else "adjustment"),
                now=self.clock.now(),
                valid_days=valid_days,
                cash_account=acc.CASH_OFFLINE if amount else None,
                purchase_id=purchase_id,
            )
            assert posted.lot is not None
            return posted.lot

    async def charge(self, customer_id: str, credits: int = 1) -> service.Posted:
        async with self.db.unit_of_work() as session:
            return await service.charge(session, customer_id, credits=credits, now=self.clock.now())

    async def refund(self, charge_id: str, reason: str = "product_bug") -> service.Posted:
        async with self.db.unit_of_work() as session:
            return await service.refund_charge(
                session, charge_id, reason=reason, now=self.clock.now()
            )

    async def adjust(self, customer_id: str, credits: int, **kw: Any) -> service.Posted:
        async with self.db.unit_of_work() as session:
            return await service.adjust(
                session,
                customer_id,
                credits=credits,
                reason=kw.pop("reason", "goodwill"),
                now=self.clock.now(),
                currency="EUR",
                **kw,
            )

    async def spend(self, customer_id: str, amount: int, reference: str) -> service.SpendResult:
        async with self.db.unit_of_work() as session:
            return await service.record_spend(
                session,
                customer_id,
                amount=amount,
                reference=reference,
                occurred_at=self.clock.now(),
                now=self.clock.now(),
                threshold=THRESHOLD,
                currency="EUR",
            )

    async def wallet(self, customer_id: str) -> Wallet:
        async with self.db.unit_of_work() as session:
            wallet = await session.get(Wallet, customer_id)
            assert wallet is not None
            return wallet

    async def balance(self, customer_id: str) -> BalanceRead:
        async with self.db.unit_of_work() as session:
            return await queries.balance(
                session, customer_id, now=self.clock.now(), currency="EUR", threshold=THRESHOLD
            )

    async def lot(self, lot_id: str) -> Lot:
        async with self.db.unit_of_work() as session:
            lot = await session.get(Lot, lot_id)
            assert lot is not None
            return lot

    async def lots(self, customer_id: str) -> list[Lot]:
        async with self.db.unit_of_work() as session:
            rows = await session.execute(
                select(Lot).where(Lot.customer_id == customer_id).order_by(Lot.created_at, Lot.id)
            )
            return list(rows.scalars())

    async def account(self, account: str, unit: str = "EUR") -> int:
        """Balance of a ledger account (debit positive)."""
        async with self.db.unit_of_work() as session:
            total = await session.scalar(
                select(func.coalesce(func.sum(JournalLine.amount), 0)).where(
                    JournalLine.account == account, JournalLine.unit == unit
                )
            )
            return int(total or 0)

    async def transactions(
        self, customer_id: str, kind: str | None = None
    ) -> list[JournalTransaction]:
        async with self.db.unit_of_work() as session:
            stmt = select(JournalTransaction).where(JournalTransaction.customer_id == customer_id)
            if kind is not None:
                stmt = stmt.where(JournalTransaction.kind == kind)
            rows = await session.execute(stmt.order_by(JournalTransaction.seq))
            return list(rows.scalars())


@pytest.fixture
async def ledger(db: Database, clock: FrozenClock) -> AsyncIterator[Ledger]:
    yield Ledger(db, clock)
