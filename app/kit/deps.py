"""Small dependencies shared by every feature's endpoints.

The request-scoped ones are `async def`: FastAPI runs a plain `def` dependency in its
thread pool, a thread hop per dependency per request on the hot path."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path, Request

from app.kit.clock import Clock
from app.settings import Settings

# Path ids, declared once: `customer_id: CustomerId`.
CustomerId = Annotated[str, Path(max_length=40, description="`cus_…`")]


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_now(request: Request) -> datetime:
    clock: Clock = request.app.state.clock
    return clock.now()
