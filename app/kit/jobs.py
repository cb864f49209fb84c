"""One runner of a periodic job at a time, however many processes and hosts share the
PostgreSQL database.

Every `creditdesk serve` worker runs the periodic loop (`app.tasks`). Most jobs sweep a
whole table (expiry, escalations, purges): run by every worker at once they are still
correct (each is idempotent and locks what it changes), but N workers do the same scan N
times and queue on the same row locks as the requests. So a job that must not overlap runs
under a PostgreSQL advisory lock named after it:

1. A pooled connection, in autocommit mode, asks `pg_try_advisory_lock(key)`, `key` a
   64-bit hash of the job's name. It never waits: a process that does not get the lock
   skips the job this round (someone else is running it, and the next round comes anyway).
2. The holder runs the job on its usual connections (the job's own units of work); the
   lock's connection stays idle, outside any transaction, so it holds no snapshot and no
   transaction id: it holds back neither VACUUM nor the commit-order visibility of
   `GET /v1/events`, and `idle_in_transaction_session_timeout` does not apply to it.
3. When the job ends, `pg_advisory_unlock(key)` releases the lock. A session-level lock
   must never go back to the pool still held (the job would then be locked out
   everywhere for as long as that connection lives), so a connection whose unlock did not
   answer "released" (it died, the task was cancelled mid-way) is closed instead of
   returned. A crashed process's connections close with it, which frees its locks for the
   next round, on any host.

If the lock's connection dies while the job still runs (a network cut, a server-side
`idle_session_timeout`), another process may start the same job before this one ends: the
jobs stay idempotent for that reason, the lock only saves the duplicate work.

Advisory locks are per database, so two deployments on one PostgreSQL server, each with
its own database, do not exclude each other.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from app.kit.db import Database

logger = logging.getLogger("creditdesk.jobs")


def lock_key(name: str) -> int:
    """The advisory-lock key of a job: the first 8 bytes of SHA-256 of its name, as the
    signed 64-bit integer PostgreSQL takes. Stable across processes, hosts and versions."""
    digest = hashlib.sha256(f"creditdesk.job:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.asynccontextmanager
async def exclusive(db: Database, name: str) -> AsyncIterator[bool]:
    """Yields True if this process holds the job `name`'s lock for the block, False if
    another process holds it; the lock is released when the block ends."""
    key = lock_key(name)
    async with db.engine.connect() as pooled:
        conn = await pooled.execution_options(isolation_level="AUTOCOMMIT")
        held = (await conn.execute(select(func.pg_try_advisory_lock(key)))).scalar()
        if not held:
            yield False
            return
        released = False
        try:
            yield True
        finally:
            try:
                released = bool((await conn.execute(select(func.pg_advisory_unlock(key)))).scalar())
            except DBAPIError:  # the connection died, and the lock with it
                logger.warning("periodic job %s: its lock's connection was lost", name)
            finally:
                if not released:
                    await conn.invalidate()  # closed, never pooled with the lock held


async def run_exclusive(db: Database, name: str, body: Callable[[], Awaitable[None]]) -> bool:
    """Runs `body` if this process gets the job's lock; returns whether it ran."""
    async with exclusive(db, name) as held:
        if not held:
            logger.debug("periodic job %s skipped: another process is running it", name)
            return False
        await body()
        return True
