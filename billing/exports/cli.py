"""`creditdesk export …`: the finance exports from the command line (registered through
billing/exports/feature.py).

Files are written next to their destination as `NAME.partial` and renamed when complete,
so an interrupted export never leaves a file that looks whole.

With `CREDITDESK_READ_REPLICA_URL` every command here reads from the replica, in read-only
transactions: an operator's export may miss the last seconds of postings (see
docs/operations.md), never the primary's capacity."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from app.kit.cli import load_settings, with_db
from app.kit.db import Database
from app.kit.errors import AppError
from billing.exports import service
from billing.exports.account_map import AccountMapError, load_account_map
from billing.exports.books import SUMMARIES, Summary
from billing.exports.periods import Period, parse_period
from billing.exports.writers import BOOKS_FORMATS

T = TypeVar("T")


def _period(raw_from: str, raw_to: str, *, books: bool = False) -> Period:
    # The operator's command has no length limit (the HTTP API has export_max_days).
    zone = load_settings().books_zone if books else None
    try:
        if zone is not None:
            return parse_period(raw_from, raw_to, max_days=None, zone=zone)
        return parse_period(raw_from, raw_to, max_days=None)
    except AppError as exc:
        raise click.BadParameter(exc.detail) from exc


def _run(work: Callable[[Database], Awaitable[T]]) -> T:
    settings = load_settings()

    async def on_reader(db: Database) -> T:
        if settings.read_replica_url is None:
            return await work(db)
        replica = Database(settings.read_replica_url, pool_size=2, read_only=True)
        try:
            return await work(replica)
        finally:
            await replica.dispose()

    # no database-error translation: an OSError here may be the output file's
    return with_db(settings, on_reader, explain_db_errors=False)


@contextlib.contextmanager
def _destination(output: str, *, binary_ok_on_tty: bool = True) -> Iterator[IO[bytes]]:
    if output == "-":
        if not binary_ok_on_tty and sys.stdout.isatty():
            raise click.UsageError("refusing to write a binary file to a terminal; use --output")
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(output)
    if target.exists() and not target.is_file():  # /dev/null, a pipe: nothing to rename
        with target.open("wb") as file:
            yield file
        return
    partial = target.with_name(target.name + ".partial")
    try:
        with partial.open("wb") as file:
            yield file
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


class _Progress:
    """click's progress bar on stderr when a person is watching, else nothing."""

    def __init__(self, total: int | None, label: str) -> None:
        self.bar: Any = None
        if total is not None:
            self.bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True)
            self.bar.__enter__()

    def __call__(self, rows: int) -> None:
        if self.bar is not None:
            self.bar.update(rows)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _watching() -> bool:
    return sys.stderr.isatty()


@click.group("export")
def export() -> None:
    """Finance exports: the journal, deferred revenue, customer statements."""


@export.command("journal")
@click.option("--from", "raw_from", required=True, help="start, inclusive (2026-11-01 or RFC 3339)")
@click.option("--to", "raw_to", required=True, help="end, exclusive")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl", "xlsx", *BOOKS_FORMATS]),
    default="csv",
    show_default=True,
)
@click.option(
    "--summary",
    type=click.Choice(SUMMARIES),
    default="none",
    show_default=True,
    help="books formats: one journal per transaction, or per day or month and account pair",
)
@click.option("--output", "-o", default="-", show_default=True, help="file, or - for stdout")
def export_journal(raw_from: str, raw_to: str, fmt: str, summary: str, output: str) -> None:
    """One row per journal line posted in [from, to); or, with xero, quickbooks or datev,
    its money lines as the books import them (dates in the books' time zone)."""
    if fmt in BOOKS_FORMATS:
        _export_books(raw_from, raw_to, fmt, summary, output)  # type: ignore[arg-type]
        return
    if summary != "none":
        raise click.UsageError("--summary applies to xero, quickbooks and datev")
    period = _period(raw_from, raw_to)

    async def work(db: Database) -> int:
        total = await service.count_journal_lines(db, period) if _watching() else None
        progress = _Progress(total, "journal")
        try:
            with _destination(output, binary_ok_on_tty=fmt != "xlsx") as out:
                return await _write_journal(db, period, fmt, out, progress)
        finally:
            progress.close()

    rows = _run(work)
    click.echo(f"exported {rows} journal line(s), {period.label}", err=True)


async def _write_journal(
    db: Database, period: Period, fmt: str, out: IO[bytes], progress: _Progress
) -> int:
    written = 0

    def count(rows: int) -> None:
        nonlocal written
        written += rows
        progress(rows)

    if fmt == "xlsx":
        await service.journal_xlsx(db, period, out, on_rows=count)
        return written
    chunks: AsyncIterator[bytes] = service.journal_text(db, period, fmt, on_rows=count)  # type: ignore[arg-type]
    async for chunk in chunks:
        out.write(chunk)
    return written


def _export_books(raw_from: str, raw_to: str, fmt: str, summary: Summary, output: str) -> None:
    settings = load_settings()
    try:
        load_account_map(settings)
    except AccountMapError as exc:
        raise click.ClickException(str(exc)) from exc
    period = _period(raw_from, raw_to, books=True)

    async def work(db: Database) -> str:
        try:
            account_map = await service.books_account_map(db, period, settings, fmt)  # type: ignore[arg-type]
        except AppError as exc:
            raise click.ClickException(exc.detail) from exc
        total = (
            await service.count_journal_lines(db, period, money_only=True) if _watching() else None
        )
        progress = _Progress(total, fmt)
        try:
            with _destination(output, binary_ok_on_tty=fmt != "xero") as out:
                if fmt == "xero":
                    kind, files = await service.journal_xero(
                        db, period, settings, account_map, summary, out, on_rows=progress
                    )
                    return f"a ZIP of {files} Xero files" if kind == "zip" else "one Xero file"
                async for chunk in service.journal_books_text(
                    db, period, fmt, settings, account_map, summary,  # type: ignore[arg-type]
                    on_rows=progress,
                ):  # fmt: skip
                    out.write(chunk)
                return f"a {fmt} file"
        finally:
            progress.close()

    what = _run(work)
    click.echo(f"exported {what}, {period.label}", err=True)


@export.command("deferred-revenue")
@click.option("--from", "raw_from", required=True, help="start, inclusive (2026-11-01 or RFC 3339)")
@click.option("--to", "raw_to", required=True, help="end, exclusive")
@click.option(
    "--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True
)
@click.option("--output", "-o", default="-", show_default=True, help="file, or - for stdout")
def export_deferred_revenue(raw_from: str, raw_to: str, fmt: str, output: str) -> None:
    """The deferred-revenue roll-forward of [from, to), in money and credits."""
    period = _period(raw_from, raw_to)
    currency = load_settings().currency
    report = _run(lambda db: service.deferred_revenue(db, period, currencies=[currency]))
    if fmt == "csv":
        data = service.deferred_revenue_csv(report)
    else:
        document = report.model_dump(mode="json", by_alias=True)
        data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
    with _destination(output) as out:
        out.write(data)


@export.command("statement")
@click.argument("customer_id")
@click.option("--from", "raw_from", default=None, help="start, inclusive (default: the beginning)")
@click.option("--to", "raw_to", default=None, help="end, exclusive")
@click.option("--output", "-o", default="-", show_default=True, help="file, or - for stdout")
def export_statement(
    customer_id: str, raw_from: str | None, raw_to: str | None, output: str
) -> None:
    """A customer's credit statement as CSV, oldest first."""
    period = None
    if raw_from is not None or raw_to is not None:
        if raw_from is None or raw_to is None:
            raise click.UsageError("give both --from and --to, or neither")
        period = _period(raw_from, raw_to)

    async def work(db: Database) -> None:
        if not await service.customer_exists(db, customer_id):
            raise click.ClickException(f"no such customer: {customer_id}")
        with _destination(output) as out:
            async for chunk in service.statement_csv(db, customer_id, period):
                out.write(chunk)

    _run(work)


COMMANDS: list[click.Command] = [export]
