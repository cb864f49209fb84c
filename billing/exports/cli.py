"""`creditdesk export …`: the finance exports from the command line (registered through
billing/exports/feature.py).

Files are written next to their destination as `NAME.partial` and renamed when complete,
so an interrupted export never leaves a file that looks whole."""

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
from billing.exports.periods import Period, parse_period

T = TypeVar("T")


def _period(raw_from: str, raw_to: str) -> Period:
    # The operator's command has no length limit (the HTTP API has export_max_days).
    try:
        return parse_period(raw_from, raw_to, max_days=None)
    except AppError as exc:
        raise click.BadParameter(exc.detail) from exc


def _run(work: Callable[[Database], Awaitable[T]]) -> T:
    # no database-error translation: an OSError here may be the output file's
    return with_db(load_settings(), work, explain_db_errors=False)


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
    "--format", "fmt", type=click.Choice(["csv", "jsonl", "xlsx"]), default="csv", show_default=True
)
@click.option("--output", "-o", default="-", show_default=True, help="file, or - for stdout")
def export_journal(raw_from: str, raw_to: str, fmt: str, output: str) -> None:
    """One row per journal line posted in [from, to)."""
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
