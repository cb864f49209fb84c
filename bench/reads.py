"""Server CPU per read: the cabinet's and partners' GETs one by one (issue 30).

What is measured: the CPU time (user + system, from /proc) the server process and its
worker spend per request, for each read, over N sequential requests on one keep-alive
connection. CPU time, not wall time or throughput: it holds on a machine shared with other
work, where requests per second would measure the neighbours. PostgreSQL's own CPU is not
in the figure (it is reported beside it, from the load database's backend).

Setup: a fresh scratch database `creditdesk_reads_<random>`, migrated; `--customers`
customers with credits and a customer key each; `--tickets` technical-line tickets submitted
through the API for the first customer (so its list, statement and events have a full page);
`creditdesk serve --workers 1` with the rate limiter off (as bench/load). Then, per read:
`--warmup` requests, CPU read, `--requests` requests (each must answer 200), CPU read again.
`GET /v1/packs` (authentication, no query) is measured too: the floor every read pays.

Run: .venv/bin/python bench/reads.py [--requests 500] [--warmup 50] [--tickets 30]
                                     [--reads ticket,list,balance,entries,events,packs]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load

READS = {
    "ticket": "/v1/tickets/{ticket}",
    "list": "/v1/tickets?limit=20",
    "balance": "/v1/customers/{customer}/balance",
    "entries": "/v1/customers/{customer}/entries?limit=20",
    "events": "/v1/events?limit=20",
    "packs": "/v1/packs",
}


def submit(client: httpx.Client, key: str, n: int) -> list[str]:
    ids = []
    for i in range(n):
        tag = uuid.uuid4().hex[:12]
        r = client.post(
            "/v1/tickets",
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": f"reads-{tag}"},
            json={
                "line": "technical",
                "subject": f"Cannot configure backups on node {i} {tag}",
                "body": f"Backup job {tag} fails with exit code 3 after the update.",
            },
        )
        if r.status_code != 201:
            raise SystemExit(f"submission answered {r.status_code}: {r.text}")
        ids.append(r.json()["id"])
    return ids


def measure(
    client: httpx.Client, path: str, key: str, warmup: int, n: int, server: list[int], pg: list[int]
) -> dict:
    headers = {"Authorization": f"Bearer {key}"}
    for _ in range(warmup):
        client.get(path, headers=headers).raise_for_status()
    cpu0, pg0, t0 = load._cpu_seconds(server), load._cpu_seconds(pg), time.monotonic()
    for _ in range(n):
        r = client.get(path, headers=headers)
        if r.status_code != 200:
            raise SystemExit(f"GET {path} answered {r.status_code}: {r.text}")
    cpu1, pg1, t1 = load._cpu_seconds(server), load._cpu_seconds(pg), time.monotonic()
    return {
        "server_cpu_ms": round(1000 * (cpu1 - cpu0) / n, 3),
        "postgres_cpu_ms": round(1000 * (pg1 - pg0) / n, 3),
        "wall_ms": round(1000 * (t1 - t0) / n, 3),
        "bytes": len(r.content),
    }


def profile(pid: int, path: Path) -> subprocess.Popen[bytes]:
    spy = shutil.which("py-spy") or str(load.BIN / "py-spy")
    proc = subprocess.Popen(
        [spy, "record", "--subprocesses", "--nonblocking", "--format", "raw", "--rate", "500",
         "--pid", str(pid), "--output", str(path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1)  # attached before the measured requests
    return proc


def start(url: str, out: Path, code: str | None) -> tuple[subprocess.Popen[bytes], str]:
    """`creditdesk serve --workers 1`; with `code`, that checkout's packages first on the
    server's path (PYTHONPATH comes before this venv's editable install)."""
    saved = os.environ.get("PYTHONPATH")
    if code is not None:
        os.environ["PYTHONPATH"] = str(Path(code).resolve())
    try:
        port = load.free_port()
        return load.start_server(url, port, 1, 5, out), f"http://127.0.0.1:{port}"
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--tickets", type=int, default=30)
    parser.add_argument("--reads", default=",".join(READS))
    parser.add_argument("--db", default=f"creditdesk_reads_{uuid.uuid4().hex[:8]}")
    parser.add_argument("--out", default="/tmp/creditdesk-reads")
    parser.add_argument(
        "--baseline",
        help="a checkout of other code (e.g. `git archive BASE | tar -x -C DIR`) served beside "
        "this one on the same database; the two are measured in alternating rounds",
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (--baseline)")
    parser.add_argument(
        "--profile", action="store_true",
        help="py-spy on the server during each read: where its CPU goes (OUT/profile-READ.txt)",
    )  # fmt: skip
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    load.ensure_tools()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{args.db}"
    rows = {}
    try:
        asyncio.run(load.recreate(args.db))
        env = {**os.environ, "CREDITDESK_DATABASE_URL": url}
        load.sh(str(load.BIN / "creditdesk"), "migrate", env=env)
        keys = out / "keys.txt"
        asyncio.run(load.seed(url, args.customers, 1000, keys))
        customer, key = keys.read_text().split("\n")[0].split()
        servers = {"this": start(url, out, None)}
        if args.baseline:
            servers["baseline"] = start(url, out, args.baseline)
        try:
            first = next(iter(servers.values()))
            with httpx.Client(base_url=first[1], timeout=30) as client:
                tickets = submit(client, key, args.tickets)
            pg = load._postgres_pids(args.db)
            clients = {
                name: (httpx.Client(base_url=base, timeout=30), load._tree(proc.pid), proc)
                for name, (proc, base) in servers.items()
            }
            rounds = args.rounds if args.baseline else 1
            for name in args.reads.split(","):
                path = READS[name].format(ticket=tickets[-1], customer=customer)
                spies = {
                    code: profile(proc.pid, out / f"profile-{code}-{name}.txt")
                    for code, (_, _, proc) in clients.items()
                    if args.profile
                }
                passes: dict[str, list[dict]] = {code: [] for code in clients}
                for _ in range(rounds):  # alternating: both meet the machine as it is
                    for code, (client, pids, _) in clients.items():
                        passes[code].append(
                            measure(client, path, key, args.warmup, args.requests, pids, pg)
                        )
                for spy in spies.values():
                    spy.send_signal(signal.SIGINT)  # py-spy writes what it sampled
                    spy.wait(60)
                for code, done in passes.items():
                    rows[(name, code)] = {"path": path, **{
                        k: statistics.median(p[k] for p in done) for k in done[0]
                    }, "passes": [p["server_cpu_ms"] for p in done]}  # fmt: skip
                    print(json.dumps({f"{name} ({code})": rows[(name, code)]}), flush=True)
            for client, _, _ in clients.values():
                client.close()
        finally:
            for proc, _ in servers.values():
                load.stop(proc)
    finally:
        asyncio.run(load.drop_created())
    print(
        "\n| read | code | server CPU ms/req (median) | rounds | PostgreSQL CPU ms/req | "
        "wall ms/req | bytes |"
    )
    print("|---|---|---:|---|---:|---:|---:|")
    for (name, code), r in rows.items():
        listed = ", ".join(f"{p:.2f}" for p in r["passes"])
        print(
            f"| {name} | {code} | {r['server_cpu_ms']:.2f} | {listed} | "
            f"{r['postgres_cpu_ms']:.2f} | {r['wall_ms']:.2f} | {int(r['bytes'])} |"
        )


if __name__ == "__main__":
    main()
