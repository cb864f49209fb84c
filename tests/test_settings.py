"""Settings: the environment and `.env`, defaults, and what production refuses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from app.cli import main as cli
from app.settings import Settings

STRIPE = {
    "stripe_secret_key": "sk_live_0123456789abcdefABCDEF",
    "stripe_webhook_secret": "whsec_0123456789abcdefABCDEF",
}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("CREDITDESK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults() -> None:
    settings = Settings()
    assert settings.env == "development"
    assert settings.database_url is None  # the embedded server (app.kit.embedded)
    assert settings.embedded_dir == Path(".creditdesk/postgres")
    assert settings.currency == "EUR"
    assert settings.payment_provider == "offline"
    assert [(p.code, p.credits, p.price) for p in settings.packs] == [
        ("single", 1, 3000),
        ("five", 5, 10000),
        ("thirty", 30, 30000),
    ]
    assert settings.max_body_bytes == 1_048_576
    assert settings.idempotency_retention_hours >= 24


def test_environment_with_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITDESK_DATABASE_URL", "postgresql+asyncpg://u@db/creditdesk")
    monkeypatch.setenv("CREDITDESK_CURRENCY", "USD")
    monkeypatch.setenv("CREDITDESK_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("CREDITDESK_PACKS", '[{"code": "ten", "credits": 10, "price": 25000}]')
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u@elsewhere/x")  # no prefix: ignored
    settings = Settings()
    assert settings.database_url == "postgresql+asyncpg://u@db/creditdesk"
    assert settings.currency == "USD"
    assert settings.max_body_bytes == 2048
    assert [p.code for p in settings.packs] == ["ten"]


def test_dotenv_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        "CREDITDESK_CURRENCY=GBP\nCREDITDESK_VERIFY_MAX_ATTEMPTS=3\n", encoding="utf-8"
    )
    assert Settings().currency == "GBP"
    assert Settings().verify_max_attempts == 3
    monkeypatch.setenv("CREDITDESK_CURRENCY", "CHF")  # the environment wins over .env
    assert Settings().currency == "CHF"


@pytest.mark.parametrize(
    "overrides",
    [
        {"currency": "euro"},
        {"max_body_bytes": 10},
        {"idempotency_retention_hours": 1},
        {
            "packs": [
                {"code": "a", "credits": 1, "price": 1},
                {"code": "a", "credits": 2, "price": 2},
            ]
        },
        {"env": "staging"},
    ],
)
def test_invalid_values_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(**overrides)  # type: ignore[arg-type]


def test_production_refuses_the_offline_provider() -> None:
    with pytest.raises(ValidationError, match="offline payment provider is refused"):
        Settings(env="production")
    with pytest.raises(ValidationError, match="STRIPE_WEBHOOK_SECRET is required"):
        Settings(env="production", stripe_secret_key=STRIPE["stripe_secret_key"])
    production = Settings(env="production", **STRIPE)  # type: ignore[arg-type]
    assert production.payment_provider == "stripe"


@pytest.mark.parametrize(
    "value", ["changeme", "CHANGE-ME", " secret ", "my-placeholder-key", "test"]
)
@pytest.mark.parametrize(
    "field", ["bootstrap_admin_key", "stripe_secret_key", "stripe_webhook_secret"]
)
def test_production_refuses_placeholder_secrets(field: str, value: str) -> None:
    values = {**STRIPE, field: value}
    with pytest.raises(ValidationError, match=f"CREDITDESK_{field.upper()} holds a placeholder"):
        Settings(env="production", **values)  # type: ignore[arg-type]
    Settings(env="development", **values)  # type: ignore[arg-type]  # tolerated outside production


def test_production_accepts_a_real_bootstrap_key() -> None:
    settings = Settings(
        env="production",
        bootstrap_admin_key="cdk_5pQ0xZr8mT1vN4bW7yK2eH6jL9sD3fG",
        **STRIPE,  # type: ignore[arg-type]
    )
    assert settings.bootstrap_admin_key is not None


def test_cli_reports_a_refused_configuration_without_a_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CREDITDESK_ENV", "production")
    result = CliRunner().invoke(cli, ["migrate"])
    assert result.exit_code == 1
    assert "invalid configuration" in result.stderr
    assert "offline payment provider is refused" in result.stderr
    assert "Traceback" not in result.output
