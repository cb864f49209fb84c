"""Rate limits per API key, per client address and for failed authentication, kept in the
database so they hold across workers (issue 12). Two apps on one database stand for two
worker processes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx

from app.kit.auth import Role
from app.main import create_app
from app.settings import Settings
from tests.conftest import Api, started


@asynccontextmanager
async def worker(
    database_url: str, address: str, **limits: Any
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test", database_url=database_url, periodic_tasks_enabled=False, log_json=False,
        rate_limit_enabled=True, rate_limit_window_seconds=3600, **limits,
    )  # fmt: skip
    async with started(create_app(settings), client=(address, 40000)) as client:
        yield client


async def test_the_limit_per_key_holds_across_workers(api: Api, database_url: str) -> None:
    key = await api.key(Role.admin)
    async with AsyncExitStack() as stack:
        one = await stack.enter_async_context(
            worker(database_url, "10.0.0.1", rate_limit_per_key=5)
        )
        two = await stack.enter_async_context(
            worker(database_url, "10.0.0.2", rate_limit_per_key=5)
        )
        statuses = [
            (await (one if n % 2 else two).get("/v1/packs", headers=key)).status_code
            for n in range(8)
        ]
        assert statuses == [200] * 5 + [429] * 3
        refused = await one.get("/v1/packs", headers=key)
        assert refused.json()["code"] == "rate_limited"
        assert 0 < int(refused.headers["retry-after"]) <= 3600
        other_key = await api.key(Role.admin)
        assert (await one.get("/v1/packs", headers=other_key)).status_code == 200
        assert (await one.get("/healthz")).status_code == 200  # never limited


async def test_the_limit_per_address(api: Api, database_url: str) -> None:
    async with worker(database_url, "10.0.0.3", rate_limit_per_address=3) as client:
        statuses = [
            (await client.get("/v1/packs", headers=api.admin)).status_code for _ in range(5)
        ]
    assert statuses == [200, 200, 200, 429, 429]


async def test_failed_authentication_is_limited_per_address(api: Api, database_url: str) -> None:
    async with worker(database_url, "10.0.0.4", rate_limit_auth_failures=3) as client:
        wrong = [
            (await client.get("/v1/packs", headers={"Authorization": f"Bearer cdk_wrong{n}"}))
            for n in range(5)
        ]
        assert [r.status_code for r in wrong] == [401, 401, 401, 429, 429]
        # even the right key is refused from that address until the window ends: a
        # guessing address learns nothing more
        assert (await client.get("/v1/packs", headers=api.admin)).status_code == 429
    async with worker(database_url, "10.0.0.5", rate_limit_auth_failures=3) as client:
        assert (await client.get("/v1/packs", headers=api.admin)).status_code == 200
