"""`/docs` and `/redoc` load every script and stylesheet from this server (they work
offline); `/` points to them and to the cabinet. No database is needed for these pages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from app.main import create_app
from app.settings import Settings


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(_env_file=None, periodic_tasks_enabled=False))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"}),
        ("/redoc", {"redoc.standalone.js", "favicon.png"}),
    ],
)
async def test_docs_pages_load_their_assets_from_this_server(
    client: httpx.AsyncClient, page: str, assets: set[str]
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert not re.findall(r"(?:https?:)?//[\w.-]+\.\w+/", response.text), "a CDN is referenced"
    urls = set(re.findall(r'(?:src|href)="([^"]+)"', response.text))
    assert {u.rsplit("/", 1)[-1] for u in urls} >= assets
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100, url
    assert "'/openapi.json'" in response.text or '"/openapi.json"' in response.text


async def test_home_points_to_the_docs_and_the_cabinet(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    links = re.findall(r'href="([^"]+)"', response.text)
    assert {"/docs", "/openapi.json", "/cabinet"} <= set(links)
