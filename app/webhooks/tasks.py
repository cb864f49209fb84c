"""Webhook work in the server and the CLI.

`serve` runs `run_sender` beside the 60-second periodic loop: fan-out then sending, every
`webhook_send_interval_seconds` (default 1 s) and again at once while there was work, so
a delivery leaves about a second after its change commits. Each round is safe with any
number of workers and processes (see delivery.py). The retention purge is a periodic job."""

from __future__ import annotations

import asyncio
import logging

from app.kit.clock import Clock
from app.kit.db import Database
from app.settings import Settings
from app.webhooks import delivery

logger = logging.getLogger("creditdesk.webhooks")


async def deliver_round(
    db: Database, clock: Clock, settings: Settings, client: object = None
) -> int:
    """One fan-out and sending round; returns the deliveries attempted."""
    await delivery.fan_out(db, clock.now(), settings)
    return await delivery.send_due(db, clock, settings, client)  # type: ignore[arg-type]


async def run_sender(db: Database, clock: Clock, settings: Settings) -> None:
    async with delivery.new_client(settings) as client:
        while True:
            try:
                busy = await deliver_round(db, clock, settings, client)
            except Exception:  # the database may be away for a while: keep going
                logger.exception("webhook round failed")
                busy = 0
            if not busy:
                await asyncio.sleep(settings.webhook_send_interval_seconds)


async def purge_events(db: Database, clock: Clock, settings: Settings) -> None:
    """The periodic job (app.tasks.JOBS): events and finished deliveries past retention."""
    await delivery.purge(db, clock.now(), settings)
