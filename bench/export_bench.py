"""Benchmark (not a test): the streamed journal CSV export against PostgreSQL's own COPY.

    .venv/bin/python bench/export_bench.py [--lines 1000000] [--small 100000] [--keep]

1. Creates a scratch database (`creditdesk_bench_<random>`), migrates it, and loads
   `--lines` journal lines (4 per transaction: a credit move and a money move, one
   transaction every 10 s from 2026-01-01) with INSERT … SELECT generate_series; triggers
   are off for the load (session_replication_role = replica); every transaction balances
   (there are no lots or wallets behind it: this is journal data only).
2. For the full period and for a period holding the first `--small` lines, runs
   `creditdesk export journal --format csv --output FILE` in a subprocess (the same code as
   the HTTP endpoint) and reads its peak RSS (VmHWM) and its own timing;
   then `COPY (the same SELECT) TO STDOUT WITH CSV HEADER` into a file, in the same run;
   `--repeat` rounds alternate the two, and the medians are reported. Then once per size
   through HTTP: `creditdesk serve` in a subprocess and `GET /v1/exports/journal` streamed
   to a file (checked byte for byte against the command's), with the server's peak RSS.
3. The books' formats (`--books xero,quickbooks,datev`): the same command with
   `--format xero|quickbooks|datev` (summary none: one journal per transaction), once per
   size, its time and peak RSS beside the COPY of the same period; the files are checked
   (rows per transaction, a Xero ZIP's files within 300 lines).
4. Prints Markdown tables (and JSON with --json) and drops the scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

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
    http_seconds: float
    http_server_peak_rss_mb: float

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
    url: str, start: datetime, end: datetime, output: Path, fmt: str = "csv"
) -> tuple[float, float, float]:
    """The CLI in a subprocess: (its export seconds, process seconds, peak RSS in MiB)."""
    env = {**os.environ, "CREDITDESK_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable, "-c", "import sys, time; from app.cli import main; "
        "began = time.perf_counter(); "
        "code = main(standalone_mode=False); "
        "print(f'EXPORT_SECONDS {time.perf_counter() - began:.6f}', file=sys.stderr); "
        "print(open('/proc/self/status').read(), file=sys.stderr)",
        "export", "journal", "--from", rfc(start), "--to", rfc(end),
        "--format", fmt, "--output", str(output),
    ]  # fmt: skip
    began = time.perf_counter()
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, cwd=ROOT)
    _, stderr_bytes = process.communicate()
    wall = time.perf_counter() - began
    stderr = stderr_bytes.decode()
    if process.returncode != 0:
        raise SystemExit(f"export failed:\n{stderr}")
    seconds = float(stderr.rsplit("EXPORT_SECONDS", 1)[1].split()[0])
    return seconds, wall, peak_rss_mib(stderr)


def peak_rss_mib(status: str) -> float:
    """VmHWM of /proc/PID/status: the peak resident set of the process since its exec.
    (Not ru_maxrss from wait4: a child's counts the parent's pages it was forked with.)"""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise SystemExit("no VmHWM in /proc/PID/status")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_http(url: str, start: datetime, end: datetime, output: Path) -> tuple[float, float]:
    """`creditdesk serve` in a subprocess, `GET /v1/exports/journal` streamed to a file:
    (seconds from request to last byte, the server's peak RSS in MiB)."""
    key = "cdk_bench_" + uuid.uuid4().hex
    port = free_port()
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "CREDITDESK_DATABASE_URL": url,
        "CREDITDESK_BOOTSTRAP_ADMIN_KEY": key, "CREDITDESK_PERIODIC_TASKS_ENABLED": "false",
        "CREDITDESK_LOG_LEVEL": "WARNING",
    }  # fmt: skip
    command = [sys.executable, "-m", "app.cli", "serve", "--no-migrate", "--port", str(port)]
    server = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        params = {"from": rfc(start), "to": rfc(end), "format": "csv"}
        headers = {"Authorization": f"Bearer {key}"}
        began = time.perf_counter()
        with (
            httpx.stream(
                "GET", f"{base}/v1/exports/journal", params=params, headers=headers, timeout=None
            ) as response,
            output.open("wb") as sink,
        ):
            response.raise_for_status()
            for chunk in response.iter_raw():
                sink.write(chunk)
        seconds = time.perf_counter() - began
        peak = peak_rss_mib(Path(f"/proc/{server.pid}/status").read_text())
    finally:
        server.terminate()
        server.wait()
    return seconds, peak


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


def measure(url: str, dsn: str, lines: int, workdir: Path, repeat: int) -> Run:
    """`repeat` rounds of (export, COPY), alternating; the medians, and the highest RSS."""
    start, end = period_for(lines)
    ours, theirs = workdir / f"export_{lines}.csv", workdir / f"copy_{lines}.csv"
    asyncio.run(run_copy(dsn, start, end, theirs))  # warm the cache for both
    exports, walls, rss, copies = [], [], [], []
    for _ in range(repeat):
        seconds, wall, peak = run_export(url, start, end, ours)
        exports.append(seconds)
        walls.append(wall)
        rss.append(peak)
        copies.append(asyncio.run(run_copy(dsn, start, end, theirs)))
        exported, copied = count_rows(ours), count_rows(theirs)
        if not exported == copied == lines:
            raise SystemExit(f"row counts: export {exported}, COPY {copied}, expected {lines}")
    over_http = workdir / f"http_{lines}.csv"
    http_seconds, http_rss = run_http(url, start, end, over_http)
    if over_http.read_bytes() != ours.read_bytes():
        raise SystemExit("the HTTP export differs from the command's")
    print(
        f"{lines:,} lines: export {[round(x, 2) for x in exports]} s, "
        f"COPY {[round(x, 2) for x in copies]} s, peak RSS {[round(x) for x in rss]} MiB, "
        f"HTTP {http_seconds:.2f} s, server peak RSS {http_rss:.0f} MiB",
        file=sys.stderr,
    )
    return Run(
        lines, statistics.median(exports), statistics.median(walls), max(rss),
        ours.stat().st_size, statistics.median(copies), theirs.stat().st_size, http_seconds,
        http_rss,
    )  # fmt: skip


@dataclass
class BooksRun:
    format: str
    lines: int
    export_seconds: float
    export_peak_rss_mb: float
    export_bytes: int
    copy_seconds: float

    @property
    def ratio(self) -> float:
        return self.export_seconds / self.copy_seconds


def books_rows(path: Path, fmt: str) -> int:
    """Data rows of a books file (a Xero ZIP: over its files, each within 300 lines)."""
    import zipfile

    if fmt == "xero" and zipfile.is_zipfile(path):
        total = 0
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                lines = archive.read(name).count(b"\r\n")
                if lines > 300:
                    raise SystemExit(f"{name} has {lines} lines")
                total += lines - 1
        return total
    header = 2 if fmt == "datev" else 1
    return count_rows(path) + 1 - header


def measure_books(url: str, lines: int, workdir: Path, fmt: str, copy_seconds: float) -> BooksRun:
    start, end = period_for(lines)
    output = workdir / f"{fmt}_{lines}.out"
    seconds, _, peak = run_export(url, start, end, output, fmt)
    txns = lines // LINES_PER_TXN  # 2 money lines a transaction: DATEV 1 row, the others 2
    expected = txns if fmt == "datev" else 2 * txns
    if (found := books_rows(output, fmt)) != expected:
        raise SystemExit(f"{fmt}: {found} rows, expected {expected}")
    print(f"{lines:,} lines: {fmt} {seconds:.2f} s, peak RSS {peak:.0f} MiB", file=sys.stderr)
    return BooksRun(fmt, lines, seconds, peak, output.stat().st_size, copy_seconds)


def books_table(runs: list[BooksRun]) -> str:
    out = [
        "| format | journal lines | export s | lines/s | COPY s (same period) | export ÷ COPY "
        "| peak RSS MiB | file MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        out.append(
            f"| {r.format} | {r.lines:,} | {r.export_seconds:.2f} "
            f"| {r.lines / r.export_seconds:,.0f} | {r.copy_seconds:.2f} | {r.ratio:.2f}× "
            f"| {r.export_peak_rss_mb:.0f} | {r.export_bytes / 1e6:.1f} |"
        )
    return "\n".join(out)


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
        "| lines | export s | lines/s | COPY s | COPY lines/s | export ÷ COPY | export peak RSS MiB "
        "| export process s | HTTP s | HTTP server peak RSS MiB | CSV MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        out.append(
            f"| {r.lines:,} | {r.export_seconds:.2f} | {r.lines / r.export_seconds:,.0f} "
            f"| {r.copy_seconds:.2f} | {r.lines / r.copy_seconds:,.0f} | {r.ratio:.2f}× "
            f"| {r.export_peak_rss_mb:.0f} | {r.export_process_seconds:.2f} "
            f"| {r.http_seconds:.2f} | {r.http_server_peak_rss_mb:.0f} "
            f"| {r.export_bytes / 1e6:.0f} (COPY {r.copy_bytes / 1e6:.0f}) |"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds per size (medians)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--books", default="xero,quickbooks,datev", help="books formats to measure ('' for none)"
    )
    args = parser.parse_args()

    name = f"creditdesk_bench_{uuid.uuid4().hex[:8]}"
    dsn = database_dsn(name)
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        migrations.upgrade(url)
        loaded = asyncio.run(load(dsn, args.lines))
        print(f"loaded {args.lines:,} lines in {loaded:.1f} s into {name}", file=sys.stderr)
        before = os.getloadavg()[0]
        with tempfile.TemporaryDirectory(prefix="export_bench_") as tmp:
            runs = [measure(url, dsn, n, Path(tmp), args.repeat) for n in (args.small, args.lines)]
            books = [
                measure_books(url, run.lines, Path(tmp), fmt, run.copy_seconds)
                for run in runs
                for fmt in filter(None, args.books.split(","))
            ]
            # What every export pays whatever its size: settings, engine, connection, plan.
            empty = START - timedelta(days=1)
            fixed = statistics.median(
                run_export(url, empty, START, Path(tmp) / "empty.csv")[0]
                for _ in range(args.repeat)
            )
        after = os.getloadavg()[0]
    finally:
        if not args.keep:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    print(f"load: {args.lines:,} lines in {loaded:.1f} s (INSERT … SELECT generate_series)")
    print(f"figures: medians of {args.repeat} alternating rounds; peak RSS: the highest")
    print(f"load average (1 min) before / after the measurements: {before:.1f} / {after:.1f}")
    print()
    print(table(runs))
    print()
    print(f"fixed cost of one export (an empty period, same command): {fixed:.2f} s")
    if books:
        print()
        print(books_table(books))
    if args.json:
        print(json.dumps([asdict(r) | {"ratio": r.ratio} for r in [*runs, *books]], indent=2))


if __name__ == "__main__":
    main()
