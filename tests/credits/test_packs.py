"""The pack catalogue is configuration (CREDITDESK_PACKS), not code."""

from __future__ import annotations

import json

import pytest

from app.kit.errors import ValidationFailed
from app.settings import Settings
from credits.catalogue import find_pack
from tests.conftest import Api

PACKS = [
    {"code": "starter", "credits": 3, "price": 10_000, "valid_days": 90},
    {"code": "bulk", "credits": 100, "price": 250_000},
]


@pytest.fixture
def settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The test settings, with the catalogue read from the environment as in production."""
    monkeypatch.setenv("CREDITDESK_PACKS", json.dumps(PACKS))
    monkeypatch.setenv("CREDITDESK_CURRENCY", "USD")
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        **settings.model_dump(include={"env", "database_url", "database_pool_size"}),
        periodic_tasks_enabled=False,
        log_json=False,
    )


async def test_the_catalogue_comes_from_the_environment(api: Api, settings: Settings) -> None:
    response = await api.client.get("/v1/packs", headers=api.admin)
    assert response.status_code == 200
    assert response.json()["data"] == [
        {"code": "starter", "credits": 3, "price": {"amount": 10_000, "currency": "USD"},
         "valid_days": 90},
        {"code": "bulk", "credits": 100, "price": {"amount": 250_000, "currency": "USD"},
         "valid_days": None},
    ]  # fmt: skip
    assert find_pack(settings, "bulk").credits == 100
    with pytest.raises(ValidationFailed, match="starter, bulk"):
        find_pack(settings, "five")


@pytest.mark.parametrize(
    "packs",
    [
        [{"code": "a", "credits": 1, "price": 1}, {"code": "a", "credits": 2, "price": 2}],
        [{"code": "Bad Code", "credits": 1, "price": 1}],
        [{"code": "zero", "credits": 0, "price": 1}],
        [{"code": "neg", "credits": 1, "price": -1}],
    ],
)
def test_a_broken_catalogue_is_refused_at_start(
    packs: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDITDESK_PACKS", json.dumps(packs))
    with pytest.raises(ValueError):
        Settings(_env_file=None)  # type: ignore[call-arg]
