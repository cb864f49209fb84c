"""`creditdesk` sub-commands of the e-mail channel (registered through
app/email/feature.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import click

from app.kit.cli import load_settings, with_db


@click.command("smtp")
@click.option("--host", default=None, help="listen address (CREDITDESK_EMAIL_LISTEN_HOST)")
@click.option("--port", type=int, default=None, help="port (CREDITDESK_EMAIL_LISTEN_PORT)")
@click.option("--no-outbox", is_flag=True, help="do not send the outbox from this process")
def smtp(host: str | None, port: int | None, no_outbox: bool) -> None:
    """Receive mail by SMTP into tickets (and send the outbox) until interrupted."""
    from app.email.outbox import send_due
    from app.email.smtp import start_listener
    from app.kit.clock import process_clock
    from app.kit.db import Database
    from app.kit.observability import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level, json_format=settings.log_json)
    bind_host = host or settings.email_listen_host
    bind_port = settings.email_listen_port if port is None else port

    async def run() -> None:
        db = Database.from_settings(settings)
        clock = process_clock(settings.clock_start)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        server = await start_listener(db, clock, settings, host=bind_host, port=bind_port)
        actual = server.sockets[0].getsockname()[1]
        click.echo(f"listening for mail on {bind_host}:{actual}", err=True)
        try:
            while not stop.is_set():
                if not no_outbox:
                    try:
                        await send_due(db, settings, clock.now())
                    except Exception:  # the database is down: try again next round
                        logging.getLogger("creditdesk.email").exception("outbox round failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), settings.periodic_interval_seconds)
        finally:
            server.close()
            await server.wait_closed()
            await db.dispose()

    asyncio.run(run())
    click.echo("stopped", err=True)


@click.command("email-requeue")
def email_requeue() -> None:
    """Put outgoing mail that was given up (`dead`) back in the outbox queue."""
    from app.email.outbox import requeue_dead
    from app.kit.clock import process_clock
    from app.kit.db import Database

    settings = load_settings()

    async def work(db: Database) -> int:
        async with db.unit_of_work() as session:
            return await requeue_dead(session, process_clock(settings.clock_start).now())

    click.echo(f"requeued {with_db(settings, work)} mail(s)")


COMMANDS: list[click.Command] = [smtp, email_requeue]
