"""`creditdesk` sub-commands of the billing feature (registered through billing/feature.py)."""

from __future__ import annotations

import json
import sys
from datetime import timedelta

import click

from app.kit.cli import load_settings, with_db
from app.kit.clock import process_clock
from app.kit.db import Database


@click.command("sync-payments")
@click.option("--max-age-days", default=30, show_default=True, type=click.IntRange(1, 3650),
              help="Look at unpaid purchases and parked events this recent.")  # fmt: skip
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 100_000))
def sync_payments(max_age_days: int, limit: int) -> None:
    """Ask Stripe about unpaid purchases and apply what a missed webhook would have
    (same code path, granted at most once); retry parked events. Prints a JSON summary;
    exits 1 if Stripe could not be asked about some purchases."""
    from billing.stripe_client import build_gateway
    from billing.tasks import sync_payments as run_sync

    settings = load_settings()

    async def run(db: Database) -> dict[str, object]:
        gateway = build_gateway(settings)
        try:
            report = await run_sync(
                db, gateway, settings, process_clock(settings.clock_start).now(),
                max_age=timedelta(days=max_age_days), limit=limit,
            )  # fmt: skip
            return report.as_dict()
        finally:
            if gateway is not None:
                await gateway.aclose()

    if settings.payment_provider == "offline":
        click.echo("offline payment provider: only parked events are retried", err=True)
    summary = with_db(settings, run, explain_db_errors=False)
    click.echo(json.dumps(summary))
    sys.exit(1 if summary["errors"] else 0)


COMMANDS: list[click.Command] = [sync_payments]
