"""Every API route runs in one database transaction, committed at this boundary.

A response of 400 or more rolls the transaction back, so bad input changes nothing and
does not consume its `Idempotency-Key`; a successful POST with an `Idempotency-Key` stores
its response in the same transaction as its effect. The response is sent only after the
commit succeeded."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, get_args

from fastapi import Request
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response, StreamingResponse

from app.kit import idempotency
from app.kit.auth import bearer_token, ensure_active_token
from app.kit.db import Database

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def redact_from_idempotency_record(request: Request, *fields: str) -> None:
    """Top-level response fields (secrets) that must never be stored for replay: a replay
    answers them as `null`. So the route's response model must declare each of them
    nullable (and say why); a route that would break its own schema on replay fails here,
    on its first call, rather than in a client that trusted the schema."""
    model = getattr(request.scope.get("route"), "response_model", None)
    if isinstance(model, type) and issubclass(model, BaseModel):
        for name in fields:
            field = model.model_fields.get(name)
            if field is None or type(None) not in get_args(field.annotation):
                raise TypeError(f"{model.__name__}.{name} is redacted on replay: make it nullable")
    request.state.idempotency_redact = fields


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
                        claimed = await claim_idempotency_key(session, request, key)
                        if isinstance(claimed, Response):
                            await session.rollback()
                            return claimed
                        record = claimed
                    response = await handler(request)
                    if response.status_code >= 400 or isinstance(response, StreamingResponse):
                        await session.rollback()
                        return response
                    if record is not None:
                        redact = getattr(request.state, "idempotency_redact", ())
                        await idempotency.remember(session, record, response, redact=redact)
                    await session.commit()
                    return response
                except BaseException:
                    await session.rollback()
                    raise

        return run_in_transaction


async def claim_idempotency_key(
    session: AsyncSession, request: Request, key: str
) -> idempotency.IdempotencyRecord | Response:
    """Reserve the request's `Idempotency-Key` for the caller, or the stored answer to
    replay. Every POST goes through here: the routes of this class, and a route that
    manages its own transactions (a purchase) in its first one."""
    token = bearer_token(request)
    if token is not None:
        # A revoked key gets 401, never a replay of what it did while it was valid.
        await ensure_active_token(request, session, token)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return await idempotency.claim(
        session,
        scope=idempotency_scope(token),
        key=key,
        fingerprint=idempotency.request_fingerprint(request.method, target, await request.body()),
        now=request.app.state.clock.now(),
        retention=timedelta(hours=request.app.state.settings.idempotency_retention_hours),
    )


def idempotency_scope(token: str | None) -> str:
    """Keys are per caller: the hash of the presented API key (or of its absence)."""
    return hashlib.sha256(b"idem:" + (token or "").encode()).hexdigest()
