"""The journal's balance check (invariant 1) runs once per transaction since migration 0022
(`journal_transaction_check_balance_v2`): the first of a transaction's deferred line events
checks all its lines and the others return. It must still refuse, at commit, a transaction
that a line added after that check unbalances, and each of several transactions posted in
one database transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from credits import accounts as acc
from credits.models import JournalLine, JournalTransaction
from tests.credits.conftest import Ledger
from tests.credits.test_reconcile import _books

pytestmark = pytest.mark.postgres


def _pair(seq: int, cid: str, lot_id: str, credits: int) -> list[JournalLine]:
    return [
        JournalLine(
            transaction_seq=seq, account=acc.available(cid), unit=acc.CREDIT, amount=credits,
            customer_id=cid, lot_id=lot_id,
        ),
        JournalLine(
            transaction_seq=seq, account=acc.ISSUED, unit=acc.CREDIT, amount=-credits,
            customer_id=cid, lot_id=lot_id,
        ),
    ]  # fmt: skip


def _grant(ledger: Ledger, entry_id: str, cid: str) -> JournalTransaction:
    return JournalTransaction(
        id=entry_id, kind="grant", customer_id=cid, credits=1, posted_at=ledger.clock.now()
    )


async def test_a_line_added_after_the_check_is_checked_again(ledger: Ledger) -> None:
    cid, lot_id = await _books(ledger)
    with pytest.raises(IntegrityError, match="does not balance"):
        async with ledger.db.unit_of_work() as session:
            txn = _grant(ledger, "ent_late_line", cid)
            session.add(txn)
            await session.flush()
            session.add_all(_pair(txn.seq, cid, lot_id, 1))
            await session.flush()
            # the check runs now, and passes: the two lines balance
            await session.execute(text("SET CONSTRAINTS journal_lines_balanced IMMEDIATE"))
            await session.execute(text("SET CONSTRAINTS journal_lines_balanced DEFERRED"))
            session.add(_pair(txn.seq, cid, lot_id, 1)[1])  # a second -1 CREDIT line
            await session.flush()
    assert "ent_late_line" not in {t.id for t in await ledger.transactions(cid)}


async def test_each_transaction_of_a_database_transaction_is_checked(ledger: Ledger) -> None:
    cid, lot_id = await _books(ledger)
    with pytest.raises(IntegrityError, match="does not balance"):
        async with ledger.db.unit_of_work() as session:
            first, second = _grant(ledger, "ent_first", cid), _grant(ledger, "ent_second", cid)
            session.add_all([first, second])
            await session.flush()
            lines = _pair(first.seq, cid, lot_id, 1) + _pair(second.seq, cid, lot_id, 1)
            lines[-1].amount = -2  # the second transaction does not balance
            session.add_all(lines)
            await session.flush()
    assert not {"ent_first", "ent_second"} & {t.id for t in await ledger.transactions(cid)}
