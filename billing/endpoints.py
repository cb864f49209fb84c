from __future__ import annotations

from fastapi import APIRouter

from app.kit.routing import TransactionalRoute

router = APIRouter(prefix="/v1", route_class=TransactionalRoute, tags=["payments"])
