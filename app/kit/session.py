"""The request's session, opened and committed by `app.kit.routing.TransactionalRoute`."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession


async def get_session(request: Request) -> AsyncSession:
    session: AsyncSession | None = getattr(request.state, "session", None)
    if session is None:  # a route not built on TransactionalRoute
        raise RuntimeError("no database session on this route")
    return session
