"""An app built with settings other than the `api` fixture's (body limit, metrics token,
a database that is down)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.kit.clock import FrozenClock
from app.main import create_app
from app.settings import Settings
from tests.conftest import started

AppFactory = Callable[..., AbstractAsyncContextManager[tuple[FastAPI, httpx.AsyncClient]]]


@pytest.fixture
def app_with(settings: Settings, clock: FrozenClock) -> AppFactory:
    @asynccontextmanager
    async def build(**overrides: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        app = create_app(settings.model_copy(update=overrides), clock=clock)
        async with started(app) as client:
            yield app, client

    return build
