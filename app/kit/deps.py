"""Small dependencies shared by every feature's endpoints."""

from __future__ import annotations

from datetime import datetime

from fastapi import Request

from app.kit.clock import Clock
from app.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_now(request: Request) -> datetime:
    return get_clock(request).now()
