"""Load benchmark: ticket submissions per second against PostgreSQL's own limit.

Starts PostgreSQL if needed, and for each scenario and connection count: a fresh database,
`creditdesk serve --workers N`, seeded customers with credits, wrk driving POST /v1/tickets
(technical line, a unique Idempotency-Key per request), then the correctness checks
(`creditdesk reconcile` clean, tickets charged == credits consumed, no 5xx) and pgbench
TPC-B on the same server with the same connection count. The headline figure is
submissions/s ÷ pgbench tps.

Run: bench/load [--duration 20] [--workers 2] [--connections 16,64] [--scenarios spread,hot,mix]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG = "postgresql://postgres@127.0.0.1:5432"
DB_NAME = "creditdesk_load"


def sh(*cmd: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout + result.stderr


def ensure_tools() -> None:
    if shutil.which("wrk") is None:
        print("installing wrk (Debian package)", flush=True)
        sh("apt-get", "update", "-qq", check=False)
        sh("apt-get", "install", "-y", "-qq", "wrk")
    if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode != 0:
        version = sorted(os.listdir("/etc/postgresql"))[0]
        sh("pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start")
        for _ in range(30):
            if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0:
                break
            time.sleep(1)


async def recreate(name: str) -> None:
    conn = await asyncpg.connect(f"{PG}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def seed(url: str, customers: int, credits: int, keys_file: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from app.customers import service as customer_service
    from app.customers.schemas import CustomerCreate
    from app.kit.auth import Role
    from app.kit.clock import Clock
    from app.kit.db import Database
    from credits import service as ledger

    db = Database(url, pool_size=2)
    now = Clock().now()
    lines = []
    try:
        async with db.unit_of_work() as session:
            for i in range(customers):
                customer = await customer_service.create_customer(
                    session, CustomerCreate(name=f"Load {i}", email=f"load{i}@example.com"), now
                )
                await ledger.adjust(
                    session, customer.id, credits=credits, reason="load seed", now=now,
                    currency="EUR",
                )  # fmt: skip
                _, secret = await customer_service.create_api_key(
                    session, role=Role.customer, name="load", customer_id=customer.id, now=now
                )
                lines.append(f"{customer.id} {secret}")
    finally:
        await db.dispose()
    keys_file.write_text("\n".join(lines) + "\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int, workers: int, pool: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CREDITDESK_DATABASE_URL": url,
        "CREDITDESK_LOG_LEVEL": "WARNING",
        "CREDITDESK_DATABASE_POOL_SIZE": str(pool),
        "CREDITDESK_PERIODIC_TASKS_ENABLED": "false",
    }
    proc = subprocess.Popen(
        [str(BIN / "creditdesk"), "serve", "--no-migrate", "--port", str(port),
         "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=open(ROOT / "bench" / "out" / "server.log", "ab"),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("server did not become ready; see bench/out/server.log")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def run_wrk(port: int, connections: int, duration: int, mode: str, keys: Path) -> dict:
    out = sh(
        "wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s",
        "-s", str(ROOT / "bench" / "load.lua"), f"http://127.0.0.1:{port}",
        env={**os.environ, "LOAD_KEYS": str(keys), "LOAD_MODE": mode},
    )  # fmt: skip
    match = re.search(r"^RESULT (.*)$", out, re.M)
    if not match:
        raise SystemExit(f"wrk gave no result:\n{out}")
    result: dict = json.loads(match.group(1))
    return result


async def ledger_checks(url: str) -> dict:
    conn = await asyncpg.connect(f"{PG}/{DB_NAME}")
    try:
        charges = await conn.fetchval(
            "SELECT count(*) FROM journal_transactions WHERE kind = 'charge'"
        )
        consumed = await conn.fetchval(
            "SELECT coalesce(-sum(credits), 0) FROM journal_transactions WHERE kind = 'charge'"
        )
        tickets = await conn.fetchval("SELECT count(*) FROM tickets WHERE line = 'technical'")
        negative = await conn.fetchval("SELECT count(*) FROM wallets WHERE available < 0")
    finally:
        await conn.close()
    env = {**os.environ, "CREDITDESK_DATABASE_URL": url}
    rec = subprocess.run(
        [str(BIN / "creditdesk"), "reconcile"], env=env, capture_output=True, text=True, check=False
    )
    return {
        "tickets": tickets,
        "charges": charges,
        "credits_consumed": consumed,
        "negative_wallets": negative,
        "reconcile_clean": rec.returncode == 0,
        "reconcile_report": rec.stdout.strip().splitlines()[-1] if rec.stdout else rec.stderr,
    }


def pgbench(connections: int, duration: int) -> float:
    asyncio.run(recreate("pgbench_load"))
    sh("pgbench", "-i", "-q", "-s", "10", "-h", "127.0.0.1", "-U", "postgres", "pgbench_load")
    out = sh(
        "pgbench", "-n", "-M", "prepared", "-c", str(connections), "-j", "2",
        "-T", str(duration), "-h", "127.0.0.1", "-U", "postgres", "pgbench_load",
    )  # fmt: skip
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if not match:
        raise SystemExit(f"pgbench gave no tps:\n{out}")
    return float(match.group(1))


SCENARIOS = {
    # name: (customers, credits each, wrk mode)
    "spread": (500, 2000, "spread"),
    "hot": (1, 1_000_000, "hot"),
    "mix": (500, 2000, "mix"),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", default="16,64")
    parser.add_argument("--scenarios", default="spread,hot,mix")
    args = parser.parse_args()
    (ROOT / "bench" / "out").mkdir(exist_ok=True)
    ensure_tools()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DB_NAME}"
    rows = []
    for name in args.scenarios.split(","):
        customers, credits, mode = SCENARIOS[name]
        for connections in [int(c) for c in args.connections.split(",")]:
            asyncio.run(recreate(DB_NAME))
            sh(
                str(BIN / "creditdesk"),
                "migrate",
                env={**os.environ, "CREDITDESK_DATABASE_URL": url},
            )
            keys = ROOT / "bench" / "out" / "keys.txt"
            asyncio.run(seed(url, customers, credits, keys))
            port = free_port()
            pool = max(5, connections // args.workers + 2)
            server = start_server(url, port, args.workers, pool)
            try:
                load = run_wrk(port, connections, args.duration, mode, keys)
            finally:
                stop(server)
            checks = asyncio.run(ledger_checks(url))
            tps = pgbench(connections, args.duration)
            seconds = load["duration_us"] / 1e6
            created = int(load["statuses"].get("201", 0))
            row = {
                "scenario": name, "connections": connections, "workers": args.workers,
                "submissions_per_s": round(created / seconds, 1),
                "requests_per_s": round(load["requests"] / seconds, 1),
                "p50_ms": load["p50_ms"], "p95_ms": load["p95_ms"], "p99_ms": load["p99_ms"],
                "statuses": load["statuses"], "socket_errors": load["errors"],
                "pgbench_tps": tps, "ratio": round(created / seconds / tps, 3), **checks,
                "tickets_equal_consumed": checks["tickets"] == checks["credits_consumed"],
                "no_5xx": not any(s.startswith("5") for s in load["statuses"]),
            }  # fmt: skip
            rows.append(row)
            print(json.dumps(row), flush=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    pg_version = sh(
        "psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"
    ).strip()
    report = [
        f"### Load run {stamp}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL {pg_version}",
        f"- command: `bench/load --duration {args.duration} --workers {args.workers} --connections {args.connections} --scenarios {args.scenarios}`",
        "",
        "| scenario | conns | submissions/s | p50 ms | p95 ms | p99 ms | pgbench tps | ratio | statuses | reconcile | tickets = consumed |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        report.append(
            f"| {r['scenario']} | {r['connections']} | {r['submissions_per_s']} | {r['p50_ms']} | "
            f"{r['p95_ms']} | {r['p99_ms']} | {r['pgbench_tps']:.0f} | {r['ratio']} | "
            f"{json.dumps(r['statuses'])} | {'clean' if r['reconcile_clean'] else 'VIOLATIONS'} | "
            f"{r['tickets_equal_consumed']} |"
        )
    text = "\n".join(report) + "\n"
    (ROOT / "bench" / "out" / "load-latest.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
