"""Charges per second at the ledger's service layer on PostgreSQL.

Two shapes of load, each with N concurrent workers (one connection each):
  spread  every charge goes to a random customer among many (wallet locks rarely meet)
  hot     every charge goes to one wallet (its row lock serialises them all)

Each charge is what a ticket submission pays for: lock the wallet, take 1 credit from a
paid lot (4 journal lines: credits and money), flush, commit. The run creates a scratch
database, checks `reconcile()` at the end and drops it.

    .venv/bin/python bench/ledger_bench.py [--seconds 8] [--workers 1,4,16] [--customers 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
from sqlalchemy import insert
from sqlalchemy.engine import make_url

from app.customers.models import Customer
from app.kit import migrations
from app.kit.db import Database
from credits import accounts as acc
from credits import service
from credits.models import Wallet
from credits.reconcile import reconcile

ADMIN_URL = os.environ.get(
    "CREDITDESK_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
CREDITS_PER_WALLET = 1_000_000


@dataclass
class Outcome:
    scenario: str
    workers: int
    charges: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.charges / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def row(self) -> str:
        return (
            f"| {self.scenario:<6} | {self.workers:>7} | {self.charges:>7} | "
            f"{self.per_second:>9.0f} | {statistics.median(self.latencies_ms):>8.1f} | "
            f"{self.percentile(0.99):>8.1f} |"
        )


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(sql: str) -> str:
    conn = await asyncpg.connect(_dsn(ADMIN_URL))
    try:
        await conn.execute(sql)
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def _seed(db: Database, customers: int) -> list[str]:
    now = datetime.now(UTC)
    ids = [f"cus_bench{i:06d}" for i in range(customers)]
    async with db.unit_of_work() as session:
        await session.execute(
            insert(Customer),
            [
                {"id": cid, "name": f"Bench {cid}", "email": "bench@example.com",
                 "partner": False, "auto_accept_transfers": False, "verify_failures": 0,
                 "created_at": now, "updated_at": now}
                for cid in ids
            ],
        )  # fmt: skip
        await session.execute(
            insert(Wallet),
            [
                {"customer_id": cid, "available": 0, "frozen": 0, "spend_total": 0,
                 "rewarded_credits": 0, "updated_at": now}
                for cid in ids
            ],
        )  # fmt: skip
    for start in range(0, customers, 200):
        async with db.unit_of_work() as session:
            for cid in ids[start : start + 200]:
                await service.grant(
                    session, cid, credits=CREDITS_PER_WALLET, amount=CREDITS_PER_WALLET * 1000,
                    currency="EUR", source="purchase", now=now, cash_account=acc.CASH_OFFLINE,
                )  # fmt: skip
    return ids


async def _run(
    db: Database, scenario: str, targets: list[str], workers: int, seconds: float
) -> Outcome:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    start = time.perf_counter()

    async def worker(seed: int) -> None:
        rng = random.Random(seed)
        while time.perf_counter() < deadline:
            cid = targets[rng.randrange(len(targets))]
            began = time.perf_counter()
            async with db.unit_of_work() as session:
                await service.charge(session, cid, now=datetime.now(UTC), ticket_id="tkt_bench")
            latencies.append((time.perf_counter() - began) * 1000)

    await asyncio.gather(*(worker(i) for i in range(workers)))
    return Outcome(scenario, workers, len(latencies), time.perf_counter() - start, latencies)


async def main(args: argparse.Namespace) -> int:
    name = f"creditdesk_bench_{uuid.uuid4().hex[:8]}"
    version = await _admin(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    workers = [int(w) for w in args.workers.split(",")]
    db = Database(url, pool_size=max(workers))
    try:
        await asyncio.to_thread(migrations.upgrade, url)
        began = time.perf_counter()
        ids = await _seed(db, args.customers)
        print(
            f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {platform.node()} · "
            f"nproc {os.cpu_count()} · PostgreSQL {version} · Python {platform.python_version()}"
        )
        print(f"# seeded {len(ids)} wallets in {time.perf_counter() - began:.1f} s; "
              f"{args.seconds:g} s per run")  # fmt: skip
        print("| load   | workers | charges | charges/s | p50 (ms) | p99 (ms) |")
        print("|--------|--------:|--------:|----------:|---------:|---------:|")
        for scenario, targets in (("spread", ids), ("hot", ids[:1])):
            for n in workers:
                print((await _run(db, scenario, targets, n, args.seconds)).row(), flush=True)
        async with db.unit_of_work() as session:
            report = await reconcile(session)
        print("# reconcile: " + report.render().splitlines()[-1])
        return 0 if report.ok else 1
    finally:
        await db.dispose()
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each run")
    parser.add_argument("--workers", default="1,4,16", help="comma-separated worker counts")
    parser.add_argument("--customers", type=int, default=1000, help="wallets in the spread load")
    sys.exit(asyncio.run(main(parser.parse_args())))
