"""Small dependencies shared by every feature's endpoints.

The request-scoped ones are `async def`: FastAPI runs a plain `def` dependency in its
thread pool, a thread hop per dependency per request on the hot path."""

from __future__ import annotations

from datetime import datetime

from fastapi import Request

from app.kit.clock import Clock
from app.settings import Settings


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_now(request: Request) -> datetime:
    clock: Clock = request.app.state.clock
    return clock.now()
