"""Benchmark (not a test): webhook deliveries per second to a local receiver.

    .venv/bin/python bench/webhooks_bench.py [--events 3000] [--concurrency 16] [--batch 200]

A scratch PostgreSQL database (`creditdesk_bench_<random>`, dropped after), migrated; one webhook endpoint (`events: ["*"]`) pointing
at a receiver in a separate process (a bare ASGI app under uvicorn answering 200 and
counting `webhook-id`s); `--events` events written with `record_event`, 500 per transaction. Then the
clock starts and the server's own code runs until the receiver holds every event: the
fan-out (`app.webhooks.delivery.fan_out`) and the sender (`send_due`, leases, signing with
`standardwebhooks`, httpx POSTs `--concurrency` at a time, results recorded). Printed: the
fan-out time, the sending time, events/s delivered end to end, and the receiver's counts
(total requests and distinct ids: equal when nothing was sent twice).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from app.kit import migrations
from app.kit.auth import Principal, Role
from app.kit.db import Database
from app.kit.events import EventType, record_event
from app.settings import Settings
from app.webhooks import delivery, service
from app.webhooks.schemas import EndpointCreate

PG_ADMIN = os.environ.get(
    "CREDITDESK_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
RECEIVER = r"""
import sys
import uvicorn
ids, total = set(), [0]
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    if scope["method"] == "POST":
        total[0] += 1
        ids.add(dict(scope["headers"]).get(b"webhook-id"))
        body = b""
    else:
        body = f"{total[0]} {len(ids)}".encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, http="httptools", loop="uvloop")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def counts(port: int) -> tuple[int, int]:
    async with httpx.AsyncClient() as client:
        total, distinct = (await client.get(f"http://127.0.0.1:{port}/")).text.split()
    return int(total), int(distinct)


async def run(url: str, args: argparse.Namespace, port: int) -> dict[str, float]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url, webhook_concurrency=args.concurrency, webhook_batch=args.batch,
    )  # fmt: skip
    db = Database(url, pool_size=4)
    now = datetime.now(UTC)
    admin = Principal(key_id="key_bench", role=Role.admin, customer_id=None)
    async with db.unit_of_work() as session:
        body = EndpointCreate(url=f"http://127.0.0.1:{port}/hook", events=["*"])
        await service.create_endpoint(session, admin, body, settings=settings, now=now)
    for start in range(0, args.events, 500):
        async with db.unit_of_work() as session:
            for i in range(start, min(start + 500, args.events)):
                record_event(
                    session, EventType.customer_created, customer_id=f"cus_bench{i % 97}",
                    obj={"id": f"cus_bench{i}", "name": f"Bench {i}", "metadata": {}},
                    now=now,
                )  # fmt: skip
    before = await counts(port)
    t0 = time.perf_counter()
    await delivery.fan_out(db, datetime.now(UTC), settings)
    t1 = time.perf_counter()
    async with delivery.new_client(settings) as client:
        while (await counts(port))[0] - before[0] < args.events:
            if not await delivery.send_due(db, datetime.now(UTC), settings, client):
                await asyncio.sleep(0.05)
    t2 = time.perf_counter()
    total, distinct = await counts(port)
    await db.dispose()
    return {
        "fan_out_s": t1 - t0, "send_s": t2 - t1, "total_s": t2 - t0,
        "requests": total - before[0], "distinct": distinct - before[1],
    }  # fmt: skip


async def pg_scratch(action: str, name: str) -> None:
    dsn = make_url(PG_ADMIN).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        sql = f'CREATE DATABASE "{name}"' if action == "create" else (
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        )  # fmt: skip
        await conn.execute(sql)
    finally:
        await conn.close()


async def raw_rate(port: int, n: int, concurrency: int) -> float:
    """Calibration: bare httpx POSTs of a similar body to the same receiver, per second."""
    gate = asyncio.Semaphore(concurrency)
    body = b"x" * 400
    async with httpx.AsyncClient() as client:

        async def one(i: int) -> None:
            async with gate:
                await client.post(f"http://127.0.0.1:{port}/raw", content=body,
                                  headers={"webhook-id": f"raw{i}"})  # fmt: skip

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    port = free_port()
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)])
    rows = []
    try:
        time.sleep(1.0)
        raw = asyncio.run(raw_rate(port, 500, args.concurrency))
        name = f"creditdesk_bench_{uuid.uuid4().hex[:8]}"
        asyncio.run(pg_scratch("create", name))
        try:
            url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
            migrations.upgrade(url)
            rows.append(("postgresql", asyncio.run(run(url, args, port))))
        finally:
            asyncio.run(pg_scratch("drop", name))
    finally:
        receiver.terminate()
        receiver.wait()
    print(f"# {platform.python_version()}, {os.cpu_count()} CPU, load {os.getloadavg()[0]:.1f}, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, --events {args.events} "
          f"--concurrency {args.concurrency} --batch {args.batch}")  # fmt: skip
    print(f"calibration: bare httpx POSTs to the same receiver: {raw:.0f}/s")
    print("| engine | events | fan-out (s) | sending (s) | delivered events/s | "
          "requests at receiver | distinct webhook-ids |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    for engine, r in rows:
        print(f"| {engine} | {args.events} | {r['fan_out_s']:.2f} | {r['send_s']:.2f} | "
              f"{args.events / r['total_s']:.0f} | {r['requests']:.0f} | {r['distinct']:.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
