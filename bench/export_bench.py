"""Benchmark (not a test): the streamed journal CSV export against PostgreSQL's own COPY.

    .venv/bin/python bench/export_bench.py [--lines 1000000] [--small 100000] [--keep]

1. Creates a scratch database (`creditdesk_bench_<random>`), migrates it, and loads
   `--lines` journal lines (4 per transaction: a credit move and a money move, one
   transaction every 10 s from 2026-01-01) with INSERT … SELECT generate_series; triggers
   are off for the load (session_replication_role = replica), the data is consistent anyway.
2. For the full period and for a period holding the first `--small` lines, runs
   `creditdesk export journal --format csv --output FILE` in a subprocess (the same code as
   the HTTP endpoint) and reads its peak RSS (ru_maxrss from wait4) and its own timing;
   then `COPY (the same SELECT) TO STDOUT WITH CSV HEADER` into a file, in the same run.
3. Prints a Markdown table (and JSON with --json) and drops the scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.kit import migrations  # noqa: E402

ADMIN_DSN = os.environ.get("BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
START = datetime(2026, 1, 1, tzinfo=UTC)
STEP_SECONDS = 10
LINES_PER_TXN = 4
CUSTOMERS = 1000

LOAD_SQL = [
    "SET session_replication_role = replica",
    f"""INSERT INTO customers (id, name, email, partner, auto_accept_transfers, verify_failures,
        created_at, updated_at)
    SELECT 'cus_' || lpad(c::text, 6, '0'), 'Customer ' || c, 'c' || c || '@example.com',
        false, false, 0, '2025-12-01Z', '2025-12-01Z'
    FROM generate_series(1, {CUSTOMERS}) c""",
    """INSERT INTO journal_transactions (seq, id, kind, reason, customer_id, credits,
        balance_after, lot_id, ticket_id, ticket_number, purchase_id, reference, memo, posted_at)
    SELECT g, 'ent_' || md5(g::text),
        CASE WHEN g % 3 = 0 THEN 'grant' ELSE 'charge' END,
        CASE WHEN g % 3 = 0 THEN 'purchase' ELSE 'ticket' END,
        'cus_' || lpad((g % $CUSTOMERS + 1)::text, 6, '0'),
        CASE WHEN g % 3 = 0 THEN 5 ELSE -1 END, 10, 'lot_' || md5((g / 3)::text),
        CASE WHEN g % 3 = 0 THEN NULL ELSE 'tkt_' || md5(g::text) END,
        CASE WHEN g % 3 = 0 THEN NULL ELSE g END,
        CASE WHEN g % 3 = 0 THEN 'pur_' || md5(g::text) END,
        CASE WHEN g % 3 = 0 THEN 'pi_' || md5(g::text) END,
        CASE WHEN g % 7 = 0 THEN 'Ticket "' || g || '", a, b' END,
        timestamptz '2026-01-01 00:00:00Z' + g * interval '$STEP seconds'
    FROM generate_series(1, $TXNS) g""",
    """INSERT INTO journal_lines (id, transaction_seq, account, unit, amount, customer_id, lot_id)
    SELECT (g - 1) * 4 + k + 1, g,
        CASE
          WHEN g % 3 = 0 THEN (ARRAY['customer:' || c || ':available', 'credits:issued',
                                     'cash:stripe', 'deferred_revenue'])[k + 1]
          ELSE (ARRAY['credits:consumed', 'customer:' || c || ':available',
                      'deferred_revenue', 'revenue:support'])[k + 1]
        END,
        CASE WHEN k < 2 THEN 'CREDIT' ELSE 'EUR' END,
        CASE
          WHEN g % 3 = 0 THEN (ARRAY[5, -5, 10000, -10000])[k + 1]
          ELSE (ARRAY[1, -1, 2000, -2000])[k + 1]
        END,
        c, 'lot_' || md5((g / 3)::text)
    FROM generate_series(1, $TXNS) g,
         LATERAL (SELECT 'cus_' || lpad((g % $CUSTOMERS + 1)::text, 6, '0') AS c) cc,
         generate_series(0, 3) k""",
    "SELECT setval(pg_get_serial_sequence('journal_transactions', 'seq'), $TXNS)",
    "SELECT setval(pg_get_serial_sequence('journal_lines', 'id'), $TXNS * 4)",
    "SET session_replication_role = origin",
    "ANALYZE",
]

# The export's SELECT (billing/exports/repository.py), for COPY.
COPY_SQL = """
COPY (
  SELECT t.id, t.posted_at, t.kind, t.reason, l.account, l.unit, l.amount, l.customer_id,
         l.lot_id, t.ticket_number, t.purchase_id, t.reference, t.memo
  FROM journal_lines l JOIN journal_transactions t ON t.seq = l.transaction_seq
  WHERE t.posted_at >= '{start}' AND t.posted_at < '{end}'
  ORDER BY t.posted_at, t.seq, l.id
) TO STDOUT WITH CSV HEADER
"""


@dataclass
class Run:
    lines: int
    export_seconds: float
    export_process_seconds: float
    export_peak_rss_mb: float
    export_bytes: int
    copy_seconds: float
    copy_bytes: int

    @property
    def ratio(self) -> float:
        return self.export_seconds / self.copy_seconds


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def database_dsn(name: str) -> str:
    return ADMIN_DSN.rsplit("/", 1)[0] + "/" + name


async def load(dsn: str, lines: int) -> float:
    txns = lines // LINES_PER_TXN
    conn = await asyncpg.connect(dsn)
    began = time.perf_counter()
    try:
        for sql in LOAD_SQL:
            sql = sql.replace("$TXNS", str(txns)).replace("$CUSTOMERS", str(CUSTOMERS))
            await conn.execute(sql.replace("$STEP", str(STEP_SECONDS)))
    finally:
        await conn.close()
    return time.perf_counter() - began


def period_for(lines: int) -> tuple[datetime, datetime]:
    """[from, to) holding exactly `lines` lines (transaction g is posted at START + g·step)."""
    txns = lines // LINES_PER_TXN
    return START, START + timedelta(seconds=STEP_SECONDS * txns + 1)


def rfc(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def run_export(
    url: str, start: datetime, end: datetime, output: Path
) -> tuple[float, float, float]:
    """The CLI in a subprocess: (its export seconds, process seconds, peak RSS in MiB)."""
    env = {**os.environ, "CREDITDESK_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable, "-c", "import sys, time; from app.cli import main; "
        "began = time.perf_counter(); "
        "code = main(standalone_mode=False); "
        "print(f'EXPORT_SECONDS {time.perf_counter() - began:.6f}', file=sys.stderr)",
        "export", "journal", "--from", rfc(start), "--to", rfc(end),
        "--format", "csv", "--output", str(output),
    ]  # fmt: skip
    began = time.perf_counter()
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - began
    stderr = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"export failed:\n{stderr}")
    seconds = float(stderr.rsplit("EXPORT_SECONDS", 1)[1].split()[0])
    return seconds, wall, usage.ru_maxrss / 1024  # Linux: KiB


async def run_copy(dsn: str, start: datetime, end: datetime, output: Path) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        sql = COPY_SQL.format(start=rfc(start), end=rfc(end))
        inner = sql.strip()[len("COPY (") : sql.strip().rindex(") TO STDOUT")]
        began = time.perf_counter()
        with output.open("wb") as sink:
            await conn.copy_from_query(inner, output=sink, format="csv", header=True)
        return time.perf_counter() - began
    finally:
        await conn.close()


def count_rows(path: Path) -> int:
    with path.open("rb") as file:
        return sum(1 for _ in file) - 1  # the bench data has no line breaks inside fields


def measure(url: str, dsn: str, lines: int, workdir: Path) -> Run:
    start, end = period_for(lines)
    ours, theirs = workdir / f"export_{lines}.csv", workdir / f"copy_{lines}.csv"
    asyncio.run(run_copy(dsn, start, end, theirs))  # warm the cache for both
    seconds, wall, rss = run_export(url, start, end, ours)
    copy_seconds = asyncio.run(run_copy(dsn, start, end, theirs))
    exported, copied = count_rows(ours), count_rows(theirs)
    if not exported == copied == lines:
        raise SystemExit(f"row counts differ: export {exported}, COPY {copied}, expected {lines}")
    return Run(lines, seconds, wall, rss, ours.stat().st_size, copy_seconds, theirs.stat().st_size)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} CPU, {memory:.0f} GiB RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def table(runs: list[Run]) -> str:
    out = [
        "| lines | export s | lines/s | COPY s | COPY lines/s | export ÷ COPY | export process s | peak RSS MiB | export MB | COPY MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        out.append(
            f"| {r.lines:,} | {r.export_seconds:.2f} | {r.lines / r.export_seconds:,.0f} "
            f"| {r.copy_seconds:.2f} | {r.lines / r.copy_seconds:,.0f} | {r.ratio:.2f}× "
            f"| {r.export_process_seconds:.2f} | {r.export_peak_rss_mb:.0f} "
            f"| {r.export_bytes / 1e6:.0f} | {r.copy_bytes / 1e6:.0f} |"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    name = f"creditdesk_bench_{uuid.uuid4().hex[:8]}"
    dsn = database_dsn(name)
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        migrations.upgrade(url)
        loaded = asyncio.run(load(dsn, args.lines))
        print(f"loaded {args.lines:,} lines in {loaded:.1f} s into {name}", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="export_bench_") as tmp:
            runs = [measure(url, dsn, n, Path(tmp)) for n in (args.small, args.lines)]
    finally:
        if not args.keep:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    print(f"load: {args.lines:,} lines in {loaded:.1f} s (INSERT … SELECT generate_series)")
    print()
    print(table(runs))
    if args.json:
        print(json.dumps([asdict(r) | {"ratio": r.ratio} for r in runs], indent=2))


if __name__ == "__main__":
    main()
