"""Periodic work inside the server, safe with any number of workers and hosts on one
database.

Every job is idempotent, but not every job should run in every process at once. Each round,
a job runs either:

- **exclusively** (the default): under its PostgreSQL advisory lock (`app.kit.jobs`), so at
  most one process in the whole cluster runs it at a time, and the others skip it this
  round. These are the sweeps over a whole table (credit expiry, SLA escalations, the
  purges of idempotency keys, rate-limit windows and events): in N processes at once they
  would scan the same rows N times and queue on the same row locks as the requests, for
  no gain.
- **in parallel** (`PARALLEL` below): in every process. These claim their rows with
  `FOR UPDATE SKIP LOCKED` under a lease, so several processes split the work rather than
  repeat it, and they wait on the network (SMTP, Stripe), where more senders means more
  throughput: the e-mail outbox, auto top-ups, receipt mails.

The webhook sender is not a periodic job: it is its own loop in every process
(`app.webhooks.feature`), and splits deliveries by the same leases."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from app.email.tasks import send_outbox
from app.features import FEATURES
from app.kit import idempotency, jobs, ratelimit
from app.kit.clock import Clock
from app.kit.db import Database
from app.kit.registry import Job
from app.kit.registry import jobs as feature_jobs
from app.settings import Settings
from app.topups.feature import receipt_mails, top_ups

logger = logging.getLogger("creditdesk.tasks")


async def purge_idempotency_keys(db: Database, clock: Clock, settings: Settings) -> None:
    async with db.unit_of_work() as session:
        await idempotency.purge_expired(
            session,
            now=clock.now(),
            retention=timedelta(hours=settings.idempotency_retention_hours),
        )


async def purge_rate_limits(db: Database, clock: Clock, settings: Settings) -> None:
    await ratelimit.purge(db, clock.now().timestamp(), settings.rate_limit_window_seconds)


# Every job is independent of the others; the kit's own purge runs after the features'.
JOBS: list[Job] = [*feature_jobs(FEATURES), purge_idempotency_keys, purge_rate_limits]

# Jobs that split their work by leased rows (`FOR UPDATE SKIP LOCKED`) and run in every
# process; every other job runs in one process at a time.
PARALLEL: frozenset[Job] = frozenset({send_outbox, top_ups, receipt_mails})


def job_name(job: Job) -> str:
    """The name a job's lock is taken by: the same in every process running this code."""
    return f"{job.__module__}.{job.__qualname__}"


async def run_job(job: Job, db: Database, clock: Clock, settings: Settings) -> bool:
    """Runs one job for this round; returns False if another process holds its lock."""
    if job in PARALLEL:
        await job(db, clock, settings)
        return True
    return await jobs.run_exclusive(db, job_name(job), lambda: job(db, clock, settings))


async def run_periodically(db: Database, clock: Clock, settings: Settings) -> None:
    while True:
        for job in JOBS:
            try:
                await run_job(job, db, clock, settings)
            except Exception:  # one failing job must not stop the others
                logger.exception("periodic job %s failed", job.__name__)
        await asyncio.sleep(settings.periodic_interval_seconds)
