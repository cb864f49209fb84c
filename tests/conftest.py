"""Shared fixtures. Every database test runs twice: on SQLite (a copy of a migrated
template file) and on PostgreSQL (a database made for this run, truncated between tests).

PostgreSQL: CREDITDESK_TEST_POSTGRES_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres,
used only to create and drop the run's database). With CI=true (or
CREDITDESK_TEST_REQUIRE_POSTGRES=1) an unreachable server fails the run instead of skipping,
and the run fails if no PostgreSQL test passed."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi.dependencies import models as fastapi_dependency_models
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.features import wire_subscriptions
from app.kit import migrations
from app.kit.auth import Role
from app.kit.clock import FrozenClock
from app.kit.db import Database
from app.kit.protocol import PROTOCOL
from app.main import create_app
from app.settings import Settings
from credits.reconcile import reconcile

# Tests call services without an app too: wire the features' subscriptions as create_app does.
wire_subscriptions()

PG_ADMIN_URL = os.environ.get(
    "CREDITDESK_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = (
    os.environ.get("CI", "").lower() == "true"
    or os.environ.get("CREDITDESK_TEST_REQUIRE_POSTGRES") == "1"
)
ENGINES = ["sqlite", "postgresql"]
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
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)  # polling for readiness, not waiting out a race
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url)
    if database:
        parsed = parsed.set(database=database)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(PG_ADMIN_URL), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _postgres_reason() -> str | None:
    try:
        asyncio.run(_pg_admin("SELECT 1"))
    except Exception as exc:
        return f"PostgreSQL at {make_url(PG_ADMIN_URL).render_as_string()} does not answer: {exc}"
    return None


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


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "[postgresql" not in report.nodeid and "postgres" not in report.keywords:
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
    terminalreporter.write_line(
        f"PostgreSQL tests: {PG_STATS.passed} passed, {PG_STATS.failed} failed, "
        f"{len(PG_STATS.skipped)} skipped"
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
    name = pg_database_name(prefix)
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        migrations.upgrade(url)
        yield url
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrations.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


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


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        request.applymarker(pytest.mark.postgres)
        url: str = request.getfixturevalue("pg_database")
        asyncio.run(_truncate_pg(url))
        return url
    template: Path = request.getfixturevalue("sqlite_template")
    path = tmp_path / "creditdesk.db"
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def engine_name(database_url: str) -> str:
    return make_url(database_url).get_backend_name()


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
