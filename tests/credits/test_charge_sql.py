"""The ledger's charge is one SQL function, `credits_charge_v1` (credits.sql), for the
general path (`credits.service.charge`) and the desk's one-call submission alike: what it
writes, what it leaves in the caller's session, and the split of value it shares with the
Python operations (`credits.catalogue.split_value`)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from credits import accounts as acc
from credits import service
from credits.catalogue import split_value
from credits.errors import InsufficientCredits
from credits.models import JournalLine, Lot, Wallet
from tests.credits.conftest import Ledger

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


async def test_the_sql_split_of_value_is_split_value(run_sql: Any) -> None:
    """Expiry, revocation and adjustments split in Python, charges in SQL: one rule."""
    rows = await run_sql(
        "SELECT v, u, t, credits_split_value_v1(v, u, t) FROM generate_series(0, 130, 7) v,"
        " generate_series(1, 9) u, generate_series(1, 9) t WHERE t <= u"
    )
    assert len(rows) > 800
    wrong = [(v, u, t, got) for v, u, t, got in rows if got != split_value(v, u, t)]
    assert not wrong, wrong[:5]


async def test_a_charge_across_lots_posts_each_lot_in_consumption_order(ledger: Ledger) -> None:
    cid = await ledger.customer()
    paid = await ledger.grant(cid, 3, 10_000, valid_days=30)  # 3334, 3333, 3333
    free = await ledger.grant(cid, 1)  # no expiry: after the paid lot
    later = await ledger.grant(cid, 2, 999)  # no expiry, paid: after the free lot
    async with ledger.db.unit_of_work() as session:
        loaded = (await session.execute(select(Lot).where(Lot.id == paid.id))).scalar_one()
        posted = await service.charge(session, cid, credits=5, now=ledger.clock.now())
        # the session's objects are as the function left them, and nothing is left to flush
        assert (loaded.remaining, loaded.value_remaining) == (0, 0)
        wallet = await session.get(Wallet, cid)
        assert wallet is not None and wallet.available == 1
        assert not session.dirty
    assert [(t.lot_id, t.credits, t.value) for t in posted.takes] == [
        (paid.id, 3, 10_000), (free.id, 1, 0), (later.id, 1, 500),
    ]  # fmt: skip
    txn = posted.transaction
    assert (txn.kind, txn.credits, txn.balance_after, txn.lot_id) == ("charge", -5, 1, None)
    async with ledger.db.unit_of_work() as session:
        lines = (
            await session.execute(
                select(
                    JournalLine.account, JournalLine.unit, JournalLine.amount, JournalLine.lot_id
                )
                .where(JournalLine.transaction_seq == txn.seq)
                .order_by(JournalLine.id)
            )
        ).all()
    available = acc.available(cid)
    assert [tuple(line) for line in lines] == [
        (acc.CONSUMED, acc.CREDIT, 3, paid.id), (available, acc.CREDIT, -3, paid.id),
        (acc.DEFERRED, "EUR", 10_000, paid.id), (acc.REVENUE_SUPPORT, "EUR", -10_000, paid.id),
        (acc.CONSUMED, acc.CREDIT, 1, free.id), (available, acc.CREDIT, -1, free.id),
        (acc.CONSUMED, acc.CREDIT, 1, later.id), (available, acc.CREDIT, -1, later.id),
        (acc.DEFERRED, "EUR", 500, later.id), (acc.REVENUE_SUPPORT, "EUR", -500, later.id),
    ]  # fmt: skip
    assert (await ledger.lot(later.id)).value_remaining == 499
    assert (await ledger.wallet(cid)).available == 1


async def test_a_charge_beyond_the_balance_changes_nothing(ledger: Ledger) -> None:
    cid = await ledger.customer()
    await ledger.grant(cid, 2, 200)
    with pytest.raises(InsufficientCredits) as raised:
        await ledger.charge(cid, credits=3)
    assert (raised.value.available, raised.value.required) == (2, 3)
    assert [t.kind for t in await ledger.transactions(cid)] == ["grant"]
    assert (await ledger.wallet(cid)).available == 2
