"""`creditdesk webhooks-send` (registered through app/webhooks/feature.py)."""

from __future__ import annotations

import click

from app.kit.cli import load_settings, with_db
from app.kit.clock import process_clock


@click.command("webhooks-send")
@click.option("--loop", is_flag=True, help="Keep sending (every webhook_send_interval_seconds).")
def webhooks_send(loop: bool) -> None:
    """Fan events out to webhook endpoints and send the due deliveries (once, or --loop)."""
    from app.webhooks import tasks

    settings = load_settings()
    clock = process_clock(settings.clock_start)
    if loop:
        with_db(settings, lambda db: tasks.run_sender(db, clock, settings))
        return
    sent = with_db(settings, lambda db: tasks.deliver_round(db, clock, settings))
    click.echo(f"attempted {sent} deliver{'y' if sent == 1 else 'ies'}")


COMMANDS: list[click.Command] = [webhooks_send]
