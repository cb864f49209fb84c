"""Random histories of purchases, partial refunds (in and out of order, repeated),
disputes opened, won and lost, ticket charges and their refunds, and time passing, through
the webhook handlers. After every step `reconcile()` is clean, the deferred-revenue
roll-forward ties out (its closing is the lots' remaining value and its lines add up),
cash equals what was paid less what went back, and every purchase's refunds are covered
by the credits they revoked, rounded up by less than one credit, unless none was left."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from app.customers.schemas import CustomerCreate
from app.customers.service import create_customer
from app.kit.clock import FrozenClock
from app.kit.db import Database
from app.settings import PackSpec, Settings
from billing import service as billing
from billing.exports.periods import Period
from billing.exports.service import deferred_revenue
from billing.models import Purchase
from billing.stripe_objects import Charge, Dispute
from credits import accounts as acc
from credits import refunds as money_refunds
from credits import service as ledger
from credits.errors import AlreadyRefunded, InsufficientCredits
from credits.models import JournalLine, Lot
from credits.reconcile import reconcile
from tests.conftest import START

T = TypeVar("T")
PACKS = [
    PackSpec(code="single", credits=1, price=3000),
    PackSpec(code="five", credits=5, price=10000),
    PackSpec(code="three", credits=3, price=10000),  # 33.34, 33.33, 33.33
    PackSpec(code="short", credits=4, price=999, valid_days=2),
]


class RefundMachine(RuleBasedStateMachine):
    loop: ClassVar[asyncio.AbstractEventLoop]
    db: ClassVar[Database]
    settings: ClassVar[Settings]
    clock: ClassVar[FrozenClock]  # shared: the database outlives each example

    def __init__(self) -> None:
        super().__init__()
        self.customer_id = self.run(self._create_customer())
        self.purchases: list[str] = []
        self.refunded: dict[str, int] = {}
        self.charges: list[str] = []

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def tick(self) -> Any:
        return self.clock.advance(timedelta(seconds=1))

    async def _create_customer(self) -> str:
        async with self.db.unit_of_work() as session:
            made = await create_customer(
                session, CustomerCreate(name="H", email="h@example.com"), self.clock.now()
            )
            return made.id

    # ------------------------------------------------------------ rules

    @rule(pack=st.sampled_from([p.code for p in PACKS]))
    def buy(self, pack: str) -> None:
        async def work() -> str:
            async with self.db.unit_of_work() as session:
                purchase = await billing.open_purchase(
                    session, customer_id=self.customer_id, pack_code=pack,
                    settings=self.settings, now=self.tick(),
                )  # fmt: skip
                return purchase.id

        pid = self.run(work())
        self.purchases.append(pid)
        self.refunded[pid] = 0

    @rule(credits=st.integers(1, 3))
    def charge(self, credits: int) -> None:
        async def work() -> None:
            async with self.db.unit_of_work() as session:
                posted = await ledger.charge(session, self.customer_id, now=self.tick(),
                                             credits=credits)  # fmt: skip
                self.charges.append(posted.transaction.id)

        with contextlib.suppress(InsufficientCredits):
            self.run(work())

    @precondition(lambda self: self.charges)
    @rule(pick=st.integers(0, 10**6))
    def refund_ticket(self, pick: int) -> None:
        async def work() -> None:
            async with self.db.unit_of_work() as session:
                await ledger.refund_charge(session, self.charges[pick % len(self.charges)],
                                           reason="product_bug", now=self.tick())  # fmt: skip

        with contextlib.suppress(AlreadyRefunded):
            self.run(work())

    def _charge(self, pid: str, total: int) -> dict[str, Any]:
        return {"id": f"ch_{pid}", "object": "charge", "payment_intent": None,
                "amount_refunded": total, "metadata": {"purchase_id": pid}}  # fmt: skip

    def _apply_refund(self, pid: str, total: int) -> None:
        async def work() -> None:
            async with self.db.unit_of_work() as session:
                await billing.apply_refund(
                    session, Charge.parse(self._charge(pid, total)), now=self.tick()
                )

        self.run(work())
        self.refunded[pid] = max(self.refunded[pid], total)

    @precondition(lambda self: self.purchases)
    @rule(pick=st.integers(0, 10**6), share=st.integers(1, 100))
    def partial_refund(self, pick: int, share: int) -> None:
        pid = self.purchases[pick % len(self.purchases)]
        price = self._price(pid)
        left = price - self.refunded[pid] - self._disputed(pid)
        if left <= 0:
            return
        self._apply_refund(pid, self.refunded[pid] + max(1, left * share // 100))

    @precondition(lambda self: self.purchases)
    @rule(pick=st.integers(0, 10**6), back=st.integers(0, 5000))
    def stale_refund_event(self, pick: int, back: int) -> None:
        """An older (or the same) cumulative total again: changes nothing."""
        pid = self.purchases[pick % len(self.purchases)]
        if self.refunded[pid]:
            before = self.refunded[pid]
            self._apply_refund(pid, max(1, before - back))
            self.refunded[pid] = before

    @precondition(lambda self: self.purchases)
    @rule(pick=st.integers(0, 10**6), outcome=st.sampled_from(["open", "won", "lost"]))
    def dispute(self, pick: int, outcome: str) -> None:
        pid = self.purchases[pick % len(self.purchases)]
        status = {"open": "needs_response", "won": "won", "lost": "lost"}[outcome]

        async def work() -> None:
            async with self.db.unit_of_work() as session:
                obj = {"id": f"dp_{pid}", "object": "dispute", "charge": None,
                       "payment_intent": None, "status": status, "reason": "fraudulent",
                       "metadata": {"purchase_id": pid}}  # fmt: skip
                await billing.apply_dispute(session, Dispute.parse(obj), closed=outcome != "open",
                                            now=self.tick())  # fmt: skip

        self.run(work())

    @rule(days=st.integers(1, 3))
    def time_passes(self, days: int) -> None:
        self.clock.advance(timedelta(days=days))

    # ------------------------------------------------------------ checks

    def _price(self, pid: str) -> int:
        return self.run(self._purchase(pid)).amount

    def _disputed(self, pid: str) -> int:
        return self.run(self._purchase(pid)).amount_disputed

    async def _purchase(self, pid: str) -> Purchase:
        async with self.db.unit_of_work() as session:
            found = await session.get(Purchase, pid)
            assert found is not None
            return found

    @invariant()
    def reconciles_and_ties_out(self) -> None:
        async def look() -> None:
            async with self.db.unit_of_work() as session:
                report = await reconcile(session)
                assert report.ok, report.render()
                held = await session.scalar(select(func.coalesce(func.sum(Lot.value_remaining), 0)))
                cash = await session.scalar(
                    select(func.coalesce(func.sum(JournalLine.amount), 0)).where(
                        JournalLine.account == acc.CASH_OFFLINE
                    )
                )
                purchases = list((await session.execute(select(Purchase))).scalars())
                paid_in = sum(p.amount - p.amount_refunded - p.amount_disputed for p in purchases)
                assert cash == paid_in
                for p in purchases:
                    assert p.amount_refunded == self.refunded.get(p.id, p.amount_refunded)
                    covered = await money_refunds.covered_by_refunds(session, p.id)
                    lots = list(
                        (
                            await session.execute(select(Lot).where(Lot.purchase_id == p.id))
                        ).scalars()
                    )
                    unit = max(lot.amount // lot.credits + 1 for lot in lots)
                    assert covered - p.amount_refunded < unit  # rounded up by < 1 credit
                    if covered < p.amount_refunded:  # short: no unused credit was left
                        assert sum(lot.remaining for lot in lots) == 0 or p.dispute_status
            period = Period(START - timedelta(days=1), self.clock.now() + timedelta(seconds=1))
            rf = await deferred_revenue(self.db, period, currencies=["EUR"])
            (rolled,) = rf.money
            money = {name: getattr(rolled, name).amount for name in (
                "opening", "sales", "free_grants", "recognised", "reversed", "breakage",
                "refunded", "adjustments", "other", "closing",
            )}  # fmt: skip
            assert money["closing"] == held
            assert money["closing"] == (
                money["opening"] + money["sales"] + money["free_grants"] - money["recognised"]
                + money["reversed"] - money["breakage"] - money["refunded"]
                - money["adjustments"] + money["other"]
            )  # fmt: skip
            assert money["other"] == 0

        self.run(look())


def test_refund_histories_reconcile_and_tie_out(database_url: str) -> None:
    loop = asyncio.new_event_loop()
    db = Database(database_url, pool_size=2)

    class Machine(RefundMachine):
        pass

    Machine.loop, Machine.db, Machine.clock = loop, db, FrozenClock(START)
    Machine.settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test", database_url=database_url, packs=PACKS, log_json=False,
    )  # fmt: skip
    try:
        run_state_machine_as_test(
            Machine,
            settings=settings(
                max_examples=8,
                stateful_step_count=15,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    finally:
        loop.run_until_complete(db.dispose())
        loop.close()
