"""Every API route runs in one database transaction, committed at this boundary.

A response of 400 or more rolls the transaction back, so bad input changes nothing; a
successful POST with an `Idempotency-Key` stores its response in the same transaction as
its effect."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.responses import Response, StreamingResponse

from app.kit import idempotency
from app.kit.auth import bearer_token
from app.kit.db import Database

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class TransactionalRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        honours_idempotency = "POST" in (self.methods or set())

        async def run_in_transaction(request: Request) -> Response:
            db: Database = request.app.state.db
            key = request.headers.get("idempotency-key") if honours_idempotency else None
            if key is not None:
                idempotency.validate_key(key)
            async with db.sessionmaker() as session:
                request.state.session = session
                await session.begin()
                try:
                    record = None
                    if key is not None:
                        claimed = await idempotency.claim(
                            session,
                            scope=_scope(request),
                            key=key,
                            fingerprint=idempotency.request_fingerprint(
                                request.method, request.url.path, await request.body()
                            ),
                            now=request.app.state.clock.now(),
                            retention=timedelta(
                                hours=request.app.state.settings.idempotency_retention_hours
                            ),
                        )
                        if isinstance(claimed, Response):
                            await session.rollback()
                            return claimed
                        record = claimed
                    response = await handler(request)
                    if response.status_code >= 400 or isinstance(response, StreamingResponse):
                        await session.rollback()
                        return response
                    if record is not None:
                        await idempotency.remember(session, record, response)
                    await session.commit()
                    return response
                except BaseException:
                    await session.rollback()
                    raise

        return run_in_transaction


def _scope(request: Request) -> str:
    """Keys are per caller: the hash of the presented API key (or of its absence)."""
    token = bearer_token(request) or ""
    return hashlib.sha256(b"idem:" + token.encode()).hexdigest()
