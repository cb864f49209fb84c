"""Periodic jobs with several processes on one PostgreSQL (issue 19): a job runs in at most
one process at a time, a crashed holder frees its job, different jobs do not wait for
each other, and the leased jobs still run everywhere. Each "process" here is a Database of
its own (its own pool, its own connections), as two `creditdesk serve` workers would be;
one test kills a real process."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

from app import tasks
from app.email.tasks import send_outbox
from app.kit import jobs
from app.kit.clock import FrozenClock
from app.kit.db import Database
from app.settings import Settings
from tests.conftest import START, _asyncpg_dsn, _truncate_pg
from tests.waiting import until


@dataclass
class Gate:
    """A job body that records each run and stays inside until released."""

    runs: int = 0
    inside: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self) -> None:
        self.runs += 1
        self.inside.set()
        await self.release.wait()

    async def passing(self) -> None:
        """The same job in another runner, which must not wait here (a test that fails
        should fail, not hang)."""
        self.runs += 1


async def _count() -> None:
    pass


def _unique(job: str) -> str:
    return f"test.{job}.{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def processes(pg_database: str) -> AsyncIterator[tuple[Database, Database]]:
    await _truncate_pg(pg_database)  # the jobs of a round see no other test's rows
    first, second = Database(pg_database, pool_size=2), Database(pg_database, pool_size=2)
    try:
        yield first, second
    finally:
        await first.dispose()
        await second.dispose()


async def _lock_holders(url: str, name: str) -> list[int]:
    """Backend pids holding the job's advisory lock in this database (pg_locks splits a
    64-bit key into classid, the high half, and objid, the low half)."""
    key = jobs.lock_key(name) & 0xFFFF_FFFF_FFFF_FFFF
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND classid = $1 AND objid = $2 AND objsubid = 1",
            key >> 32,
            key & 0xFFFF_FFFF,
        )
        return [row["pid"] for row in rows]
    finally:
        await conn.close()


@pytest.mark.postgres
async def test_two_runners_of_one_job_run_it_once(processes: tuple[Database, Database]) -> None:
    first, second = processes
    name, body = _unique("sweep"), Gate()
    running = asyncio.create_task(jobs.run_exclusive(first, name, body))
    await body.inside.wait()

    assert await jobs.run_exclusive(second, name, body.passing) is False  # skipped at once
    assert await jobs.run_exclusive(first, name, body.passing) is False  # same host, too
    body.release.set()
    assert await running is True
    assert body.runs == 1

    # The lock ended with the run: the next round runs wherever it comes first.
    assert await jobs.run_exclusive(second, name, body.passing) is True
    assert body.runs == 2


@pytest.mark.postgres
async def test_jobs_with_different_names_do_not_block_each_other(
    processes: tuple[Database, Database],
) -> None:
    first, second = processes
    held, other = Gate(), Gate()
    other.release.set()
    running = asyncio.create_task(jobs.run_exclusive(first, _unique("expire"), held))
    await held.inside.wait()
    try:
        assert await jobs.run_exclusive(second, _unique("purge"), other) is True
        assert await jobs.run_exclusive(first, _unique("escalate"), other) is True
        assert other.runs == 2
    finally:
        held.release.set()
        assert await running is True


@pytest.mark.postgres
async def test_a_holder_whose_connection_dies_frees_the_job(
    pg_database: str, processes: tuple[Database, Database]
) -> None:
    first, second = processes
    name, body = _unique("sweep"), Gate()
    running = asyncio.create_task(jobs.run_exclusive(first, name, body))
    await body.inside.wait()
    (pid,) = await _lock_holders(pg_database, name)
    assert await jobs.run_exclusive(second, name, body.passing) is False

    conn = await asyncpg.connect(_asyncpg_dsn(pg_database))
    try:  # waits (up to 30 s) until the backend has gone
        assert await conn.fetchval("SELECT pg_terminate_backend($1, 30000)", pid) is True
    finally:
        await conn.close()
    assert await _lock_holders(pg_database, name) == []

    follower = Gate()
    follower.release.set()
    assert await jobs.run_exclusive(second, name, follower) is True
    assert follower.runs == 1

    # The first holder's job finishes on its own connections; losing the lock's
    # connection is not its failure.
    body.release.set()
    assert await running is True
    assert await jobs.run_exclusive(first, name, follower) is True  # its pool recovered


@pytest.mark.postgres
async def test_a_failed_or_cancelled_job_frees_its_lock(
    processes: tuple[Database, Database],
) -> None:
    """The lock is session-level: it must never go back to the pool still held."""
    first, second = processes
    name = _unique("sweep")

    async def broken() -> None:
        raise RuntimeError("the sweep failed")

    with pytest.raises(RuntimeError):
        await jobs.run_exclusive(first, name, broken)
    assert await jobs.run_exclusive(second, name, _count) is True

    body = Gate()
    running = asyncio.create_task(jobs.run_exclusive(first, name, body))
    await body.inside.wait()
    running.cancel()  # the server shutting down mid-job
    with pytest.raises(asyncio.CancelledError):
        await running
    assert await jobs.run_exclusive(second, name, _count) is True
    assert await jobs.run_exclusive(first, name, _count) is True


@pytest.mark.postgres
async def test_the_lock_holds_no_snapshot_while_the_job_runs(
    pg_database: str, processes: tuple[Database, Database]
) -> None:
    """The holder's connection sits idle outside any transaction: it holds back neither
    VACUUM (no xmin) nor GET /v1/events' horizon (no transaction id)."""
    first, _ = processes
    name, body = _unique("sweep"), Gate()
    running = asyncio.create_task(jobs.run_exclusive(first, name, body))
    await body.inside.wait()
    try:
        (pid,) = await _lock_holders(pg_database, name)
        conn = await asyncpg.connect(_asyncpg_dsn(pg_database))
        try:
            row = await conn.fetchrow(
                "SELECT state, backend_xid, backend_xmin FROM pg_stat_activity WHERE pid = $1",
                pid,
            )
        finally:
            await conn.close()
        assert (row["state"], row["backend_xid"], row["backend_xmin"]) == ("idle", None, None)
    finally:
        body.release.set()
        assert await running is True


HOLDER = """
import asyncio, sys
from app.kit import jobs
from app.kit.db import Database

async def main():
    db = Database(sys.argv[1], pool_size=1)
    async with jobs.exclusive(db, sys.argv[2]) as held:
        print(held, flush=True)
        await asyncio.Event().wait()

asyncio.run(main())
"""


@pytest.mark.postgres
async def test_a_killed_process_frees_its_job_for_the_next_round(
    pg_database: str, processes: tuple[Database, Database]
) -> None:
    _, second = processes
    name = _unique("sweep")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, pg_database, name],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert await asyncio.to_thread(holder.stdout.readline) == "True\n"
        assert await jobs.run_exclusive(second, name, _count) is False
    finally:
        holder.send_signal(signal.SIGKILL)  # no shutdown code runs: the socket just closes
        await asyncio.to_thread(holder.wait)

    # PostgreSQL notices the closed socket and ends the backend, which drops its locks;
    # wait for that (bounded), then the next round takes the job.
    async def released() -> bool:
        return not await _lock_holders(pg_database, name)

    await until(released, "PostgreSQL to end the killed holder's backend", every=0.05)
    assert await jobs.run_exclusive(second, name, _count) is True


@pytest.mark.postgres
async def test_a_round_skips_a_locked_job_and_runs_the_leased_ones(
    processes: tuple[Database, Database],
) -> None:
    first, second = processes
    settings = Settings(_env_file=None, database_url=first.url)  # type: ignore[call-arg]
    clock = FrozenClock(START)
    sweep = tasks.purge_rate_limits
    async with jobs.exclusive(first, tasks.job_name(sweep)) as held:
        assert held
        assert await tasks.run_job(sweep, second, clock, settings) is False
        # A leased job takes no lock: it runs in every process, even now.
        async with jobs.exclusive(first, tasks.job_name(send_outbox)):
            assert await tasks.run_job(send_outbox, second, clock, settings) is True
    assert await tasks.run_job(sweep, second, clock, settings) is True


def test_every_job_has_a_lock_of_its_own() -> None:
    keys = {jobs.lock_key(tasks.job_name(job)) for job in tasks.JOBS}
    assert len(keys) == len(tasks.JOBS)
    assert tasks.PARALLEL.issubset(tasks.JOBS)  # a renamed leased job would not drop out
