"""Finance exports over HTTP and `creditdesk export …` (no tables of their own)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.kit.registry import Feature
from app.settings import Settings
from billing.exports.account_map import load_account_map
from billing.exports.cli import COMMANDS
from billing.exports.endpoints import router


@asynccontextmanager
async def lifespan(_app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """A bad account map file stops the service at start, saying why."""
    load_account_map(settings)
    yield


FEATURE = Feature(name="billing.exports", routers=(router,), cli=tuple(COMMANDS), lifespan=lifespan)
