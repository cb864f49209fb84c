"""The staff console: console sessions, the queue, and the static console at `/console/`."""

from __future__ import annotations

from app.console.endpoints import router, static_router
from app.kit.registry import Feature

FEATURE = Feature(name="console", routers=(router, static_router))
