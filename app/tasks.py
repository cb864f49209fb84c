"""Periodic work inside the server: every job is idempotent, so several workers may run
it at once without harm."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from app.features import FEATURES
from app.kit import idempotency, ratelimit
from app.kit.clock import Clock
from app.kit.db import Database
from app.kit.registry import Job
from app.kit.registry import jobs as feature_jobs
from app.settings import Settings

logger = logging.getLogger("creditdesk.tasks")


async def purge_idempotency_keys(db: Database, clock: Clock, settings: Settings) -> None:
    async with db.unit_of_work() as session:
        await idempotency.purge_expired(
            session,
            now=clock.now(),
            retention=timedelta(hours=settings.idempotency_retention_hours),
        )


async def purge_rate_limits(db: Database, clock: Clock, settings: Settings) -> None:
    await ratelimit.purge(db, time.time(), settings.rate_limit_window_seconds)


# Every job is independent of the others; the kit's own purge runs after the features'.
JOBS: list[Job] = [*feature_jobs(FEATURES), purge_idempotency_keys, purge_rate_limits]


async def run_periodically(db: Database, clock: Clock, settings: Settings) -> None:
    while True:
        for job in JOBS:
            try:
                await job(db, clock, settings)
            except Exception:  # one failing job must not stop the others
                logger.exception("periodic job %s failed", job.__name__)
        await asyncio.sleep(settings.periodic_interval_seconds)
