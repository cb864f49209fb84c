"""Rate limits per API key, per client address and for failed authentication, kept in the
database so they hold across workers (issue 12). Two apps on one database stand for two
worker processes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import event

from app.kit.auth import Role
from app.kit.clock import FrozenClock
from app.main import create_app
from app.settings import Settings
from tests.conftest import Api, served_in_thread, started


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
        # a valid key is still served there (issue 25); guesses keep getting 429
        assert (await client.get("/v1/packs", headers=api.admin)).status_code == 200
        assert (
            await client.get("/v1/packs", headers={"Authorization": "Bearer cdk_x"})
        ).status_code == 429
    async with worker(database_url, "10.0.0.5", rate_limit_auth_failures=3) as client:
        assert (await client.get("/v1/packs", headers=api.admin)).status_code == 200


def _served(database_url: str, clock: FrozenClock) -> Any:
    """A worker over real HTTP on 127.0.0.1, with the default limits (20 failures)."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test", database_url=database_url, periodic_tasks_enabled=False, log_json=False,
        rate_limit_enabled=True, rate_limit_window_seconds=3600,
    )  # fmt: skip
    return served_in_thread(create_app(settings, clock=clock))


async def test_failures_from_an_address_do_not_lock_out_its_valid_keys(
    api: Api, database_url: str, clock: FrozenClock
) -> None:
    """One misconfigured client behind a shared address (a NAT, a partner's egress) must
    not lock out everyone else there: past the threshold its unknown and revoked keys get
    429, a valid key is served, whichever worker counted the failures (issue 25)."""
    valid = await api.key(Role.admin)
    created = await api.client.post(
        "/v1/api-keys", json={"name": "revoked", "role": "admin"}, headers=api.admin
    )
    revoked = {"Authorization": f"Bearer {created.json()['key']}"}
    gone = await api.client.delete(f"/v1/api-keys/{created.json()['id']}", headers=api.admin)
    assert gone.status_code == 200, gone.text
    with _served(database_url, clock) as one, _served(database_url, clock) as two:
        async with httpx.AsyncClient() as http:
            wrong = [
                (await http.get(f"http://127.0.0.1:{(one, two)[n % 2]}/v1/packs",
                                headers={"Authorization": f"Bearer cdk_wrong{n}"})).status_code
                for n in range(22)
            ]  # fmt: skip
            assert wrong == [401] * 20 + [429] * 2
            for port in (one, two):
                served = await http.get(f"http://127.0.0.1:{port}/v1/packs", headers=valid)
                assert served.status_code == 200, served.text
                for bad in ({"Authorization": "Bearer cdk_wrong"}, revoked, {}):
                    refused = await http.get(f"http://127.0.0.1:{port}/v1/packs", headers=bad)
                    assert refused.status_code == 429, (bad, refused.text)
                    assert refused.json()["code"] == "rate_limited"


async def test_a_valid_key_on_a_locked_address_is_looked_up_once(
    api: Api, database_url: str
) -> None:
    """Past the failure threshold the limiter reads the key to let it through; the request's
    `authenticate` uses that row instead of reading it again."""
    valid = await api.key(Role.admin)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test", database_url=database_url, periodic_tasks_enabled=False, log_json=False,
        rate_limit_enabled=True, rate_limit_window_seconds=3600, rate_limit_auth_failures=3,
    )  # fmt: skip
    app = create_app(settings)
    lookups: list[str] = []
    async with started(app, client=("198.51.100.77", 40000)) as client:

        @event.listens_for(app.state.db.engine.sync_engine, "before_cursor_execute")
        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if "secret_hash" in statement:
                lookups.append(statement)

        for n in range(3):
            wrong = await client.get("/v1/packs", headers={"Authorization": f"Bearer cdk_x{n}"})
            assert wrong.status_code == 401
        locked = await client.get("/v1/packs", headers={"Authorization": "Bearer cdk_x"})
        assert locked.status_code == 429
        lookups.clear()
        served = await client.get("/v1/packs", headers=valid)
        assert served.status_code == 200, served.text
        assert len(lookups) == 1, lookups
