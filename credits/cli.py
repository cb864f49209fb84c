"""`creditdesk reconcile` and `creditdesk expire` (registered through credits/feature.py)."""

from __future__ import annotations

import sys

import click

from app.kit.cli import load_settings, with_db
from app.kit.clock import process_clock
from app.kit.db import Database


@click.command()
def reconcile() -> None:
    """Check ledger invariants 1–5 over the whole database; exit 1 on any violation."""
    from credits.reconcile import Report
    from credits.reconcile import reconcile as run_reconcile

    async def work(db: Database) -> Report:
        async with db.unit_of_work() as session:
            return await run_reconcile(session)

    report = with_db(load_settings(), work)
    click.echo(report.render())
    sys.exit(0 if report.ok else 1)


@click.command()
def expire() -> None:
    """Write off credits whose lots have lapsed (idempotent)."""
    from credits.tasks import sweep_expired

    settings = load_settings()
    now = process_clock(settings.clock_start).now()
    expired = with_db(settings, lambda db: sweep_expired(db, now))
    click.echo(f"expired {expired} credit(s)")


COMMANDS: list[click.Command] = [reconcile, expire]
