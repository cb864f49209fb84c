"""`creditdesk` sub-commands of the billing feature (registered by app.cli)."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta

import click

from app.kit.clock import Clock
from app.kit.db import Database
from app.settings import ConfigurationError, load_settings


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

    try:
        settings = load_settings()
    except ConfigurationError as exc:
        raise click.ClickException(f"invalid configuration: {exc}") from None

    async def run() -> dict[str, object]:
        db = Database(settings.database_url, pool_size=2)
        gateway = build_gateway(settings)
        try:
            report = await run_sync(
                db, gateway, settings, Clock().now(),
                max_age=timedelta(days=max_age_days), limit=limit,
            )  # fmt: skip
            return report.as_dict()
        finally:
            if gateway is not None:
                await gateway.aclose()
            await db.dispose()

    if settings.payment_provider == "offline":
        click.echo("offline payment provider: only parked events are retried", err=True)
    summary = asyncio.run(run())
    click.echo(json.dumps(summary))
    sys.exit(1 if summary["errors"] else 0)


COMMANDS: list[click.Command] = [sync_payments]
