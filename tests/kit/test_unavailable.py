"""A database that refuses connections answers 503 `service_unavailable` with
`Retry-After`, never 500 (issue 12). Real refusals, no mocks: a port nobody listens on, a
role PostgreSQL refuses with "too many connections", and backends terminated mid-run."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from app.main import create_app
from app.settings import Settings
from tests.conftest import _pg_admin, started

pytestmark = pytest.mark.postgres


@asynccontextmanager
async def client_on(url: str, **more: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with app_on(url, **more) as (_app, client):
        yield client


@asynccontextmanager
async def app_on(url: str, **more: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test", database_url=url, periodic_tasks_enabled=False, log_json=False, **more,
    )  # fmt: skip
    app = create_app(settings)
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
