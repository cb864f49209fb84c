"""`creditdesk` sub-commands of the desk (registered through app/desk/feature.py)."""

from __future__ import annotations

import click

from app.kit.cli import load_settings, with_db
from app.kit.clock import process_clock


@click.command()
def escalate() -> None:
    """Escalate tickets whose elapsed time reached a level, mark missed first responses
    and, when compensation is on, refund them (idempotent: safe to run at any time)."""
    from app.desk.sla_sweep import sweep

    settings = load_settings()
    result = with_db(
        settings, lambda db: sweep(db, process_clock(settings.clock_start).now(), settings)
    )
    click.echo(result.render())


COMMANDS: list[click.Command] = [escalate]
