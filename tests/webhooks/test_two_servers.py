"""Two `creditdesk serve` processes on one PostgreSQL, both running the webhook sender:
under load every event reaches every endpoint exactly once (counted at the receiver)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.acceptance.test_server import CREDITDESK, _wait_until_ready
from tests.conftest import _asyncpg_dsn, _truncate_pg, free_port
from tests.waiting import DEADLINE, REQUEST_TIMEOUT, wait_until
from tests.webhooks.conftest import Receiver, _serve

ADMIN_KEY = "cdk_two-servers-bootstrap-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
CUSTOMERS = 60  # each: customer.created and credits.granted


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The servers run on the wall clock, and so does their receiver."""
    yield from _serve(Receiver())


@pytest.fixture
def servers(pg_database: str, tmp_path: Path) -> Iterator[list[str]]:
    asyncio.run(_truncate_pg(pg_database))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CREDITDESK_")},
        "CREDITDESK_DATABASE_URL": pg_database,
        "CREDITDESK_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
        "CREDITDESK_WEBHOOK_SEND_INTERVAL_SECONDS": "0.2",
        "CREDITDESK_WEBHOOK_BATCH": "20",  # small batches: the two senders interleave
    }
    processes, bases = [], []
    for n in range(2):
        port = free_port()
        log = tmp_path / f"server{n}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [str(CREDITDESK), "serve", "--port", str(port), "--no-migrate"],
                cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip
        processes.append(process)
        bases.append(f"http://127.0.0.1:{port}")
        _wait_until_ready(process, bases[-1], log)
    try:
        yield bases
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=DEADLINE)


async def _succeeded(url: str) -> int:
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'"
            )
        )
    finally:
        await conn.close()


@pytest.mark.postgres
def test_two_servers_deliver_each_event_once_per_endpoint(
    servers: list[str], receiver: Receiver, pg_database: str
) -> None:
    hooks = []
    for name in ("a", "b"):
        response = httpx.post(
            f"{servers[0]}/v1/webhook-endpoints",
            json={"url": f"{receiver.url}/{name}", "events": ["*"]}, headers=ADMIN,
        )  # fmt: skip
        assert response.status_code == 201, response.text
        hooks.append(response.json())

    def make(i: int) -> None:
        base = servers[i % 2]  # requests alternate between the two processes
        with httpx.Client(base_url=base, headers=ADMIN, timeout=REQUEST_TIMEOUT) as client:
            created = client.post(
                "/v1/customers", json={"name": f"Load {i}", "email": f"load{i}@example.com"}
            )
            assert created.status_code == 201, created.text
            granted = client.post(
                f"/v1/customers/{created.json()['id']}/adjustments",
                json={"credits": 2, "reason": "load"},
            )
            assert granted.status_code == 201, granted.text

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(make, range(CUSTOMERS)))

    expected = 2 * CUSTOMERS * len(hooks)
    # Every delivery recorded as succeeded: each POST was answered before its result was
    # recorded, and a succeeded delivery is never sent again, so a duplicate has arrived
    # by now (the lease outlasts the request timeout: no second claim while one is out).
    wait_until(
        lambda: asyncio.run(_succeeded(pg_database)) == expected,
        f"all {expected} deliveries to be recorded as succeeded",
        every=0.5,
    )

    counts = Counter((r.path, r.headers["webhook-id"]) for r in receiver.requests)
    assert len(receiver.requests) == expected, f"{len(receiver.requests)} of {expected}"
    assert set(counts.values()) == {1}, [k for k, v in counts.items() if v > 1][:5]
    assert {p for p, _ in counts} == {"/hooks/a", "/hooks/b"}
    for hook, path in zip(hooks, ("a", "b"), strict=True):
        received = [r for r in receiver.requests if r.path == f"/hooks/{path}"]
        bodies = Receiver(requests=received).verified(hook["secret"])
        assert len({b["id"] for b in bodies}) == 2 * CUSTOMERS
