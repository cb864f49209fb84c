"""Pooled PostgreSQL connections that the server ended: no pre-ping, yet never a 500.

The app's pool is filled, then every backend it holds is ended from a separate connection
with `pg_terminate_backend`. The requests right after must succeed or answer 503
`service_unavailable` with `Retry-After` (a connection that died unnoticed), never 500, and
the request after those must succeed on a fresh connection.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from tests.conftest import Api, _asyncpg_dsn
from tests.waiting import until

pytestmark = pytest.mark.postgres

TERMINATE = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
"""


async def _terminate_backends(database_url: str) -> int:
    conn = await asyncpg.connect(_asyncpg_dsn(database_url))
    try:
        return int(await conn.fetchval(TERMINATE))
    finally:
        await conn.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("settle", [True, False], ids=["noticed", "unnoticed"])
async def test_requests_survive_terminated_backends(
    api: Api, database_url: str, settle: bool
) -> None:
    assert make_url(database_url).get_backend_name() == "postgresql"
    # A fresh pool, and every asyncpg connection it opens (as app.kit.db, via `_connection`).
    opened: list[Any] = []
    await api.db.engine.dispose()
    event.listen(
        api.db.engine.sync_engine, "connect", lambda conn, _: opened.append(conn._connection)
    )
    # Several connections in the pool: concurrent requests check out one each.
    first = await asyncio.gather(
        *(api.client.get("/v1/packs", headers=api.admin) for _ in range(4))
    )
    assert [r.status_code for r in first] == [200] * 4 and opened

    assert await _terminate_backends(database_url) >= 1
    if settle:  # the event loop reads each server's goodbye: every pooled socket seen closed

        async def seen_closed() -> bool:
            return all(conn.is_closed() for conn in opened)

        await until(seen_closed, "the pool's terminated connections to be seen closed")

    after = await asyncio.gather(
        *(api.client.get("/v1/packs", headers=api.admin) for _ in range(4))
    )
    for response in after:
        assert response.status_code in (200, 503), response.text
        if response.status_code == 503:
            assert response.json()["code"] == "service_unavailable"
            assert "retry-after" in response.headers
    if settle:
        assert [r.status_code for r in after] == [200] * 4, (
            "a closed socket is replaced on checkout"
        )

    again = await api.client.get("/v1/packs", headers=api.admin)
    assert again.status_code == 200, again.text
    customer = await api.customer()
    assert customer["id"]
