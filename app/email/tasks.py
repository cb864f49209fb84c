"""Deferred work of the e-mail channel: the outbox sender (a job of app.tasks)."""

from __future__ import annotations

from app.email.outbox import send_due
from app.kit.clock import Clock
from app.kit.db import Database
from app.settings import Settings


async def send_outbox(db: Database, clock: Clock, settings: Settings) -> None:
    """Sends the mail that is due; failures wait for their backoff and are retried."""
    await send_due(db, settings, clock.now())
