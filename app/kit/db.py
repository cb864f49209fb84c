"""Engine, sessions and the unit of work.

One transaction per request (see `app.kit.routing`) or per job (`Database.unit_of_work`).
Services and repositories `flush()`; only these boundaries commit.

PostgreSQL runs READ COMMITTED and the services lock the rows they change
(`SELECT … FOR UPDATE`).

PostgreSQL connections are not pinged on checkout (a pre-ping costs three round trips per
request: BEGIN, `;`, ROLLBACK). Instead a pooled connection is recycled after
`POOL_RECYCLE_SECONDS`, and on checkout one whose socket asyncpg already saw closed (a
restarted server, `pg_terminate_backend`, an idle timeout) is replaced before anything is
sent: the pool retries with a fresh connection, no round trip spent. A connection that dies
unnoticed fails on its first statement: the error is marked as a disconnect, every pooled
connection of that age is invalidated, and the request answers 503 `service_unavailable`
with `Retry-After` (see `app.main`), never 500; the next request gets a fresh connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypedDict

from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from app.kit import embedded
from app.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


POOL_RECYCLE_SECONDS = 1800

# SQLSTATE class 57P: the server ended the session (admin_shutdown, crash_shutdown, …).
_SERVER_ENDED_SESSION = "57P"


def _configure_postgres(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        raw = getattr(dbapi_connection, "_connection", None)  # the asyncpg connection
        if raw is not None and raw.is_closed():
            # Nothing has been sent on it yet: the pool reconnects and retries the checkout.
            raise DisconnectionError("pooled connection was closed by the server")

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        if not context.is_disconnect and _ended_session(context.original_exception):
            context.is_disconnect = True
        if context.is_disconnect:
            context.invalidate_pool_on_disconnect = True


def _ended_session(error: BaseException) -> bool:
    """A dead connection that the driver's own checks may not classify as one."""
    seen: BaseException | None = error
    while seen is not None:
        sqlstate = getattr(seen, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_SERVER_ENDED_SESSION):
            return True
        if isinstance(seen, ConnectionError) or type(seen).__name__ in {
            "ConnectionDoesNotExistError",
            "ConnectionFailureError",
        }:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# SQLSTATE classes that mean "the database cannot serve you now", not "your statement is
# wrong": connection exceptions, insufficient resources (too many connections, out of
# memory or disk), operator intervention (shutdown, crash recovery, cannot connect now)
# and system errors.
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P", "58")


def is_unavailable(exc: BaseException) -> bool:
    """Whether a database error means the database is out of reach for the moment (answer
    503 and retry) rather than a bug (500). Looks through SQLAlchemy's wrapper to the
    driver's exception: a failure to connect (no statement), a lost connection, a refused
    socket, no pooled connection free within the pool's timeout, or one of the SQLSTATE
    classes above."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, OperationalError):
            return True
        if exc.statement is None:  # raised while connecting, before any statement
            return True
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (OSError, TimeoutError)):
            return True
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(state, str) and state.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        nxt = getattr(current, "orig", None)
        current = (
            nxt if isinstance(nxt, BaseException) else (current.__cause__ or current.__context__)
        )
    return False


def build_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int | None = None,
    pool_timeout: float = 30.0,
    echo: bool = False,
    read_only: bool = False,
) -> AsyncEngine:
    """`read_only`: every transaction is `BEGIN … READ ONLY`, so a write sent there by
    mistake fails instead of landing (on a hot standby it would fail anyway, later and less
    clearly)."""
    engine = create_async_engine(
        url,
        echo=echo,
        hide_parameters=True,  # error messages and logs never carry customer data
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        pool_pre_ping=False,
        pool_recycle=POOL_RECYCLE_SECONDS,
        pool_timeout=pool_timeout,
        execution_options={"postgresql_readonly": True} if read_only else {},
    )
    _configure_postgres(engine)
    return engine


class _Pool(TypedDict):
    """The pool's sizing, the same for the primary and its replica."""

    pool_size: int
    max_overflow: int | None
    pool_timeout: float


class Database:
    """The engine and its session factory; built in the lifespan, never at import.

    With `read_replica_url`, a second, read-only Database on that server is `replica`: the
    finance exports and the reports read there (`reader`, `read_session`), everything
    else stays here. A replica lags its primary (docs/operations.md, "Running several
    hosts"), so only reads that tolerate missing the last seconds go there."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int | None = None,
        pool_timeout: float = 30.0,
        echo: bool = False,
        read_only: bool = False,
        read_replica_url: str | None = None,
    ) -> None:
        self.url = url
        # The queue in front of the pool (`admitted`): as many places as the pool lends
        # connections at once. Fair: `locked()` while anyone waits, so a newcomer queues
        # behind the waiters.
        self.gate = asyncio.Semaphore(
            pool_size + (pool_size if max_overflow is None else max_overflow)
        )
        self.pool_timeout = pool_timeout
        pool = _Pool(pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout)
        self.engine = build_engine(url, **pool, echo=echo, read_only=read_only)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.replica: Database | None = None
        if read_replica_url is not None:
            self.replica = Database(read_replica_url, **pool, echo=echo, read_only=True)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """The service's database as its settings describe it (URL, pool, replica): what
        `creditdesk serve` and the mail listener run on. Without a URL, the embedded
        server (app.kit.embedded)."""
        return cls(
            embedded.url_of(settings),
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_timeout=settings.database_pool_timeout,
            echo=settings.database_echo,
            read_replica_url=settings.read_replica_url,
        )

    @property
    def reader(self) -> Database:
        """Where lag-tolerant reads go: the replica if there is one, else this database."""
        return self.replica or self

    @asynccontextmanager
    async def read_session(self, current: AsyncSession) -> AsyncIterator[AsyncSession]:
        """A session for a lag-tolerant read inside a request: a read-only transaction of
        its own on the replica if there is one, else the request's own session `current`."""
        if self.replica is None:
            yield current
            return
        async with self.replica.sessionmaker() as session, session.begin():
            yield session

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """A place in the queue for the pool, in arrival order; a hot path enters it before
        it checks a connection out (the submission's fast path does).

        Waiting in SQLAlchemy's asyncio pool itself is not in order: a returned connection
        goes to whichever checkout asks first, so a request that has just arrived can take
        it ahead of one woken after waiting, and each wait is a new task
        (`asyncio.wait_for`). With more client connections than pooled ones, the requests
        that lost that race again and again made the tail and cost CPU: in `bench/load` at
        64 connections (2 workers, 8 pooled each), by medians of three passes, 879/s and
        p99 349 ms without the queue, 1,070/s and 112 ms with it (bench/RESULTS.md).
        Waiting here counts against the pool's timeout, as waiting in the pool does:
        past it, `PoolTimeout` (503)."""
        if self.gate.locked():  # a timer only for those who wait
            try:
                async with asyncio.timeout(self.pool_timeout):
                    await self.gate.acquire()
            except TimeoutError:
                raise PoolTimeout(f"no pooled connection within {self.pool_timeout} s") from None
        else:
            await self.gate.acquire()
        try:
            yield
        finally:
            self.gate.release()

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.replica is not None:
            await self.replica.dispose()
