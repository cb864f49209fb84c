"""Exact routes answered before routing: a hot path's common case without the framework's
route matching and dependency resolution (issue 19).

A feature declares `FastPath(method, path, attempt)`; `FastPathMiddleware` (innermost of
the app's own middleware, so body limits, rate limits, request ids, security headers and
metrics still apply) calls `attempt(request)` for exactly that method and path. The
attempt answers, or returns None and the request goes on, body and all, to its ordinary
route, which then answers as if the attempt had never run. So an attempt must either
change nothing or answer: app.desk.fast_submit sends one statement that commits or rolls
back whole, and hands every other case to the route.

A database out of reach answers 503 with `Retry-After`, as the routes do; anything else an
attempt raises is a bug and reaches the request-context middleware's 500."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.kit.db import is_unavailable
from app.kit.errors import database_unavailable

logger = logging.getLogger("creditdesk.fastpath")

Attempt = Callable[[Request], Awaitable[Response | None]]


@dataclass(frozen=True)
class FastPath:
    method: str
    path: str
    attempt: Attempt


class FastPathMiddleware:
    def __init__(self, app: ASGIApp, paths: Sequence[FastPath]) -> None:
        self.app = app
        self.table = {(p.method, p.path): p.attempt for p in paths}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        attempt = (
            self.table.get((scope["method"], scope["path"])) if scope["type"] == "http" else None
        )
        if attempt is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        body = await request.body()
        replay = _replaying(body, receive)
        try:
            answer = await attempt(Request(scope, replay()))
        except Exception as exc:  # outside the app's exception handlers: answered here
            if not is_unavailable(exc):
                raise
            logger.warning("database unavailable", exc_info=exc)
            answer = database_unavailable()
        if answer is None:
            await self.app(scope, replay(), send)
        else:
            scope["route"] = _Answered(scope["path"])  # the route label of the metrics
            await answer(scope, replay(), send)


@dataclass(frozen=True, slots=True)
class _Answered:
    """Stands for the route in `scope["route"]` when a fast path answered: what the
    request-context middleware reads (`path`) to label the request's metrics."""

    path: str


def _replaying(body: bytes, receive: Receive) -> Callable[[], Receive]:
    """Fresh `receive`s that give the body already read once, then whatever comes next
    (a disconnect)."""

    def fresh() -> Receive:
        sent = False

        async def again() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return again

    return fresh
