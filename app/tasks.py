"""Periodic work inside the server: every job is idempotent, so several workers may run
it at once without harm."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from app.desk.sla.tasks import escalate_tickets
from app.email.tasks import send_outbox
from app.kit import idempotency
from app.kit.clock import Clock
from app.kit.db import Database
from app.settings import Settings
from app.webhooks.tasks import purge_events
from credits.tasks import sweep_expired

logger = logging.getLogger("creditdesk.tasks")


async def purge_idempotency_keys(db: Database, clock: Clock, settings: Settings) -> None:
    async with db.unit_of_work() as session:
        await idempotency.purge_expired(
            session,
            now=clock.now(),
            retention=timedelta(hours=settings.idempotency_retention_hours),
        )


async def expire_credits(db: Database, clock: Clock, settings: Settings) -> None:
    await sweep_expired(db, clock.now())


Job = Callable[[Database, Clock, Settings], Awaitable[None]]
JOBS: list[Job] = [
    expire_credits, purge_idempotency_keys, send_outbox, escalate_tickets, purge_events,
]  # fmt: skip


async def run_periodically(db: Database, clock: Clock, settings: Settings) -> None:
    while True:
        for job in JOBS:
            try:
                await job(db, clock, settings)
            except Exception:  # one failing job must not stop the others
                logger.exception("periodic job %s failed", job.__name__)
        await asyncio.sleep(settings.periodic_interval_seconds)
