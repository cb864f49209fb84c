"""Shared fixtures. Database tests run on PostgreSQL: each pytest-xdist worker makes a
database of its own for the run (migrated once, emptied between tests) and drops it at the
end.

The server: CREDITDESK_TEST_POSTGRES_URL (a superuser's URL, used only to create and drop
those databases), or else an embedded server (app.kit.embedded) that the controlling
process starts once for the run in a temporary folder, hands to its workers through that
same variable, and stops and deletes at the end. With CI=true (or
CREDITDESK_TEST_REQUIRE_POSTGRES=1) a server that cannot be had fails the run instead of
skipping the database tests, and the run fails if no database test passed."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import hypothesis
import pytest
import uvicorn
from fastapi.dependencies import models as fastapi_dependency_models
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.features import wire_subscriptions
from app.kit import embedded, migrations
from app.kit.auth import Role
from app.kit.clock import FrozenClock
from app.kit.db import Database
from app.kit.protocol import PROTOCOL
from app.main import create_app
from app.settings import Settings
from credits.reconcile import reconcile
from tests.waiting import DEADLINE, wait_until

# No Hypothesis example fails by taking long: a loaded machine makes any of them slow.
hypothesis.settings.register_profile("suite", deadline=None)
hypothesis.settings.load_profile("suite")

# Tests call services without an app too: wire the features' subscriptions as create_app does.
wire_subscriptions()

TEST_URL_ENV = "CREDITDESK_TEST_POSTGRES_URL"
# Why the run's embedded server could not start (set by the controller for its workers).
EMBEDDED_ERROR_ENV = "CREDITDESK_TEST_EMBEDDED_ERROR"
# The server's URL: set at import when given (and in xdist workers, by their controller);
# else by pytest_configure once the embedded server is up.
PG_ADMIN_URL = os.environ.get(TEST_URL_ENV, "")
REQUIRE_POSTGRES = (
    os.environ.get("CI", "").lower() == "true"
    or os.environ.get("CREDITDESK_TEST_REQUIRE_POSTGRES") == "1"
)
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for a server a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def served_in_thread(app: Any, **options: Any) -> Iterator[int]:
    """`app` served over real HTTP by uvicorn in a thread, with the protocol `creditdesk
    serve` uses; yields its port on 127.0.0.1 (`options`: more of uvicorn's Config)."""
    port = free_port()
    config = uvicorn.Config(app, port=port, http=PROTOCOL, **{"log_level": "warning", **options})
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), "uvicorn to start", every=0.05)
    assert server.started, "uvicorn stopped in its thread before serving"
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=DEADLINE)


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url)
    if database:
        parsed = parsed.set(database=database)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_admin(sql: str, url: str | None = None) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url or PG_ADMIN_URL), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _postgres_reason() -> str | None:
    if not PG_ADMIN_URL:
        return os.environ.get(EMBEDDED_ERROR_ENV) or "no PostgreSQL server for this run"
    try:
        asyncio.run(_pg_admin("SELECT 1"))
    except Exception as exc:
        return f"PostgreSQL at {make_url(PG_ADMIN_URL).render_as_string()} does not answer: {exc}"
    return None


@dataclass
class EmbeddedRun:
    """The run's own embedded server, when no CREDITDESK_TEST_POSTGRES_URL is given."""

    folder: Path | None = None


EMBEDDED_RUN = EmbeddedRun()

# The run's server never needs to survive a crash: no flush to disk on commit.
_TEST_SERVER_SETTINGS = ("fsync = off", "synchronous_commit = off", "full_page_writes = off")


def pytest_configure(config: pytest.Config) -> None:
    """In the controlling process only, once per run: the embedded server, whose URL the
    xdist workers (started after this) inherit through the environment."""
    global PG_ADMIN_URL
    if _is_xdist_worker(config) or PG_ADMIN_URL or config.option.collectonly:
        return
    folder = None
    try:
        folder = Path(tempfile.mkdtemp(prefix="creditdesk-test-postgres-"))
        url = embedded.database_url(folder / "data", database="postgres")
        for setting in _TEST_SERVER_SETTINGS:
            asyncio.run(_pg_admin(f"ALTER SYSTEM SET {setting}", url))
        asyncio.run(_pg_admin("SELECT pg_reload_conf()", url))
    except Exception as exc:
        os.environ[EMBEDDED_ERROR_ENV] = (
            str(exc)
            if isinstance(exc, embedded.EmbeddedError)
            else f"the embedded PostgreSQL did not start: {exc}"
        )
        if folder is not None:
            embedded.stop(folder / "data")  # if it did start
            shutil.rmtree(folder, ignore_errors=True)
        return
    EMBEDDED_RUN.folder = folder
    PG_ADMIN_URL = os.environ[TEST_URL_ENV] = url


def pytest_unconfigure(config: pytest.Config) -> None:
    if EMBEDDED_RUN.folder is not None:
        embedded.stop(EMBEDDED_RUN.folder / "data")
        shutil.rmtree(EMBEDDED_RUN.folder, ignore_errors=True)
        EMBEDDED_RUN.folder = None


@dataclass
class PgStats:
    passed: int = 0
    failed: int = 0
    skipped: list[str] = field(default_factory=list)


PG_STATS = PgStats()


def _is_xdist_worker(config: pytest.Config) -> bool:
    """Under pytest-xdist (addopts `-n auto`) workers run the tests and the controller
    receives every worker's reports through the same hook: the controller counts and
    decides, so the figures cover the whole run however it was split."""
    return hasattr(config, "workerinput")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that needs the run's server, directly or through another fixture
    (`database_url`, `db`, `api`, …), carries the `postgres` mark that the counts below
    go by."""
    for item in items:
        if "pg_database" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Counts the tests that ran on the database (the `postgres` mark)."""
    if "postgres" not in report.keywords:
        return
    if report.when == "call" and report.passed:
        PG_STATS.passed += 1
    elif report.failed:
        PG_STATS.failed += 1
    elif report.skipped and report.when == "setup":
        PG_STATS.skipped.append(report.nodeid)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _is_xdist_worker(terminalreporter.config):
        return
    if EMBEDDED_RUN.folder is not None:
        server = "the embedded server started for this run"
    elif PG_ADMIN_URL:
        server = make_url(PG_ADMIN_URL).render_as_string()  # the password hidden
    else:
        server = os.environ.get(EMBEDDED_ERROR_ENV, "none")
    terminalreporter.write_line(
        f"PostgreSQL tests: {PG_STATS.passed} passed, {PG_STATS.failed} failed, "
        f"{len(PG_STATS.skipped)} skipped (server: {server})"
    )


# FastAPI memoises, per endpoint and dependency callable, whether it is a coroutine or a
# generator (lru_cache of 4096 entries each, in fastapi.dependencies.models). The callables
# are closures over their app, so those caches keep the last ~40 test apps (and their
# databases' engines) alive: a worker's heap grows to millions of objects, every full
# garbage collection walks them and the process needs seconds to exit. Emptying the caches
# after each test frees each app with its test; FastAPI refills them on the next request.
_FASTAPI_CALLABLE_CACHES = tuple(
    cache
    for name in (
        "_is_gen_callable_cached",
        "_is_async_gen_callable_cached",
        "_is_coroutine_callable_cached",
    )
    if (cache := getattr(fastapi_dependency_models, name, None)) is not None
)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    for cache in _FASTAPI_CALLABLE_CACHES:
        cache.cache_clear()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _is_xdist_worker(session.config):
        return
    if REQUIRE_POSTGRES and PG_STATS.passed == 0 and session.testscollected:
        session.exitstatus = 1


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    reason = _postgres_reason()
    if reason is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required (CI=true): {reason}", pytrace=False)
        pytest.skip(reason)
    with migrated_pg_database("creditdesk_test") as url:
        yield url


def pg_database_name(prefix: str) -> str:
    """`<CREDITDESK_TEST_DATABASE_PREFIX><prefix>_<random>`: a shared server's runs can be
    told apart (and cleaned up) by their own prefix; letters, digits and `_` only."""
    own = os.environ.get("CREDITDESK_TEST_DATABASE_PREFIX", "")
    if not re.fullmatch(r"[A-Za-z0-9_]{0,24}", own):
        raise pytest.UsageError("CREDITDESK_TEST_DATABASE_PREFIX: up to 24 of [A-Za-z0-9_]")
    return f"{own}{prefix}_{uuid.uuid4().hex[:10]}"


@contextmanager
def migrated_pg_database(prefix: str) -> Iterator[str]:
    """A new database `pg_database_name(prefix)` on the test server, migrated; dropped
    afterwards."""
    with empty_pg_database(prefix) as url:
        migrations.upgrade(url)
        yield url


@contextmanager
def empty_pg_database(prefix: str) -> Iterator[str]:
    """A new, empty database `pg_database_name(prefix)` on the test server; dropped
    afterwards."""
    name = pg_database_name(prefix)
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


TABLES_SQL = """
SELECT format('%I', tablename) FROM pg_tables
WHERE schemaname = 'public' AND tablename <> 'alembic_version'
"""

# Every sequence a public table owns (serial or identity columns) that has been used since
# its last restart, set back to its start: what TRUNCATE's RESTART IDENTITY does to them.
RESTART_SEQUENCES_SQL = """
SELECT setval(format('%I.%I', s.schemaname, s.sequencename)::regclass, s.start_value, false)
FROM pg_sequences s
JOIN pg_class seq ON seq.relname = s.sequencename AND seq.relkind = 'S'
JOIN pg_namespace ns ON ns.oid = seq.relnamespace AND ns.nspname = s.schemaname
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = seq.oid
    AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
JOIN pg_class owner ON owner.oid = d.refobjid
WHERE s.schemaname = 'public' AND owner.relname <> 'alembic_version'
    AND s.last_value IS NOT NULL
"""


async def _truncate_pg(url: str) -> None:
    """Empties every table but alembic_version and restarts the sequences they own: the
    state `TRUNCATE … RESTART IDENTITY CASCADE` leaves, which every PostgreSQL test starts
    from. TRUNCATE gives each of the ~40 tables a new file and costs about half a second
    per test; deleting the few rows a test leaves costs milliseconds. The deletes run with
    `session_replication_role = replica`, which switches off triggers and foreign-key checks
    for this transaction only (the ledger's append-only trigger refuses DELETE, and the
    tables are emptied in no particular order). That setting needs a superuser (the default
    CREDITDESK_TEST_POSTGRES_URL is one); without the privilege the TRUNCATE runs instead."""
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        tables = [row[0] for row in await conn.fetch(TABLES_SQL)]
        if not tables:
            return
        try:
            async with conn.transaction():
                await conn.execute("SET LOCAL session_replication_role = replica")
                await conn.execute(";\n".join(f"DELETE FROM {table}" for table in tables))
        except asyncpg.InsufficientPrivilegeError:
            await conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
            return
        await conn.execute(RESTART_SEQUENCES_SQL)
    finally:
        await conn.close()


@pytest.fixture
def database_url(pg_database: str) -> str:
    """The worker's database, emptied: every test starts from the migrated, empty state."""
    asyncio.run(_truncate_pg(pg_database))
    return pg_database


@pytest.fixture
def home_folder() -> Iterator[Path]:
    """A new, empty folder outside pytest's own temporary root, for a test that starts an
    embedded server from scratch in it: run as root, the server runs as a user of its own
    that must reach the folder, and any pytest run that starts meanwhile (another session
    on the machine) sets pytest's root back to owner-only."""
    folder = Path(tempfile.mkdtemp(prefix="creditdesk-home-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        database_url=database_url,
        database_pool_size=20,
        periodic_tasks_enabled=False,
        log_json=False,
    )


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    """A database handle for service-level tests; the ledger must reconcile afterwards."""
    database = Database.from_settings(settings)
    try:
        yield database
        await assert_reconciles(database)
    finally:
        await database.dispose()


async def assert_reconciles(database: Database) -> None:
    async with database.unit_of_work() as session:
        report = await reconcile(session)
    assert report.ok, report.render()


@dataclass
class Api:
    """An HTTP client on the app (ASGI transport), with helpers to mint keys and customers."""

    client: httpx.AsyncClient
    app: Any
    clock: FrozenClock
    admin: dict[str, str]

    @property
    def db(self) -> Database:
        database: Database = self.app.state.db
        return database

    async def key(self, role: Role | str, customer_id: str | None = None) -> dict[str, str]:
        from app.customers import service

        async with self.db.unit_of_work() as session:
            _, secret = await service.create_api_key(
                session, role=Role(role), name=f"test {role}", customer_id=customer_id,
                now=self.clock.now(),
            )  # fmt: skip
        return {"Authorization": f"Bearer {secret}"}

    async def customer(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "Acme Hosting", "email": "ops@acme.example", **fields}
        response = await self.client.post("/v1/customers", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def grant(self, customer_id: str, credits: int) -> None:
        response = await self.client.post(
            f"/v1/customers/{customer_id}/adjustments",
            json={"credits": credits, "reason": "test grant"},
            headers=self.admin,
        )
        assert response.status_code == 201, response.text


@asynccontextmanager
async def started(app: Any, **transport: Any) -> AsyncIterator[httpx.AsyncClient]:
    """`app` through its lifespan, reached over ASGI (`transport`: ASGITransport's options)."""
    async with app.router.lifespan_context(app):
        asgi = httpx.ASGITransport(app=app, **transport)
        async with httpx.AsyncClient(transport=asgi, base_url="http://test") as client:
            yield client


@asynccontextmanager
async def admin_api(app: Any, clock: FrozenClock) -> AsyncIterator[Api]:
    """`started(app)` as an `Api` holding a new admin key."""
    async with started(app) as client:
        api = Api(client=client, app=app, clock=clock, admin={})
        api.admin = await api.key(Role.admin)
        yield api


@pytest.fixture
async def api(settings: Settings, clock: FrozenClock) -> AsyncIterator[Api]:
    app = create_app(settings, clock=clock)
    async with admin_api(app, clock) as api:
        yield api
        await assert_reconciles(app.state.db)


@pytest.fixture
def run_sql(database_url: str):  # type: ignore[no-untyped-def]
    """Raw SQL on a separate connection (to corrupt data on purpose, or to look)."""

    async def run(sql: str, **params: Any) -> list[Any]:
        database = Database(database_url, pool_size=1)
        try:
            async with database.engine.begin() as conn:
                result = await conn.execute(text(sql), params)
                return list(result.all()) if result.returns_rows else []
        finally:
            await database.dispose()

    return run
