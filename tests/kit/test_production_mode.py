"""Production mode serves no API documentation and no open metrics; every answer has
`X-Content-Type-Options: nosniff` and API answers `Cache-Control: no-store` (issue 12)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from app.main import create_app
from app.settings import Settings
from tests.conftest import started

PRODUCTION = {
    "env": "production",
    "stripe_secret_key": "sk_test_0123456789abcdefghijklmnop",
    "stripe_webhook_secret": "whsec_0123456789abcdefghijklmnop",
}


@asynccontextmanager
async def client(database_url: str, **fields: Any) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url, periodic_tasks_enabled=False, log_json=False, **fields,
    )  # fmt: skip
    async with started(create_app(settings)) as http:
        yield http


async def test_production_serves_no_docs_and_no_open_metrics(database_url: str) -> None:
    async with client(database_url, **PRODUCTION) as http:
        for path in ("/docs", "/redoc", "/openapi.json", "/metrics"):
            response = await http.get(path)
            assert response.status_code == 404, (path, response.status_code)
            assert response.headers["x-content-type-options"] == "nosniff"
        assert (await http.get("/healthz")).status_code == 200
    async with client(database_url, **PRODUCTION, metrics_token="m" * 32) as http:
        assert (await http.get("/metrics")).status_code == 401
        ok = await http.get("/metrics", headers={"Authorization": "Bearer " + "m" * 32})
        assert ok.status_code == 200
    async with client(database_url, **PRODUCTION, docs_enabled=True) as http:
        assert (await http.get("/openapi.json")).status_code == 200


async def test_development_keeps_the_docs(database_url: str) -> None:
    async with client(database_url, env="test") as http:
        assert (await http.get("/docs")).status_code == 200
        assert (await http.get("/openapi.json")).status_code == 200


async def test_every_answer_is_nosniff_and_api_answers_are_not_stored(database_url: str) -> None:
    async with client(database_url, env="test") as http:
        for path, api in (("/healthz", False), ("/v1/packs", True), ("/v1/nothing", True)):
            response = await http.get(path)
            assert response.headers["x-content-type-options"] == "nosniff", path
            assert (response.headers.get("cache-control") == "no-store") is api, path
