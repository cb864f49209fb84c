"""`creditdesk reconcile` and `creditdesk expire` as an operator runs them, and the
PostgreSQL triggers that guard the journal."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.cli import main
from app.kit.db import Database
from credits import accounts as acc
from credits.models import JournalLine, JournalTransaction
from tests.credits.conftest import Ledger


async def _cli(database_url: str, *args: str) -> Result:
    """Runs the command in a thread: it starts its own event loop, as in a shell."""
    runner = CliRunner()
    env = {"CREDITDESK_DATABASE_URL": database_url}
    return await asyncio.to_thread(runner.invoke, main, list(args), env=env)


async def _sql(db: Database, sql: str, *, bypass_triggers: bool = False, **params: object) -> None:
    """Raw SQL on a connection of its own, as someone editing the database by hand."""
    async with db.engine.begin() as conn:
        if bypass_triggers:
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(text(sql), params)


async def _books(ledger: Ledger) -> tuple[str, str]:
    cid = await ledger.customer()
    lot = await ledger.grant(cid, 5, 10_000)
    await ledger.charge(cid, 2)
    return cid, lot.id


async def test_a_clean_ledger_reconciles(ledger: Ledger, database_url: str) -> None:
    await _books(ledger)
    result = await _cli(database_url, "reconcile")
    assert result.exit_code == 0, result.output
    assert "OK: invariants 1-5 hold" in result.output
    assert "deferred revenue: 60.00 EUR" in result.output


async def test_reconcile_catches_a_corrupted_wallet_balance(
    ledger: Ledger, database_url: str
) -> None:
    cid, _ = await _books(ledger)
    await _sql(
        ledger.db, "UPDATE wallets SET available = available + 1 WHERE customer_id = :c", c=cid
    )
    result = await _cli(database_url, "reconcile")
    assert result.exit_code == 1
    assert "FAILED" in result.output
    assert f"[2] wallet {cid}: stored available 4 != journal 3" in result.output
    await _sql(
        ledger.db, "UPDATE wallets SET available = available - 1 WHERE customer_id = :c", c=cid
    )


async def test_reconcile_catches_a_corrupted_lot(ledger: Ledger, database_url: str) -> None:
    cid, lot_id = await _books(ledger)
    await _sql(ledger.db, "UPDATE lots SET remaining = remaining - 1 WHERE id = :l", l=lot_id)
    result = await _cli(database_url, "reconcile")
    assert result.exit_code == 1
    assert f"[3] lot {lot_id}: remaining 2 != journal 3" in result.output
    assert f"[2] wallet {cid}: stored (available, frozen) (3, 0) != lots (2, 0)" in result.output
    await _sql(
        ledger.db, "UPDATE lots SET value_remaining = 1, credits = 9 WHERE id = :l", l=lot_id
    )
    result = await _cli(database_url, "reconcile")
    assert f"[3] lot {lot_id}: credits 9 != granted 5" in result.output
    assert f"[4] lot {lot_id}: value 1 != deferred revenue lines 6000" in result.output
    assert "[4] deferred_revenue EUR: balance 6000 != lots' remaining value 1" in result.output
    await _sql(
        ledger.db,
        "UPDATE lots SET remaining = 3, credits = 5, value_remaining = 6000 WHERE id = :l",
        l=lot_id,
    )


async def test_reconcile_catches_a_corrupted_journal_line(
    ledger: Ledger, database_url: str
) -> None:
    cid, _ = await _books(ledger)
    account = acc.available(cid)
    corrupt = (
        "UPDATE journal_lines SET amount = amount + 1 "
        "WHERE id = (SELECT min(id) FROM journal_lines WHERE account = :a)"
    )
    with pytest.raises(DBAPIError, match="append-only"):
        await _sql(ledger.db, corrupt, a=account)
    with pytest.raises(DBAPIError, match="append-only"):
        await _sql(ledger.db, "DELETE FROM journal_lines WHERE account = :a", a=account)
    await _sql(ledger.db, corrupt, bypass_triggers=True, a=account)
    result = await _cli(database_url, "reconcile")
    assert result.exit_code == 1
    grant_id = (await ledger.transactions(cid, "grant"))[0].id
    assert f"[1] {grant_id}: CREDIT lines sum to 1, not 0" in result.output
    assert f"[2] wallet {cid}: stored available 3 != journal 4" in result.output
    await _sql(ledger.db, corrupt.replace("+ 1", "- 1"), bypass_triggers=True, a=account)


async def test_postgres_refuses_an_unbalanced_transaction_at_commit(ledger: Ledger) -> None:
    cid, lot_id = await _books(ledger)
    now = ledger.clock.now()
    with pytest.raises(IntegrityError, match="does not balance"):
        async with ledger.db.unit_of_work() as session:
            txn = JournalTransaction(
                id="ent_forged", kind="grant", customer_id=cid, credits=1, posted_at=now
            )
            session.add(txn)
            await session.flush()
            session.add_all(
                [
                    JournalLine(
                        transaction_seq=txn.seq, account=acc.available(cid), unit="CREDIT",
                        amount=1, customer_id=cid, lot_id=lot_id,
                    ),
                    JournalLine(
                        transaction_seq=txn.seq, account=acc.ISSUED, unit="CREDIT",
                        amount=-1, customer_id=cid, lot_id=lot_id,
                    ),
                    JournalLine(
                        transaction_seq=txn.seq, account=acc.DEFERRED, unit="EUR",
                        amount=-500, customer_id=cid, lot_id=lot_id,
                    ),
                ]
            )  # fmt: skip
            await session.flush()  # accepted for now: the check runs at commit
    assert "ent_forged" not in {t.id for t in await ledger.transactions(cid)}


async def test_expire_command_writes_off_lapsed_lots_once(
    ledger: Ledger, database_url: str
) -> None:
    # the command runs on the wall clock: grant in the past so that a lot has lapsed
    ledger.clock.set(datetime.now(UTC) - timedelta(days=40))
    cid = await ledger.customer()
    await ledger.grant(cid, 3, 9_000, valid_days=30)
    await ledger.grant(cid, 2, valid_days=60)
    result = await _cli(database_url, "expire")
    assert result.exit_code == 0, result.output
    assert "expired 3 credit(s)" in result.output
    again = await _cli(database_url, "expire")
    assert "expired 0 credit(s)" in again.output
    assert (await ledger.wallet(cid)).available == 2
    (expiry,) = await ledger.transactions(cid, "expiry")
    assert expiry.credits == -3
