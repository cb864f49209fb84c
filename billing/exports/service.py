"""Finance exports: the journal as a stream of rows, the deferred-revenue roll-forward and
customer statements. Everything is read from the journal; nothing here writes."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from typing import IO

from app.kit.clock import rfc3339
from app.kit.db import Database
from billing.exports import repository
from billing.exports.periods import Period
from billing.exports.schemas import (
    ROLL_FORWARD_LINES,
    DeferredRevenueRead,
    MoneyRollForward,
    RollForward,
)
from billing.exports.writers import (
    JOURNAL_COLUMNS,
    CsvWriter,
    Format,
    JournalCsvLines,
    JournalRowMaker,
    JsonLinesWriter,
    Row,
    XlsxWriter,
    decimal_string,
)

Progress = Callable[[int], None]
TEXT_COLUMNS = ("reference", "memo")


# ---------------------------------------------------------------- the journal


async def journal_rows(
    db: Database, period: Period, *, batch_size: int = repository.BATCH_SIZE
) -> AsyncIterator[list[Row]]:
    """Export rows in batches, in (posted_at, seq, line id) order."""
    make = JournalRowMaker()
    async for batch in repository.journal_batches(db, period, batch_size):
        yield [make(r) for r in batch]


async def journal_text(
    db: Database,
    period: Period,
    fmt: Format,
    *,
    on_rows: Progress | None = None,
    batch_size: int = repository.BATCH_SIZE,
) -> AsyncIterator[bytes]:
    """CSV or JSON Lines, one chunk per batch. The header travels with the first batch,
    so that the first chunk already proves the database answered."""
    if fmt == "csv":
        lines = JournalCsvLines()
        pending = lines.header()
        async for batch in repository.journal_batches(db, period, batch_size):
            yield pending + lines.lines(batch)
            pending = b""
            if on_rows is not None:
                on_rows(len(batch))
    elif fmt == "jsonl":
        writer = JsonLinesWriter(JOURNAL_COLUMNS)
        pending = b""
        async for rows in journal_rows(db, period, batch_size=batch_size):
            yield writer.rows(rows)
            if on_rows is not None:
                on_rows(len(rows))
    else:
        raise ValueError(f"not a text format: {fmt}")
    if pending:
        yield pending


async def journal_xlsx(
    db: Database,
    period: Period,
    target: IO[bytes],
    *,
    on_rows: Progress | None = None,
    batch_size: int = repository.BATCH_SIZE,
) -> None:
    """The workbook, written to `target`. openpyxl is synchronous, so each batch is written
    in a worker thread and the event loop keeps serving."""
    writer = XlsxWriter(JOURNAL_COLUMNS, title="journal")
    async for rows in journal_rows(db, period, batch_size=batch_size):
        await asyncio.to_thread(writer.rows, rows)
        if on_rows is not None:
            on_rows(len(rows))
    await asyncio.to_thread(writer.save, target, period.end)


async def count_journal_lines(db: Database, period: Period) -> int:
    return await repository.count_journal_lines(db, period)


def journal_filename(period: Period, fmt: Format) -> str:
    return f"journal_{period.slug()}.{fmt}"


# ---------------------------------------------------------------- deferred revenue

# The roll-forward line of each transaction kind (an adjustment that adds credits is a free
# grant); kinds not listed (freeze and release move credits between two held accounts and
# net to zero) fall to "other".
KIND_LINES = {
    "grant": "sales",
    "charge": "recognised",
    "refund": "reversed",
    "expiry": "breakage",
    "revoke": "refunded",
    "adjustment": "adjustments",
}
SIGNS = dict(ROLL_FORWARD_LINES)


def _roll_forward(increases: dict[str, int]) -> RollForward:
    """`increases`: how much each line raised the balance (opening: the balance itself)."""
    figures = {line: sign * increases.get(line, 0) for line, sign in ROLL_FORWARD_LINES}
    closing = sum(increases.values())
    return RollForward(opening=increases.get("opening", 0), closing=closing, **figures)


async def deferred_revenue(
    db: Database, period: Period, *, currencies: Iterable[str] = ()
) -> DeferredRevenueRead:
    """The roll-forward of `[from, to)` from the journal alone: each figure sums journal
    lines up to `to`, so the closing of `[a, b)` is the opening of `[b, c)` by construction,
    and the closing equals Σ lots' remaining value at `to` (ledger invariant 4)."""
    money: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    credits: dict[str, int] = defaultdict(int)
    for m in await repository.roll_forward_movements(db, period):
        line = "opening" if m.phase == "opening" else KIND_LINES.get(m.phase, "other")
        if m.phase == "adjustment" and m.klass == "held" and m.up:
            line = "free_grants"  # an admin's grant: free credits, like a spend reward
        if m.klass == "deferred":
            money[m.unit][line] -= m.total  # a liability: credit-negative
        else:
            credits[line] += m.total
    paid = await repository.paid_grant_credits(db, period)
    credits["free_grants"] += credits["sales"] - paid  # grants without money
    credits["sales"] = paid
    for currency in currencies:  # the house currency is listed even when nothing moved
        money.setdefault(currency, defaultdict(int))
    return DeferredRevenueRead(
        from_=period.start,
        to=period.end,
        money=[
            MoneyRollForward.of(currency, _roll_forward(money[currency]))
            for currency in sorted(money)
        ],
        credits=_roll_forward(credits),
    )


ROLL_FORWARD_CSV_COLUMNS = ("line", "currency", "amount", "credits")


def deferred_revenue_csv(report: DeferredRevenueRead) -> bytes:
    """The roll-forward as a small CSV: one row per line and currency, money as decimals."""
    writer = CsvWriter(ROLL_FORWARD_CSV_COLUMNS)
    lines = ["opening", *(line for line, _ in ROLL_FORWARD_LINES), "closing"]
    rows: list[Row] = []
    moneys: list[MoneyRollForward | None] = [*report.money] or [None]
    for money in moneys:
        for line in lines:
            rows.append(
                (
                    line,
                    money.currency if money else None,
                    decimal_string(getattr(money, line).amount, money.currency) if money else None,
                    getattr(report.credits, line),
                )
            )
    return writer.header() + writer.rows(rows)


# ---------------------------------------------------------------- statements

STATEMENT_COLUMNS = (
    "entry_id", "created_at", "kind", "reason", "credits", "balance_after", "lot_id",
    "ticket_id", "ticket_number", "purchase_id", "reference", "memo",
)  # fmt: skip


async def statement_csv(
    db: Database, customer_id: str, period: Period | None
) -> AsyncIterator[bytes]:
    """The customer's entries, oldest first, as CSV (the header travels with the first
    page, or alone when there is none)."""
    writer = CsvWriter(STATEMENT_COLUMNS, TEXT_COLUMNS)
    pending = writer.header()
    async for batch in repository.statement_batches(db, customer_id, period):
        rows = [(*r[:1], rfc3339(r[1]), *r[2:12]) for r in batch]
        yield pending + writer.rows(rows)
        pending = b""
    if pending:
        yield pending


async def customer_exists(db: Database, customer_id: str) -> bool:
    return await repository.customer_exists(db, customer_id)


__all__ = [
    "count_journal_lines",
    "customer_exists",
    "deferred_revenue",
    "deferred_revenue_csv",
    "journal_filename",
    "journal_rows",
    "journal_text",
    "journal_xlsx",
    "statement_csv",
]
