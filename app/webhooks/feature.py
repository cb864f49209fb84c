"""Events to the outside world: `GET /v1/events`, webhook endpoints, the delivery loop
(started with the server's periodic jobs), `creditdesk webhooks-send`, the retention purge."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from app.kit.registry import Feature
from app.settings import Settings
from app.webhooks import models
from app.webhooks.cli import COMMANDS
from app.webhooks.endpoints import router
from app.webhooks.tasks import purge_events, run_sender


@contextlib.asynccontextmanager
async def sender(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """Runs the delivery loop in this server process while periodic jobs are enabled."""
    if not settings.periodic_tasks_enabled:
        yield
        return
    task = asyncio.create_task(run_sender(app.state.db, app.state.clock, settings))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


FEATURE = Feature(
    name="webhooks",
    routers=(router,),
    cli=tuple(COMMANDS),
    jobs=(purge_events,),
    models=(models,),
    lifespan=sender,
)
