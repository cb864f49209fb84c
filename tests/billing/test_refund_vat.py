"""Refunds of a purchase whose price included VAT (issues 15 and 20 together): the refunded
money carries its share of the VAT back out of `vat:payable`, the credits revoked cover the
net part, and refunds in parts give back exactly the VAT that was booked."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from app.customers.schemas import CustomerCreate
from app.customers.service import create_customer
from app.kit.clock import FrozenClock
from app.kit.db import Database
from app.settings import Settings
from billing import service as billing
from credits.models import Wallet


async def _balances(run_sql: Any) -> dict[str, int]:
    rows = await run_sql(
        "SELECT account, sum(amount) FROM journal_lines WHERE unit = 'EUR' GROUP BY account"
    )
    return {account: int(total) for account, total in rows}


async def _available(db: Database, customer_id: str) -> int:
    async with db.unit_of_work() as session:
        wallet = await session.get(Wallet, customer_id)
        assert wallet is not None
        return wallet.available


@pytest.mark.parametrize("parts", [[10000], [2000, 8000], [2000, 1500, 6500]])
async def test_refunds_of_a_vat_purchase_give_back_exactly_its_vat(
    db: Database, settings: Settings, clock: FrozenClock, run_sql: Any, parts: list[int]
) -> None:
    vat_settings = settings.model_copy(  # the offline provider: paid at once
        update={"vat_rate": Decimal("0.19"), "stripe_secret_key": None}
    )
    async with db.unit_of_work() as session:
        customer = await create_customer(
            session, CustomerCreate(name="VAT GmbH", email="vat@example.de"), clock.now()
        )
        purchase = await billing.open_purchase(
            session, customer_id=customer.id, pack_code="five", settings=vat_settings,
            now=clock.now(),
        )  # fmt: skip
    assert purchase.vat_amount == 1597  # €100 at 19 %: 84.03 net + 15.97 VAT
    assert (await _balances(run_sql))["vat:payable"] == -1597
    total = 0
    for part in parts:
        total += part
        async with db.unit_of_work() as session:
            row = await billing.get_purchase(session, purchase.id)
            await billing.refund_purchase(
                session, row, total=total, delta=part, reference=None, now=clock.now()
            )
        if total == 2000:  # €20 = 3.19 VAT + 16.81 net: exactly one credit (worth 16.81)
            assert await _available(db, customer.id) == 4
            assert (await _balances(run_sql)).get("revenue:refunds", 0) == 0
    balances = await _balances(run_sql)
    assert balances["vat:payable"] == 0  # every cent of VAT went back with the money
    assert balances.get("deferred_revenue", 0) == 0
    assert balances.get("revenue:refunds", 0) == 0  # nothing was used: nothing to reverse
    assert await _available(db, customer.id) == 0
