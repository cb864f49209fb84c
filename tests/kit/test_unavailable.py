"""A database that refuses connections answers 503 `service_unavailable` with
`Retry-After`, never 500 (issue 12). Real refusals, no mocks: a port nobody listens on, a
role PostgreSQL refuses with "too many connections", and backends terminated mid-run."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from app.kit.auth import Role
from app.kit.clock import FrozenClock
from app.main import create_app
from app.settings import Settings
from tests.conftest import _pg_admin, admin_api, started

pytestmark = pytest.mark.postgres


@asynccontextmanager
async def client_on(url: str, **more: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with app_on(url, **more) as (_app, client):
        yield client


def _settings(url: str, **more: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test", database_url=url, periodic_tasks_enabled=False, log_json=False, **more,
    )  # fmt: skip


@asynccontextmanager
async def app_on(url: str, **more: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(_settings(url, **more))
    async with started(app) as client:
        yield app, client


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "service_unavailable"
    assert int(response.headers["retry-after"]) > 0


async def test_connection_refused_answers_503() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with client_on(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/x") as client:
        response = await client.get("/v1/packs", headers={"Authorization": "Bearer cdk_x"})
    assert_unavailable(response)


async def test_too_many_connections_answers_503(pg_database: str) -> None:
    role = f"cd_full_{uuid.uuid4().hex[:8]}"
    await _pg_admin(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0")
    try:
        url = make_url(pg_database).set(username=role, password=None)
        async with client_on(url.render_as_string(hide_password=False)) as client:
            response = await client.get("/v1/packs", headers={"Authorization": "Bearer cdk_x"})
        assert_unavailable(response)
    finally:
        await _pg_admin(f"DROP ROLE {role}")


async def test_a_database_that_does_not_accept_connections_answers_503(pg_database: str) -> None:
    name = f"cd_closed_{uuid.uuid4().hex[:8]}"
    await _pg_admin(f"CREATE DATABASE {name} ALLOW_CONNECTIONS false")
    try:
        url = make_url(pg_database).set(database=name)
        async with client_on(url.render_as_string(hide_password=False)) as client:
            response = await client.get("/v1/packs", headers={"Authorization": "Bearer cdk_x"})
        assert_unavailable(response)
    finally:
        await _pg_admin(f"DROP DATABASE {name}")


async def test_a_fixed_pool_with_every_connection_busy_answers_503(pg_database: str) -> None:
    """DATABASE_MAX_OVERFLOW=0: a request waits for a pooled connection up to the pool's
    timeout, then answers 503 (not 500); the submission's fast path as well."""
    fixed = {"database_pool_size": 1, "database_max_overflow": 0, "database_pool_timeout": 0.3}
    async with app_on(pg_database, **fixed) as (app, client):
        auth = {"Authorization": "Bearer cdk_x"}
        async with app.state.db.engine.connect():  # the pool's only connection, held
            assert_unavailable(await client.get("/v1/customers/cus_x", headers=auth))
            ticket = {"line": "technical", "subject": "Backups fail", "body": "Exit code 3."}
            assert_unavailable(await client.post("/v1/tickets", json=ticket, headers=auth))
        # returned: the same requests reach the database again (an unknown key: 401)
        assert (await client.get("/v1/customers/cus_x", headers=auth)).status_code == 401


async def test_submissions_past_the_pools_capacity_wait_in_turn_then_answer_503(
    pg_database: str,
) -> None:
    """The pool's queue (`Database.admitted`, as many places as the pool lends
    connections), which the submission's fast path enters: a submission that finds every place taken waits up to the pool's timeout,
    then answers 503, with the pool itself idle; a place given back lets it through."""
    fixed = {"database_pool_size": 1, "database_max_overflow": 0, "database_pool_timeout": 0.3}
    async with app_on(pg_database, **fixed) as (app, client):
        db = app.state.db
        assert db.gate._value == 1  # the pool's capacity: size 1, no overflow
        auth = {"Authorization": "Bearer cdk_x"}
        ticket = {"line": "technical", "subject": "Backups fail", "body": "Exit code 3."}
        await db.gate.acquire()  # every place taken, no connection checked out
        try:
            assert_unavailable(await client.post("/v1/tickets", json=ticket, headers=auth))
        finally:
            db.gate.release()
        # a place free: the submission reaches the database (an unknown key: 401)
        assert (await client.post("/v1/tickets", json=ticket, headers=auth)).status_code == 401


async def test_many_submissions_through_a_pool_of_one_all_land_once(pg_database: str) -> None:
    """Twenty submissions at once through a fixed pool of one connection: each waits its
    turn at the queue and is charged once; none answers 503, and every place is given
    back."""
    fixed = {"database_pool_size": 1, "database_max_overflow": 0, "database_pool_timeout": 30}
    clock = FrozenClock(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    app = create_app(_settings(pg_database, **fixed), clock=clock)
    async with admin_api(app, clock) as api:
        customers = [(await api.customer())["id"] for _ in range(4)]
        keys = {}
        for customer_id in customers:
            await api.grant(customer_id, 10)
            keys[customer_id] = await api.key(Role.customer, customer_id)

        async def submit(n: int) -> httpx.Response:
            customer_id = customers[n % len(customers)]
            body = {"line": "technical", "subject": f"Backups fail on node {n}",
                    "body": f"Job {n} exits with code 3 after the update."}  # fmt: skip
            return await api.client.post("/v1/tickets", json=body, headers=keys[customer_id])

        answers = await asyncio.gather(*(submit(n) for n in range(20)))
        assert [a.status_code for a in answers] == [201] * 20, [a.text for a in answers]
        assert len({a.json()["number"] for a in answers}) == 20
        for customer_id in customers:
            balance = await api.client.get(
                f"/v1/customers/{customer_id}/balance", headers=api.admin
            )
            assert balance.json()["available"] == 10 - 5
        assert app.state.db.gate._value == 1
