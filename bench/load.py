"""Load benchmark: ticket submissions per second against PostgreSQL's own limit.

Starts PostgreSQL if needed, and for each scenario and connection count: a fresh database,
`creditdesk serve --workers N`, seeded customers with credits, wrk driving POST /v1/tickets
(technical line, a unique Idempotency-Key per request), then the correctness checks
(`creditdesk reconcile` clean, tickets charged == credits consumed, no 5xx) and pgbench
TPC-B on the same server with the same connection count. The headline figure is
submissions/s ÷ pgbench tps.

Databases: `--db` and `--pgbench-db` name them (default: `creditdesk_load_<random>` and
`creditdesk_pgbench_<random>`, unique per run). The script refuses a name that already exists
and drops, without FORCE, only databases it created itself, so runs beside each other on one
cluster do not break each other.

`--peer` also runs the Django peer (`../shared/peers/django-peer/run.sh`, or `--peer-run`)
in the same run, with its `OUT` and `VENV` under `--out`, and prints CreditDesk ÷ peer per
scenario and connection count: a same-run ratio. Knobs for the peer: `--peer-repeats`,
`--peer-workers` (its REPEATS and WORKERS_LIST); it uses the same duration and connections.
The peer has only POST /submit: with `mix` among the scenarios, `--peer` also runs
bench/peer_mix/run.sh (the peer with the mix's two reads added in this bench), and the mix
rows compare requests/s with the peer's under the same mix.

`--repeats N` makes N passes over every scenario and connection count, each on a fresh
database, and reports the median of each figure, as the peer's run.sh does with its REPEATS
(its passes listed under the table; a check is clean only if it was in every pass). On a
noisy machine, compare medians of the same number of passes on both sides.

Run: bench/load [--duration 20] [--workers 2] [--connections 16,64] [--scenarios spread,hot,mix]
                [--db NAME] [--pgbench-db NAME] [--out DIR] [--peer] [--peer-run PATH]
                [--repeats N] [--pool N] [--overflow N] [--profile]
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
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG = "postgresql://postgres@127.0.0.1:5432"
PEER_RUN = Path("shared") / "peers" / "django-peer" / "run.sh"

ARGS = argparse.Namespace(profile=False, overflow=None)  # the command line, once parsed

# Databases this process created: the only ones it may drop.
CREATED: set[str] = set()


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
    """A fresh, empty database `name`: dropped first only if this run created it."""
    conn = await asyncpg.connect(f"{PG}/postgres")
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and name not in CREATED:
            raise SystemExit(
                f"database {name!r} exists and was not made by this run: "
                "choose another name with --db/--pgbench-db (nothing was dropped)"
            )
        if exists:
            await conn.execute(f'DROP DATABASE "{name}"')  # no FORCE: ours, nobody connected
        await conn.execute(f'CREATE DATABASE "{name}"')
        CREATED.add(name)
    finally:
        await conn.close()


async def drop_created() -> None:
    conn = await asyncpg.connect(f"{PG}/postgres")
    try:
        for name in sorted(CREATED):
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        CREATED.clear()
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


def start_server(
    url: str, port: int, workers: int, pool: int, out: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CREDITDESK_DATABASE_URL": url,
        "CREDITDESK_LOG_LEVEL": "WARNING",
        "CREDITDESK_DATABASE_POOL_SIZE": str(pool),
        **(
            {"CREDITDESK_DATABASE_MAX_OVERFLOW": str(ARGS.overflow)}
            if ARGS.overflow is not None
            else {}
        ),
        "CREDITDESK_PERIODIC_TASKS_ENABLED": "false",
        # wrk sends everything from one address, over the per-address limit within seconds;
        # the limiter (one statement per request, app.kit.ratelimit) is left to a proxy here,
        # as the Django peer has none either.
        "CREDITDESK_RATE_LIMIT_ENABLED": "false",
    }
    proc = subprocess.Popen(
        [str(BIN / "creditdesk"), "serve", "--no-migrate", "--port", str(port),
         "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=open(out / "server.log", "ab"),
    )  # fmt: skip
    deadline = time.monotonic() + 240  # a loaded machine starts workers slowly
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"server did not become ready; see {out / 'server.log'}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


# Where a sampled frame's file lies → the share it counts for (the innermost frame decides).
PROFILE_BUCKETS = (
    ("(sqlalchemy/", "sqlalchemy"),
    ("(asyncpg/", "asyncpg"),
    ("(pydantic", "pydantic"),
    ("(fastapi/", "fastapi"),
    ("(starlette/", "starlette"),
    ("(uvicorn/", "uvicorn"),
    ("(httptools/", "uvicorn"),
    ("(h11/", "uvicorn"),
    ("(prometheus_client/", "prometheus"),
    ("(app/", "creditdesk"),
    ("(credits/", "creditdesk"),
    ("(billing/", "creditdesk"),
    ("(asyncio/", "asyncio"),
    ("(json/", "json"),
    ("(logging/", "logging"),
)


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (Linux /proc; 0 for any that ended)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / tick


def _tree(pid: int) -> list[int]:
    """A process and its descendants (the server and its uvicorn workers)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            todo += [int(c) for c in task.read_text().split()]
    return found


def _postgres_pids(db_name: str) -> list[int]:
    """The load database's backends and PostgreSQL's own background processes (WAL
    writer, checkpointer, …): not other databases' sessions on a shared cluster."""

    async def look() -> list[int]:
        conn = await asyncpg.connect(f"{PG}/{db_name}")
        try:
            rows = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE (datname = $1 "
                "AND pid <> pg_backend_pid()) OR backend_type <> 'client backend'",
                db_name,
            )
        finally:
            await conn.close()
        return [r["pid"] for r in rows]

    return asyncio.run(look())


def profile_start(server: subprocess.Popen[bytes], duration: int, path: Path) -> tuple | None:
    """py-spy on the server and its worker processes for the wrk run (`--profile`)."""
    if not ARGS.profile:
        return None
    spy = shutil.which("py-spy") or str(BIN / "py-spy")
    proc = subprocess.Popen(
        [spy, "record", "--subprocesses", "--nonblocking", "--format", "raw", "--rate", "200",
         "--duration", str(duration), "--pid", str(server.pid), "--output", str(path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return proc, path


def profile_finish(spy: tuple) -> dict[str, float]:
    """Shares of the busy samples by package; idle (the event loop waiting) left out."""
    proc, path = spy
    proc.wait(timeout=120)
    counts: dict[str, int] = {}
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        leaf = stack.rsplit(";", 1)[-1]
        if "select (selectors.py" in leaf or ("_run_once" in leaf and "base_events" in leaf):
            continue  # waiting for I/O
        bucket = next((b for key, b in PROFILE_BUCKETS if key in leaf), "other")
        counts[bucket] = counts.get(bucket, 0) + int(n)
    total = sum(counts.values()) or 1
    return {b: round(100 * c / total, 1) for b, c in sorted(counts.items(), key=lambda x: -x[1])}


def run_wrk(port: int, connections: int, duration: int, mode: str, keys: Path) -> dict:
    out = sh(
        "wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s",
        "-s", str(ROOT / "bench" / "load.lua"), f"http://127.0.0.1:{port}",
        env={**os.environ, "LOAD_KEYS": str(keys), "LOAD_MODE": mode},
    )  # fmt: skip
    match = re.search(r"^RESULT (.*)$", out, re.M)
    if not match:
        raise SystemExit(f"wrk gave no result:\n{out}")
    result: dict = json.loads(match.group(1))
    return result


async def ledger_checks(url: str, db_name: str) -> dict:
    conn = await asyncpg.connect(f"{PG}/{db_name}")
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


async def _sql(db_name: str, sql: str) -> None:
    conn = await asyncpg.connect(f"{PG}/{db_name}")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _function_ms(db_name: str) -> float | None:
    """Mean time of one `desk_submit_ticket_v1` call (track_functions, flushed as the
    server's connections closed): the submission's time inside PostgreSQL, the wallet
    lock's wait included (on a hot wallet, mostly that wait)."""
    conn = await asyncpg.connect(f"{PG}/{db_name}")
    try:
        row = await conn.fetchrow(
            "SELECT calls, total_time FROM pg_stat_user_functions "
            "WHERE funcname = 'desk_submit_ticket_v1'"
        )
    finally:
        await conn.close()
    return round(row["total_time"] / row["calls"], 3) if row and row["calls"] else None


def pgbench(connections: int, duration: int, db_name: str) -> float:
    asyncio.run(recreate(db_name))
    sh("pgbench", "-i", "-q", "-s", "10", "-h", "127.0.0.1", "-U", "postgres", db_name)
    out = sh(
        "pgbench", "-n", "-M", "prepared", "-c", str(connections), "-j", "2",
        "-T", str(duration), "-h", "127.0.0.1", "-U", "postgres", db_name,
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


def find_peer_run(given: str | None) -> Path:
    """run.sh of the Django peer: `--peer-run`, else `../shared/peers/django-peer/run.sh`
    relative to the project root (for a git worktree, also relative to the main checkout)."""
    if given:
        path = Path(given).resolve()
        if not path.is_file():
            raise SystemExit(f"--peer-run {path}: no such file")
        return path
    roots = [ROOT.parent]
    common = sh("git", "-C", str(ROOT), "rev-parse", "--git-common-dir", check=False).strip()
    if common and not common.startswith("fatal"):
        roots.append((ROOT / common).resolve().parent.parent)
    for root in roots:
        if (root / PEER_RUN).is_file():
            return root / PEER_RUN
    tried = ", ".join(str(r / PEER_RUN) for r in roots)
    raise SystemExit(f"the peer's run.sh is not at {tried}: pass --peer-run PATH")


def run_peer(args: argparse.Namespace, out: Path) -> dict[int, dict]:
    """Runs the peer's own benchmark (its wrk and pgbench) with its output and venv under
    `out`; returns its headline per connection count (req/s, p50, p99, pgbench tps, ratio)."""
    run = find_peer_run(args.peer_run)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    peer_out = out / f"peer-{stamp}"
    env = {
        **os.environ,
        "OUT": str(peer_out),
        "VENV": str(Path(args.peer_venv).resolve() if args.peer_venv else out / "django-peer-venv"),
        "DURATION": f"{args.duration}s",
        "WARMUP": f"{max(1, min(5, args.duration // 4))}s",
        "REPEATS": str(args.peer_repeats),
        "WORKERS_LIST": args.peer_workers.replace(",", " "),
        # the peer's wrk runs two threads: a 1-connection run (the hot wallet's critical
        # section) is ours only
        "CONNS": " ".join(c for c in args.connections.split(",") if int(c) >= 2),
    }
    print(f"peer: bash {run} (OUT={env['OUT']}, VENV={env['VENV']})", flush=True)
    started = time.monotonic()
    with open(out / "peer.log", "ab") as log:
        code = subprocess.run(["bash", str(run)], env=env, stdout=log, stderr=log).returncode
    if code != 0:
        raise SystemExit(f"the peer's run.sh failed ({code}); see {out / 'peer.log'}")
    summary = json.loads((peer_out / "summary.json").read_text())
    print(f"peer: done in {time.monotonic() - started:.0f} s", flush=True)
    return {int(c): h for c, h in summary["headline"].items()}


PEER_MIX = ROOT / "bench" / "peer_mix" / "run.sh"


def run_peer_mix(args: argparse.Namespace, out: Path) -> dict[int, dict]:
    """The peer under the mix (bench/peer_mix: its POST /submit and the same two reads, one
    in three each), in its venv, at each connection count: requests/s, submissions/s."""
    env = {
        **os.environ,
        "PEER": str(find_peer_run(args.peer_run).parent),
        "VENV": str(Path(args.peer_venv).resolve() if args.peer_venv else out / "django-peer-venv"),
        "WORKERS": args.peer_workers.split(",")[0],
        "CONNS": args.connections.replace(",", " "),
        "DURATION": str(args.duration),
        "OUT": str(out / "peer-mix"),
    }  # fmt: skip
    print(f"peer mix: bash {PEER_MIX}", flush=True)
    done = subprocess.run(
        ["bash", str(PEER_MIX)], env=env, capture_output=True, text=True, check=False
    )
    (out / "peer-mix.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"bench/peer_mix/run.sh failed; see {out / 'peer-mix.log'}")
    found: dict[int, dict] = {}
    for match in re.finditer(r"^conns=(\d+) RESULT (.*)$", done.stdout, re.M):
        result = json.loads(match.group(2))
        seconds = result["duration_us"] / 1e6
        found[int(match.group(1))] = {
            "rps": result["requests"] / seconds,
            "submissions": int(result["statuses"].get("201", 0)) / seconds,
            "p99": result["p99_ms"],
            "statuses": result["statuses"],
        }
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", default="16,64")
    parser.add_argument("--scenarios", default="spread,hot,mix")
    suffix = uuid.uuid4().hex[:8]
    parser.add_argument(
        "--db",
        default=f"creditdesk_load_{suffix}",
        help="database for CreditDesk (must not exist; dropped at the end)",
    )
    parser.add_argument(
        "--pgbench-db",
        default=f"creditdesk_pgbench_{suffix}",
        help="database for pgbench (must not exist; dropped at the end)",
    )
    parser.add_argument(
        "--out",
        default=str(ROOT / "bench" / "out"),
        help="output folder (server log, keys, report, the peer's OUT and VENV)",
    )
    parser.add_argument(
        "--peer",
        action="store_true",
        help="also run the Django peer in this run: CreditDesk ÷ peer",
    )
    parser.add_argument("--peer-run", help="the peer's run.sh (default: ../shared/peers/...)")
    parser.add_argument("--peer-venv", help="the peer's VENV (default: OUT/django-peer-venv)")
    parser.add_argument("--peer-repeats", type=int, default=1)
    parser.add_argument("--peer-workers", default="2")
    parser.add_argument(
        "--pool",
        type=int,
        default=0,
        help="CREDITDESK_DATABASE_POOL_SIZE per worker (default: connections / workers + 2)",
    )
    parser.add_argument(
        "--overflow",
        type=int,
        default=None,
        help="CREDITDESK_DATABASE_MAX_OVERFLOW per worker (default: the service's, = --pool)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the server's workers with py-spy during wrk: CPU shares by package",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="passes over every scenario and connection count; the report shows medians",
    )
    args = parser.parse_args()  # fmt: skip
    global ARGS
    ARGS = args
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    ensure_tools()
    started = time.monotonic()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{args.db}"
    connection_counts = [int(c) for c in args.connections.split(",")]
    rows = []
    peer_passes = []
    mix_passes: list[dict[int, dict]] = []  # the peer under the mix (bench/peer_mix)
    try:
        for number in range(1, args.repeats + 1):  # in passes, as the peer's run.sh
            for name in args.scenarios.split(","):
                for row in run_scenario(args, name, connection_counts, url, out):
                    rows.append({**row, "pass": number})
            if args.peer and args.repeats > 1:
                # the peer's pass right after ours: both meet the machine as it is then
                peer_passes.append(run_peer(args, out))
                if "mix" in args.scenarios.split(","):
                    mix_passes.append(run_peer_mix(args, out))
    finally:
        asyncio.run(drop_created())
    if args.peer and args.repeats == 1:
        peer_passes.append(run_peer(args, out))
        if "mix" in args.scenarios.split(","):
            mix_passes.append(run_peer_mix(args, out))
    peer = peer_medians(peer_passes)
    peer_mix = {
        c: {k: statistics.median(p[c][k] for p in mix_passes) for k in ("rps", "submissions", "p99")}
        for c in (mix_passes[0] if mix_passes else {})
    }  # fmt: skip
    text = report(args, rows, peer, time.monotonic() - started, peer_mix)
    (out / "load-latest.md").write_text(text)
    print(text)


def run_scenario(
    args: argparse.Namespace, name: str, connection_counts: list[int], url: str, out: Path
) -> list[dict]:
    customers, credits, mode = SCENARIOS[name]
    rows = []
    for connections in connection_counts:
        asyncio.run(recreate(args.db))
        sh(str(BIN / "creditdesk"), "migrate", env={**os.environ, "CREDITDESK_DATABASE_URL": url})
        keys = out / "keys.txt"
        asyncio.run(seed(url, customers, credits, keys))
        asyncio.run(_sql(args.db, f"ALTER DATABASE {args.db} SET track_functions = 'pl'"))
        port = free_port()
        pool = args.pool or max(5, connections // args.workers + 2)
        server = start_server(url, port, args.workers, pool, out)
        spy = profile_start(server, args.duration, out / f"profile-{name}-{connections}.txt")
        workers, pg = _tree(server.pid), _postgres_pids(args.db)
        cpu_before = _cpu_seconds(workers), _cpu_seconds(pg)
        try:
            load = run_wrk(port, connections, args.duration, mode, keys)
            cpu_after = _cpu_seconds(workers), _cpu_seconds(sorted({*pg, *_postgres_pids(args.db)}))
        finally:
            shares = profile_finish(spy) if spy else None
            stop(server)
        checks = asyncio.run(ledger_checks(url, args.db))
        checks["function_ms"] = asyncio.run(_function_ms(args.db))
        tps = pgbench(connections, args.duration, args.pgbench_db)
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
            # CPU per request while wrk ran (all requests: a read mix includes its GETs)
            "server_cpu_ms": round(1000 * (cpu_after[0] - cpu_before[0]) / load["requests"], 2),
            "postgres_cpu_ms": round(1000 * (cpu_after[1] - cpu_before[1]) / load["requests"], 2),
        }  # fmt: skip
        if shares is not None:
            row["cpu_shares"] = shares
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


_MEDIAN_FIELDS = (
    "submissions_per_s", "requests_per_s", "p50_ms", "p95_ms", "p99_ms", "pgbench_tps",
    "function_ms", "server_cpu_ms", "postgres_cpu_ms",
)  # fmt: skip


def peer_medians(passes: list[dict[int, dict]]) -> dict[int, dict]:
    """The peer's headline over its runs, one per pass: medians, the ratio as its own
    (median req/s ÷ median pgbench tps), errors summed."""
    if len(passes) <= 1:
        return passes[0] if passes else {}
    merged: dict[int, dict] = {}
    for connections in passes[0]:
        runs = [p[connections] for p in passes if connections in p]
        head = {
            k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p99", "pgbench_tps")
        }
        head["rps_all"] = [r["rps"] for r in runs]
        head["ratio"] = head["rps"] / head["pgbench_tps"]
        head["non2xx"] = sum(r["non2xx"] for r in runs)
        head["sockerr"] = sum(r["sockerr"] for r in runs)
        merged[connections] = head
    return merged


def medians(rows: list[dict]) -> tuple[list[dict], list[str]]:
    """One row per scenario and connection count from several passes: the median of each
    figure (the ratio is median submissions/s ÷ median pgbench tps, as the peer's), the
    statuses summed, and the checks clean only if every pass was; plus a line per row
    listing its passes."""
    groups: dict[tuple[str, int], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["scenario"], r["connections"]), []).append(r)
    merged, lines = [], []
    for (scenario, connections), runs in groups.items():
        row = {**runs[0]}
        for field in _MEDIAN_FIELDS:
            values = [r[field] for r in runs if r.get(field) is not None]
            row[field] = round(statistics.median(values), 3) if values else None
        row["ratio"] = round(row["submissions_per_s"] / row["pgbench_tps"], 3)
        statuses: dict[str, int] = {}
        for r in runs:
            for status, n in r["statuses"].items():
                statuses[status] = statuses.get(status, 0) + n
        row["statuses"] = statuses
        for check in ("reconcile_clean", "tickets_equal_consumed", "no_5xx"):
            row[check] = all(r[check] for r in runs)
        row.pop("cpu_shares", None)
        merged.append(row)
        each = "; ".join(
            f"{r['submissions_per_s']}/s p99 {r['p99_ms']} ms ratio {r['ratio']}" for r in runs
        )
        lines.append(f"- {scenario} at {connections}, medians of {len(runs)} passes: {each}")
    return merged, lines


def report(
    args: argparse.Namespace,
    rows: list[dict],
    peer: dict[int, dict],
    took: float,
    peer_mix: dict[int, dict] | None = None,
) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    pg_version = sh(
        "psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"
    ).strip()
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    command = (
        f"bench/load --duration {args.duration} --workers {args.workers} "
        f"--connections {args.connections} --scenarios {args.scenarios}"
    )
    if args.pool:
        command += f" --pool {args.pool}"
    if args.overflow is not None:
        command += f" --overflow {args.overflow}"
    if args.profile:
        command += " --profile"
    if args.repeats > 1:
        command += f" --repeats {args.repeats}"
    if args.peer:
        command += f" --peer --peer-repeats {args.peer_repeats} --peer-workers {args.peer_workers}"
    lines = [
        f"### Load run {stamp}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"PostgreSQL {pg_version}, load average at the end {load_avg}",
        f"- command: `{command}` ({took:.0f} s)",
        "",
        "| scenario | conns | submissions/s | p50 ms | p95 ms | p99 ms | pgbench tps | ratio | ÷ peer | server CPU ms/req | PostgreSQL CPU ms/req | function ms | statuses | reconcile | tickets = consumed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    notes: list[str] = []
    if args.repeats > 1:
        rows, passes = medians(rows)
        notes += passes
    for r in rows:
        theirs = peer.get(r["connections"])
        vs_peer = f"{r['submissions_per_s'] / theirs['rps']:.2f}" if theirs else "–"
        mixed = (peer_mix or {}).get(r["connections"])
        if r["scenario"] == "mix":  # against the peer under the same mix: all requests
            vs_peer = f"{r['requests_per_s'] / mixed['rps']:.2f} (mix)" if mixed else "–"
        if "cpu_shares" in r:
            shares = ", ".join(f"{k} {v} %" for k, v in r["cpu_shares"].items())
            notes.append(
                f"- {r['scenario']} at {r['connections']}: server CPU by package: {shares}"
            )
        lines.append(
            f"| {r['scenario']} | {r['connections']} | {r['submissions_per_s']} | {r['p50_ms']} | "
            f"{r['p95_ms']} | {r['p99_ms']} | {r['pgbench_tps']:.0f} | {r['ratio']} | {vs_peer} | "
            f"{r['server_cpu_ms']} | {r['postgres_cpu_ms']} | {r['function_ms']} | {json.dumps(r['statuses'])} | {'clean' if r['reconcile_clean'] else 'VIOLATIONS'} | "
            f"{r['tickets_equal_consumed']} |"
        )
    if notes:
        lines += ["", *notes]
    if peer:
        lines += [
            "",
            "Django peer in the same run (its own wrk and pgbench, medians of its passes"
            + (", one run of it after each of ours):" if args.repeats > 1 else "):"),
            "",
            "| conns | peer req/s | p50 ms | p99 ms | non-2xx / socket errors | pgbench tps | ratio |",
            "|---|---|---|---|---|---|---|",
        ]
        for c, h in sorted(peer.items()):
            each = h.get("rps_all") or []
            shown = f" ({', '.join(f'{x:.1f}' for x in each)})" if len(each) > 1 else ""
            lines.append(
                f"| {c} | {h['rps']:.1f}{shown} | {h['p50']:.1f} | {h['p99']:.1f} | "
                f"{h['non2xx']} / {h['sockerr']} | {h['pgbench_tps']:.0f} | {h['ratio']:.3f} |"
            )
    if peer_mix:
        lines += [
            "",
            "Django peer under the mix (bench/peer_mix/run.sh; ÷ peer of the mix rows is "
            "CreditDesk's requests/s ÷ these):",
            "",
            "| conns | peer mix req/s | of which submissions/s | p99 ms |",
            "|---|---|---|---|",
        ]
        for c, h in sorted(peer_mix.items()):
            lines.append(f"| {c} | {h['rps']:.1f} | {h['submissions']:.1f} | {h['p99']:.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
