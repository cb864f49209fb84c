"""Request rate limits that hold across workers and processes, kept in the database
(issue 12): no Redis here, and no well-kept Python limiter stores its counters in SQL
(`limits` offers memory, Redis, Memcached, MongoDB and etcd), so this is a small one.

Fixed windows of `window` seconds. Each limited request costs **one statement**: a
multi-row upsert into `rate_limits` that adds 1 to its address's and its API key's
counters (and 0 to the address's failed-authentication counter, to read it), starting a
new window when the stored one is over, and returns the counts
(`INSERT … ON CONFLICT DO UPDATE … RETURNING`). Over a limit answers 429
`rate_limited` with `Retry-After` (the rest of the window). A 401 adds 1 to the address's
failure counter in a second statement (off the successful path). The statement runs in
its own short transaction, so a request that rolls back is still counted; if the
database cannot be reached the request goes on (and meets the same database).

Past its failure threshold an address is locked to guessing, not to its valid callers
(issue 25): one misconfigured client behind a NAT or a partner's egress must not lock out
everyone there, and keys are 256-bit secrets, so serving a valid one teaches a guesser
nothing. A locked address's request is served only when it carries a usable API key,
looked up by its hash (a second statement, on a locked address only); unknown, revoked
and expired keys and requests without one get 429 before reaching the app. The per-key
and per-address limits apply as before."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import BigInteger, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.kit.auth import bearer_token, key_for
from app.kit.clock import Clock
from app.kit.db import Base, Database
from app.kit.errors import problem

logger = logging.getLogger("creditdesk.ratelimit")

EXEMPT = ("/healthz", "/readyz", "/metrics")


class RateLimitCounter(Base):
    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, index=True)
    count: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True, slots=True)
class Limits:
    per_key: int
    per_address: int
    auth_failures: int
    window: int


def _upsert(rows: int) -> str:
    values = ", ".join(f"(:k{i}, :w, :n{i})" for i in range(rows))
    return (
        f"INSERT INTO rate_limits (key, window_start, count) VALUES {values} "
        "ON CONFLICT (key) DO UPDATE SET "
        "count = CASE WHEN rate_limits.window_start = excluded.window_start "
        "THEN rate_limits.count + excluded.count ELSE excluded.count END, "
        "window_start = excluded.window_start "
        "RETURNING key, count AS hits"
    )


async def count(db: Database, increments: dict[str, int], window_start: int) -> dict[str, int]:
    """Adds each increment to its key's counter in the current window, in one statement;
    the counts after. Keys in sorted order, so concurrent upserts lock rows alike."""
    keys = sorted(increments)
    params: dict[str, object] = {"w": window_start}
    for i, key in enumerate(keys):
        params[f"k{i}"], params[f"n{i}"] = key, increments[key]
    async with db.engine.begin() as conn:
        result = await conn.execute(text(_upsert(len(keys))), params)
        return {row.key: row.hits for row in result}


async def purge(db: Database, now: float, window: int) -> None:
    """Forgets counters of windows long over (periodic job)."""
    async with db.engine.begin() as conn:
        await conn.execute(
            text("DELETE FROM rate_limits WHERE window_start < :cutoff"),
            {"cutoff": int(now) - 2 * window},
        )


async def holds_usable_key(db: Database, scope: Scope, clock: Clock) -> bool:
    """Whether the request carries a usable API key, as `authenticate` would judge it (the
    same header parsing, hash and `ApiKey.usable`): what lets it past a locked address.
    A usable key's row is kept in the request's state for `authenticate`, which then reads
    it no second time."""
    request = Request(scope)
    token = bearer_token(request)
    if token is None:
        return False
    async with db.sessionmaker() as session:
        key = await key_for(session, token)
    if key is None or not key.usable(clock.now()):
        return False
    request.state.api_key = key
    return True


def _token_key(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return "key:" + hashlib.sha256(value[7:].strip()).hexdigest()[:40]
    return None


class RateLimitMiddleware:
    """Per API key, per client address, and failed authentication per address."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "") in EXEMPT:
            await self.app(scope, receive, send)
            return
        app = scope.get("app")
        db: Database | None = getattr(app.state, "db", None) if app is not None else None
        if db is None:
            await self.app(scope, receive, send)
            return
        limits = self.limits
        now = scope["app"].state.clock.now().timestamp()
        start = int(now) - int(now) % limits.window
        address = "ip:" + ((scope.get("client") or ("unknown", 0))[0])[:60]
        failures = "fail:" + address[3:]
        token = _token_key(scope)
        increments = {address: 1, failures: 0}
        if token is not None:
            increments[token] = 1
        try:
            counts = await count(db, increments, start)
        except Exception:  # the limiter must not turn an outage into a different error
            logger.warning("rate limiter unavailable", exc_info=True)
            counts = {}
        retry_after = str(max(start + limits.window - int(now), 1))
        over = counts.get(address, 0) > limits.per_address or (
            token is not None and counts.get(token, 0) > limits.per_key
        )
        if not over and counts.get(failures, 0) >= limits.auth_failures:
            over = not await self._passes_lock(db, scope, scope["app"].state.clock)
        if over:
            response = problem(
                429, "rate_limited", "Too many requests; retry after the given seconds.",
                headers={"Retry-After": retry_after},
            )  # fmt: skip
            await response(scope, receive, send)
            return
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if status == 401:
            try:
                await count(db, {failures: 1}, start)
            except Exception:
                logger.warning("rate limiter unavailable", exc_info=True)

    @staticmethod
    async def _passes_lock(db: Database, scope: Scope, clock: Clock) -> bool:
        """A request from an address past its failure threshold goes on with a usable key
        only; when the key cannot be looked up, `authenticate` meets the same database."""
        try:
            return await holds_usable_key(db, scope, clock)
        except Exception:
            logger.warning("rate limiter unavailable", exc_info=True)
            return True
