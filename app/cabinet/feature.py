"""The cabinet: portal sessions, and the static cabinet served at `/cabinet/`."""

from __future__ import annotations

from app.cabinet.endpoints import router, static_router
from app.kit.registry import Feature

FEATURE = Feature(name="cabinet", routers=(router, static_router))
