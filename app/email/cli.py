"""`creditdesk` sub-commands of the e-mail channel (registered by app.cli)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import click


@click.command("smtp")
@click.option("--host", default=None, help="listen address (CREDITDESK_EMAIL_LISTEN_HOST)")
@click.option("--port", type=int, default=None, help="port (CREDITDESK_EMAIL_LISTEN_PORT)")
@click.option("--no-outbox", is_flag=True, help="do not send the outbox from this process")
def smtp(host: str | None, port: int | None, no_outbox: bool) -> None:
    """Receive mail by SMTP into tickets (and send the outbox) until interrupted."""
    from app.cli import _settings
    from app.email.outbox import send_due
    from app.email.smtp import start_listener
    from app.kit.clock import Clock
    from app.kit.db import Database
    from app.kit.observability import configure_logging

    settings = _settings()
    configure_logging(settings.log_level, json_format=settings.log_json)
    bind_host = host or settings.email_listen_host
    bind_port = settings.email_listen_port if port is None else port

    async def run() -> None:
        db = Database(settings.database_url, pool_size=settings.database_pool_size)
        clock = Clock()
        server = await start_listener(db, clock, settings, host=bind_host, port=bind_port)
        click.echo(f"listening for mail on {bind_host}:{bind_port}", err=True)
        try:
            while True:
                if not no_outbox:
                    try:
                        await send_due(db, settings, clock.now())
                    except Exception:  # the database is down: try again next round
                        logging.getLogger("creditdesk.email").exception("outbox round failed")
                await asyncio.sleep(settings.periodic_interval_seconds)
        finally:
            server.close()
            await server.wait_closed()
            await db.dispose()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


COMMANDS: list[click.Command] = [smtp]
