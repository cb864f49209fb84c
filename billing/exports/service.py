"""Finance exports: the journal as a stream of rows, the deferred-revenue roll-forward and
customer statements. Everything is read from the journal; nothing here writes."""

from __future__ import annotations

import asyncio
import zipfile
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import date
from typing import IO, Literal

from app.kit.clock import rfc3339
from app.kit.db import Database
from app.kit.errors import ValidationFailed
from app.settings import Settings
from billing.exports import repository
from billing.exports.account_map import AccountMap, load_account_map
from billing.exports.books import (
    BookJournals,
    Summary,
    local_first_day,
    local_last_day,
)
from billing.exports.books_writers import (
    DATEV_CHARTS,
    XERO_MAX_LINES,
    DatevWriter,
    QuickBooksWriter,
    XeroFiles,
)
from billing.exports.periods import Period
from billing.exports.schemas import (
    ROLL_FORWARD_LINES,
    DeferredRevenueRead,
    MoneyRollForward,
    RollForward,
)
from billing.exports.writers import (
    JOURNAL_COLUMNS,
    BooksFormat,
    CsvWriter,
    Format,
    JournalCsvLines,
    JournalRowMaker,
    JsonLinesWriter,
    Row,
    XlsxWriter,
    _ReproducibleZip,
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


async def count_journal_lines(db: Database, period: Period, *, money_only: bool = False) -> int:
    return await repository.count_journal_lines(db, period, money_only=money_only)


def journal_filename(period: Period, fmt: Format | BooksFormat, kind: str | None = None) -> str:
    if fmt == "datev":
        return f"EXTF_Buchungsstapel_{period.slug()}.csv"
    if fmt in ("xero", "quickbooks"):
        return f"journal_{fmt}_{period.slug()}.{kind or 'csv'}"
    return f"journal_{period.slug()}.{fmt}"


# ---------------------------------------------------------------- the books


async def books_account_map(
    db: Database, period: Period, settings: Settings, fmt: BooksFormat
) -> AccountMap:
    """The account map, checked against the period before anything is sent: 422 naming
    every unmapped money account (and, for DATEV, any code that is not an account number,
    or a period across two fiscal years)."""
    account_map = load_account_map(settings)
    used = await repository.money_accounts(db, period)
    account_map.require(used)
    if fmt == "datev":
        _require_datev_chart(account_map)
        bad = [a for a in used if not account_map.accounts[a].code.isdigit()]
        if bad:
            raise ValidationFailed(
                "DATEV takes account numbers only; the account map gives "
                + ", ".join(f"{a} the code {account_map.accounts[a].code!r}" for a in bad) + ".",
                code="unmapped_account", accounts=bad,
            )  # fmt: skip
        start = fiscal_year_start(local_first_day(period, settings.books_zone), settings)
        if local_last_day(period, settings.books_zone) >= start.replace(year=start.year + 1):
            raise ValidationFailed(
                f"A DATEV batch holds one fiscal year (from {start:%d.%m.}); export the "
                "period in parts.",
                field="to",
            )
    return account_map


def _require_datev_chart(account_map: AccountMap) -> None:
    """DATEV books by the client's chart: a file of the `generic` chart's numbers would put
    revenue on 4000 and the liability on 2400 (expense and deferral accounts in SKR03)
    without a word. SKR03, SKR04, or an own map (`"chart": "none"`) only."""
    if account_map.chart in (None, *DATEV_CHARTS):
        return
    raise ValidationFailed(
        f"DATEV needs a DATEV chart of accounts; the account map in force is "
        f"{account_map.chart!r}, whose numbers mean other accounts in SKR03 and SKR04. Set "
        "CREDITDESK_ACCOUNT_CHART=skr03 or skr04 (or an account map file naming one, or "
        '"chart": "none" with your own accounts).',
        code="not_a_datev_chart",
        chart=account_map.chart,
    )


def fiscal_year_start(day: date, settings: Settings) -> date:
    month = settings.datev_fiscal_year_start_month
    year = day.year if day.month >= month else day.year - 1
    return date(year, month, 1)


async def book_journals(
    db: Database,
    period: Period,
    settings: Settings,
    account_map: AccountMap,
    summary: Summary,
    *,
    on_rows: Progress | None = None,
    batch_size: int = repository.BATCH_SIZE,
) -> AsyncIterator[list]:
    """Batches of BookJournal, in posting order (summaries: by day or month)."""
    journals = BookJournals(account_map, settings.books_zone, summary, period)
    async for batch in repository.journal_batches(
        db, period, batch_size, fields=repository.BOOKS_FIELDS, money_only=True
    ):
        done = journals.feed(batch)
        if done:
            yield done
        if on_rows is not None:
            on_rows(len(batch))
    yield journals.finish()


async def journal_books_text(
    db: Database,
    period: Period,
    fmt: Literal["quickbooks", "datev"],
    settings: Settings,
    account_map: AccountMap,
    summary: Summary,
    *,
    on_rows: Progress | None = None,
    batch_size: int = repository.BATCH_SIZE,
) -> AsyncIterator[bytes]:
    """QuickBooks Online or DATEV, streamed; the header travels with the first batch."""
    zone = settings.books_zone
    writer: QuickBooksWriter | DatevWriter
    if fmt == "quickbooks":
        writer = QuickBooksWriter(settings.quickbooks_date_format)
    else:
        first, last = local_first_day(period, zone), local_last_day(period, zone)
        # "Erzeugt am" from the data, not the clock: the last money entry's time (the
        # period's start when it has none), so that the same period gives the same bytes.
        created = await repository.last_posted_at(db, period) or period.start
        writer = DatevWriter(
            adviser=settings.datev_adviser_number,
            client=settings.datev_client_number,
            fiscal_year_start=fiscal_year_start(first, settings),
            account_length=settings.datev_account_length,
            first_day=first,
            last_day=last,
            label=f"CreditDesk {first:%d.%m.}-{last:%d.%m.%Y}",
            currency=settings.currency,
            chart=account_map.chart,
            created=created.astimezone(zone),
        )
    pending = writer.header()
    async for journals in book_journals(
        db, period, settings, account_map, summary, on_rows=on_rows, batch_size=batch_size
    ):
        yield pending + writer.rows(journals)
        pending = b""
    if pending:
        yield pending


async def journal_xero(
    db: Database,
    period: Period,
    settings: Settings,
    account_map: AccountMap,
    summary: Summary,
    target: IO[bytes],
    *,
    on_rows: Progress | None = None,
    batch_size: int = repository.BATCH_SIZE,
    max_lines: int = XERO_MAX_LINES,
) -> tuple[Literal["csv", "zip"], int]:
    """Xero manual journals into `target`: one CSV when the period fits in one file of
    300 lines, else a ZIP of files (`…_001.csv`, …), each balanced. Returns the kind and
    the number of files. Only the file being filled is held in memory."""
    files = XeroFiles(settings.xero_tax_rate, max_lines)
    archive: zipfile.ZipFile | None = None
    written = 0
    base = f"xero_{period.slug()}"

    def drain() -> None:
        nonlocal archive, written
        while files.files and (archive is not None or len(files.files) > 1):
            if archive is None:
                archive = _ReproducibleZip(target, period.end.replace(tzinfo=None))
            written += 1
            archive.writestr(f"{base}_{written:03d}.csv", files.files.pop(0))

    async for journals in book_journals(
        db, period, settings, account_map, summary, on_rows=on_rows, batch_size=batch_size
    ):
        files.add(journals)
        drain()
    files.finish()
    drain()
    if archive is None:
        target.write(files.files[0])
        return "csv", 1
    archive.close()
    return "zip", written


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
    by_age = await repository.recognition_by_lot_age(db, period)
    return DeferredRevenueRead(
        from_=period.start,
        to=period.end,
        money=[
            MoneyRollForward.of(
                currency,
                _roll_forward(money[currency]),
                recognised_from_opening=by_age.get((currency, True), 0),
                recognised_from_sales=by_age.get((currency, False), 0),
            )
            for currency in sorted(money)
        ],
        credits=_roll_forward(credits),
    )


ROLL_FORWARD_CSV_COLUMNS = ("line", "currency", "amount", "credits")


def deferred_revenue_csv(report: DeferredRevenueRead) -> bytes:
    """The roll-forward as a small CSV: one row per line and currency, money as decimals."""
    writer = CsvWriter(ROLL_FORWARD_CSV_COLUMNS)
    lines = ["opening", *(line for line, _ in ROLL_FORWARD_LINES), "closing"]
    lines[lines.index("recognised") + 1 : lines.index("recognised") + 1] = [
        "recognised_from_opening",
        "recognised_from_sales",
    ]
    rows: list[Row] = []
    moneys: list[MoneyRollForward | None] = [*report.money] or [None]
    for money in moneys:
        for line in lines:
            rows.append(
                (
                    line,
                    money.currency if money else None,
                    decimal_string(getattr(money, line).amount, money.currency) if money else None,
                    getattr(report.credits, line, None),
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
    "book_journals",
    "books_account_map",
    "count_journal_lines",
    "customer_exists",
    "deferred_revenue",
    "deferred_revenue_csv",
    "journal_books_text",
    "journal_filename",
    "journal_rows",
    "journal_text",
    "journal_xero",
    "journal_xlsx",
    "statement_csv",
]
