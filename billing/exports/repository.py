"""All SQL of the finance exports. Read-only: the journal is never changed here.

Long reads never hold a request transaction. The journal comes through one server-side
cursor (`_journal_stream`): one statement, one snapshot, memory bounded by the batch."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import aliased

from app.kit.db import Database
from billing.exports.periods import Period
from credits import accounts as acc
from credits.models import JournalLine, JournalTransaction, Lot, Wallet

T = JournalTransaction
L = JournalLine

BATCH_SIZE = 5000

JOURNAL_FIELDS = (
    T.id, T.posted_at, T.kind, T.reason, L.account, L.unit, L.amount, L.customer_id, L.lot_id,
    T.ticket_number, T.purchase_id, T.reference, T.memo,
)  # fmt: skip


# The books' view (billing.exports.books): money lines only.
BOOKS_FIELDS = (
    T.seq, T.id, T.posted_at, T.kind, T.reason, L.account, L.unit, L.amount, L.customer_id,
    T.ticket_number,
)  # fmt: skip


def journal_select(
    period: Period, fields: tuple[Any, ...] = JOURNAL_FIELDS, *, money_only: bool = False
) -> Select[*tuple[Any, ...]]:
    """One row per journal line posted in `[start, end)`, in (posted_at, seq, line id)
    order; the last three columns are the keyset."""
    stmt = (
        select(*fields, T.posted_at.label("k_posted_at"), T.seq.label("k_seq"), L.id)
        .join(T, T.seq == L.transaction_seq)
        .where(T.posted_at >= period.start, T.posted_at < period.end)
        .order_by(T.posted_at, T.seq, L.id)
    )
    return stmt.where(L.unit != acc.CREDIT) if money_only else stmt


async def journal_batches(
    db: Database,
    period: Period,
    batch_size: int = BATCH_SIZE,
    *,
    fields: tuple[Any, ...] = JOURNAL_FIELDS,
    money_only: bool = False,
) -> AsyncIterator[Sequence[Any]]:
    """Rows of `fields` in posting order."""
    async for batch in _journal_stream(db, period, batch_size, fields, money_only):
        yield batch


async def _journal_stream(
    db: Database, period: Period, batch_size: int, fields: tuple[Any, ...], money_only: bool
) -> AsyncIterator[Sequence[Any]]:
    """One server-side cursor, in a read-only transaction of its own.

    It runs on the asyncpg connection under SQLAlchemy's (same pool, same statement, the
    SQL compiled by SQLAlchemy) rather than through `AsyncConnection.stream`, for speed:
    each batch is one `FETCH` (SQLAlchemy's adapter makes two), and the next `FETCH` is
    sent before this batch is handed out, so PostgreSQL produces and sends it while the
    caller formats this one. Measured in bench/export_bench.py."""
    stmt = journal_select(period, fields, money_only=money_only).with_only_columns(
        *fields, maintain_column_froms=True
    )
    async with db.engine.connect() as conn:
        compiled = stmt.compile(dialect=conn.dialect)
        params = compiled.construct_params()
        args = [params[name] for name in compiled.positiontup or ()]
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        async with driver.transaction(isolation="repeatable_read", readonly=True):
            cursor = await driver.cursor(str(compiled), *args)
            pending = asyncio.ensure_future(cursor.fetch(batch_size))
            try:
                while batch := await pending:
                    pending = asyncio.ensure_future(cursor.fetch(batch_size))
                    await asyncio.sleep(0)  # let the next FETCH go out
                    yield batch
            finally:
                # A FETCH still in flight is waited for (one batch at most), so that the
                # transaction ends cleanly and the connection goes back to the pool usable.
                with contextlib.suppress(Exception):
                    await pending


async def count_journal_lines(db: Database, period: Period, *, money_only: bool = False) -> int:
    stmt = (
        select(func.count(L.id))
        .join(T, T.seq == L.transaction_seq)
        .where(T.posted_at >= period.start, T.posted_at < period.end)
    )
    if money_only:
        stmt = stmt.where(L.unit != acc.CREDIT)
    async with db.engine.connect() as conn:
        return int((await conn.execute(stmt)).scalar_one())


async def last_posted_at(db: Database, period: Period) -> datetime | None:
    """When the last money line in `[start, end)` was posted (the DATEV header's creation
    time: derived from the data, so the same period always gives the same bytes)."""
    stmt = (
        select(func.max(T.posted_at))
        .join(L, T.seq == L.transaction_seq)
        .where(T.posted_at >= period.start, T.posted_at < period.end, L.unit != acc.CREDIT)
    )
    async with db.engine.connect() as conn:
        found: datetime | None = (await conn.execute(stmt)).scalar_one()
        return found


async def money_accounts(db: Database, period: Period) -> list[str]:
    """The money accounts with lines in `[start, end)` (to check the account map first)."""
    stmt = (
        select(L.account)
        .join(T, T.seq == L.transaction_seq)
        .where(T.posted_at >= period.start, T.posted_at < period.end, L.unit != acc.CREDIT)
        .distinct()
    )
    async with db.engine.connect() as conn:
        return sorted(str(a) for a in (await conn.execute(stmt)).scalars())


# ---------------------------------------------------------------- roll-forward sums


@dataclass(frozen=True, slots=True)
class Movement:
    """Σ amount of the lines of one class: `phase` is "opening" for lines before the
    period, else the transaction's kind; `klass` is "deferred" (money in deferred
    revenue) or "held" (credits in customers' available and frozen accounts); `up` whether
    the lines are debits (for a customer's credits: an increase)."""

    phase: str
    klass: str
    unit: str
    up: bool
    total: int


def _held_credits() -> Any:
    return and_(
        L.unit == acc.CREDIT,
        or_(L.account.like("customer:%:available"), L.account.like("customer:%:frozen")),
    )


async def roll_forward_movements(db: Database, period: Period) -> list[Movement]:
    phase = case((T.posted_at < period.start, "opening"), else_=T.kind)
    klass = case((L.account == acc.DEFERRED, "deferred"), else_="held")
    # Grouped outside a subquery: PostgreSQL would not match a GROUP BY expression that
    # carries its own bound parameter to the same expression in the select list.
    up = case((L.amount > 0, 1), else_=0)
    lines = (
        select(phase.label("phase"), klass.label("klass"), L.unit, up.label("up"), L.amount)
        .join(T, T.seq == L.transaction_seq)
        .where(T.posted_at < period.end, or_(L.account == acc.DEFERRED, _held_credits()))
        .subquery()
    )
    keys = (lines.c.phase, lines.c.klass, lines.c.unit, lines.c.up)
    stmt = select(*keys, func.sum(lines.c.amount)).group_by(*keys)
    async with db.engine.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    return [Movement(str(p), str(k), str(u), bool(d), int(t)) for p, k, u, d, t in rows]


async def paid_grant_credits(db: Database, period: Period) -> int:
    """Credits granted in the period by grants that brought money (pack sales)."""
    money = aliased(JournalLine)
    stmt = (
        select(func.coalesce(func.sum(L.amount), 0))
        .join(T, T.seq == L.transaction_seq)
        .where(
            T.kind == "grant",
            T.posted_at >= period.start,
            T.posted_at < period.end,
            _held_credits(),
            exists().where(money.transaction_seq == T.seq, money.account == acc.DEFERRED),
        )
    )
    async with db.engine.connect() as conn:
        return int((await conn.execute(stmt)).scalar_one())


async def recognition_by_lot_age(db: Database, period: Period) -> dict[tuple[str, bool], int]:
    """(currency, lot granted before `from`) → value recognised on tickets in the period
    (debits of deferred revenue by charges)."""
    older = case((Lot.created_at < period.start, 1), else_=0)
    lines = (
        select(L.unit, older.label("older"), L.amount)
        .join(T, T.seq == L.transaction_seq)
        .join(Lot, Lot.id == L.lot_id)
        .where(
            T.kind == "charge",
            L.account == acc.DEFERRED,
            T.posted_at >= period.start,
            T.posted_at < period.end,
        )
        .subquery()
    )
    stmt = select(lines.c.unit, lines.c.older, func.sum(lines.c.amount)).group_by(
        lines.c.unit, lines.c.older
    )
    async with db.engine.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    return {(str(unit), bool(old)): int(total) for unit, old, total in rows}


# ---------------------------------------------------------------- statements

STATEMENT_FIELDS = (
    T.id, T.posted_at, T.kind, T.reason, T.credits, T.balance_after, T.lot_id, T.ticket_id,
    T.ticket_number, T.purchase_id, T.reference, T.memo,
)  # fmt: skip


async def customer_exists(db: Database, customer_id: str) -> bool:
    async with db.engine.connect() as conn:
        found = await conn.execute(
            select(Wallet.customer_id).where(Wallet.customer_id == customer_id)
        )
        return found.first() is not None


async def statement_batches(
    db: Database, customer_id: str, period: Period | None, batch_size: int = BATCH_SIZE
) -> AsyncIterator[Sequence[Any]]:
    """The customer's entries, oldest first, in keyset pages (a customer's history is
    short next to the journal)."""
    stmt = select(*STATEMENT_FIELDS, T.seq).where(T.customer_id == customer_id).order_by(T.seq)
    if period is not None:
        stmt = stmt.where(T.posted_at >= period.start, T.posted_at < period.end)
    after = 0
    while True:
        async with db.engine.connect() as conn:
            batch = (await conn.execute(stmt.where(T.seq > after).limit(batch_size))).all()
        if not batch:
            return
        yield batch
        if len(batch) < batch_size:
            return
        after = batch[-1].seq
