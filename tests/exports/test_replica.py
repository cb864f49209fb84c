"""The finance exports read from the read replica (`CREDITDESK_READ_REPLICA_URL`, issue 19),
for real: the "replica" is a second PostgreSQL database holding a different history from
the primary's, so every answer shows which database it was read from. An app configured
with both answers the exports as an app on the replica alone does (and unlike one on the
primary), while keys and statements stay on the primary, and nothing is written to the
replica. (GET /v1/events is not checked here: its answer waits for the whole cluster's
oldest running transaction, which other work on a shared test server can hold open.)"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta

import asyncpg
import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.cli import main
from app.kit.auth import Role
from app.kit.clock import FrozenClock
from app.kit.db import Database
from app.main import create_app
from app.settings import ConfigurationError, Settings, settings_from_env
from billing.exports import service
from billing.exports.periods import parse_period
from tests.conftest import (
    START,
    TABLES_SQL,
    Api,
    _asyncpg_dsn,
    _truncate_pg,
    admin_api,
    migrated_pg_database,
)

PERIOD = {"from": "2026-11-01", "to": "2026-12-01"}


@pytest.fixture(scope="module")
def replica_database(pg_database: str) -> Iterator[str]:
    """A second migrated database on the test server, standing in for a replica."""
    with migrated_pg_database("creditdesk_replica") as url:
        yield url


@pytest.fixture
def replica_url(replica_database: str) -> str:
    asyncio.run(_truncate_pg(replica_database))
    return replica_database


@pytest.fixture
def primary_url(pg_database: str) -> str:
    asyncio.run(_truncate_pg(pg_database))
    return pg_database


def site_settings(database_url: str, replica: str | None = None) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        database_url=database_url,
        read_replica_url=replica,
        database_pool_size=4,
        periodic_tasks_enabled=False,
        log_json=False,
    )


@asynccontextmanager
async def site(
    clock: FrozenClock, database_url: str, replica: str | None = None
) -> AsyncIterator[Api]:
    """An app on `database_url` (with `replica` as its read replica), and an admin key."""
    app = create_app(site_settings(database_url, replica), clock=clock)
    async with admin_api(app, clock) as api:
        yield api


async def history(api: Api, name: str, pack: str, tickets: int) -> str:
    """A customer who buys `pack` (offline provider: paid at once) and opens `tickets`
    technical tickets (one credit each)."""
    customer = await api.customer(name=name)
    own = await api.key(Role.customer, customer["id"])
    bought = await api.client.post(
        f"/v1/customers/{customer['id']}/purchases", json={"pack": pack}, headers=own
    )
    assert bought.status_code == 201, bought.text
    for n in range(tickets):
        api.clock.advance(timedelta(minutes=1))
        body = {
            "line": "technical",
            "subject": f"{name} backups fail with error E{n}",
            "body": f"Error E{n} on the {name} host.",
        }
        response = await api.client.post("/v1/tickets", json=body, headers=own)
        assert response.status_code == 201, response.text
    return str(customer["id"])


async def fingerprint(url: str) -> dict[str, str]:
    """Every table's content, hashed: equal before and after means nothing was written."""
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        tables = (await conn.fetchval(TABLES_SQL)).split(", ")
        return {
            table: await conn.fetchval(
                f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
                f" FROM {table} t"
            )
            for table in tables
        }
    finally:
        await conn.close()


READS: list[tuple[str, dict[str, str]]] = [
    ("/v1/exports/journal", PERIOD),
    ("/v1/exports/journal", {**PERIOD, "format": "jsonl"}),
    ("/v1/exports/journal", {**PERIOD, "format": "xlsx"}),
    ("/v1/exports/journal", {**PERIOD, "format": "quickbooks"}),
    ("/v1/exports/journal", {**PERIOD, "format": "xero"}),
    ("/v1/exports/deferred-revenue", PERIOD),
    ("/v1/exports/lot-aging", {"at": "2026-11-03"}),
]


async def answers(
    api: Api, headers: dict[str, str], reads: list[tuple[str, dict[str, str]]] = READS
) -> list[tuple[int, bytes]]:
    """Status and body of each GET in `reads`."""
    out = []
    for path, params in reads:
        response = await api.client.get(path, params=params, headers=headers)
        out.append((response.status_code, response.content))
    return out


@pytest.mark.postgres
async def test_exports_read_the_replica_and_write_nothing_there(
    primary_url: str, replica_url: str
) -> None:
    clock = FrozenClock(START)
    async with site(clock, replica_url) as alone:  # the replica's own history
        theirs = await history(alone, "Replica Co", "five", tickets=2)
        expected = await answers(alone, alone.admin)
    async with site(clock, primary_url) as primary:
        ours = await history(primary, "Primary Co", "single", tickets=1)
        on_primary = await answers(primary, primary.admin)
        statement_path = f"/v1/customers/{ours}/statement.csv"
        our_statement = (await primary.client.get(statement_path, headers=primary.admin)).text
    assert all(status == 200 for status, _ in expected + on_primary)

    before = await fingerprint(replica_url)
    async with site(clock, primary_url, replica=replica_url) as routed:
        finance = await routed.key(Role.finance)  # a key the replica has never seen
        got = await answers(routed, finance)
        for (path, params), mine, replica, primary_answer in zip(
            READS, got, expected, on_primary, strict=True
        ):
            assert mine == replica, (path, params)
            assert mine != primary_answer, (path, params)
        journal = got[0][1].decode()
        assert theirs in journal and ours not in journal

        # A customer's statement stays on the primary (read-your-writes for customers).
        statement = await routed.client.get(statement_path, headers=finance)
        assert statement.status_code == 200 and statement.text == our_statement
        missing = await routed.client.get(f"/v1/customers/{theirs}/statement.csv", headers=finance)
        assert missing.status_code == 404

        await assert_replica_is_read_only(routed.db)
    assert await fingerprint(replica_url) == before


@pytest.mark.postgres
async def test_a_replica_that_is_down_fails_only_its_reads(primary_url: str) -> None:
    """Exports and reports answer 503 with Retry-After, as for any database outage; the
    rest of the API, on the primary, carries on."""
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/creditdesk"
    async with site(FrozenClock(START), primary_url, replica=down) as routed:
        finance = await routed.key(Role.finance)
        for path in ("/v1/exports/journal", "/v1/exports/deferred-revenue", "/v1/reports/usage"):
            response = await routed.client.get(path, params=PERIOD, headers=finance)
            assert response.status_code == 503, (path, response.text)
            assert response.json()["code"] == "service_unavailable"
            assert "retry-after" in response.headers
        customer = await routed.customer(name="Still Served")
        assert customer["id"].startswith("cus_")


async def assert_replica_is_read_only(db: Database) -> None:
    """Every transaction on the replica engine is READ ONLY: a write refused by the server
    (SQLSTATE 25006), not merely avoided by the code."""
    assert db.replica is not None and db.reader is db.replica
    async with db.reader.unit_of_work() as session:
        assert (await session.execute(text("SHOW transaction_read_only"))).scalar() == "on"
    with pytest.raises(DBAPIError) as refused:
        async with db.replica.unit_of_work() as session:
            await session.execute(text("DELETE FROM rate_limits"))
    assert getattr(refused.value.orig, "sqlstate", None) == "25006"
    async with db.unit_of_work() as session:  # the primary is not
        assert (await session.execute(text("SHOW transaction_read_only"))).scalar() == "off"


async def _journal(url: str) -> bytes:
    db = Database(url, pool_size=1)
    try:
        period = parse_period(PERIOD["from"], PERIOD["to"], max_days=None)
        return b"".join([c async for c in service.journal_text(db, period, "csv")])
    finally:
        await db.dispose()


@pytest.mark.postgres
def test_the_export_command_reads_the_replica(
    primary_url: str, replica_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fill() -> None:
        clock = FrozenClock(START)
        async with site(clock, replica_url) as alone:
            await history(alone, "Replica Co", "five", tickets=2)
        async with site(clock, primary_url) as primary:
            await history(primary, "Primary Co", "single", tickets=1)

    asyncio.run(fill())
    before = asyncio.run(fingerprint(replica_url))
    monkeypatch.setenv("CREDITDESK_DATABASE_URL", primary_url)
    monkeypatch.setenv("CREDITDESK_READ_REPLICA_URL", replica_url)
    result = CliRunner().invoke(
        main, ["export", "journal", "--from", PERIOD["from"], "--to", PERIOD["to"]]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == asyncio.run(_journal(replica_url))
    assert result.stdout_bytes != asyncio.run(_journal(primary_url))
    assert asyncio.run(fingerprint(replica_url)) == before


PASSWORD = "s3cr3t-replica-Passw0rd"


@pytest.mark.parametrize(
    ("primary", "replica", "named"),
    [
        (
            f"postgresql+asyncpg://cd:{PASSWORD}@db/cd",
            f"mysql://cd:{PASSWORD}@replica/cd",
            "CREDITDESK_READ_REPLICA_URL",
        ),
        (
            f"sqlite+aiosqlite:///./{PASSWORD}.db",
            f"postgresql+asyncpg://cd:{PASSWORD}@replica/cd",
            "CREDITDESK_DATABASE_URL",
        ),
    ],
    ids=["not-postgres", "primary-not-postgres"],
)
def test_a_refused_replica_url_is_named_not_shown(
    monkeypatch: pytest.MonkeyPatch, primary: str, replica: str, named: str
) -> None:
    monkeypatch.chdir("/")  # no .env file of the developer's
    monkeypatch.setenv("CREDITDESK_DATABASE_URL", primary)
    monkeypatch.setenv("CREDITDESK_READ_REPLICA_URL", replica)
    with pytest.raises(ConfigurationError) as refused:
        settings_from_env()
    assert named in str(refused.value)
    assert PASSWORD not in str(refused.value) and "replica/cd" not in str(refused.value)
