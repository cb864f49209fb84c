"""Settings: the environment and `.env`, defaults, and what production refuses."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
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


BAD_DATABASE_URLS = {
    "postgresql+asyncpg://cd:s3cret-pw@db.example:notaport/cd": "the port is not a number",
    "mysql://cd:s3cret-pw@db.example/cd": "the driver 'mysql' is not supported",
    "garbage": "not a database URL",
    "postgresql://cd@db.example/cd": "the driver 'postgresql' is not supported",  # sync driver
    "sqlite+aiosqlite:///./creditdesk.db": "the driver 'sqlite",  # one engine: PostgreSQL
    "postgresql+asyncpg://cd@db.example:99999/cd": "the port 99999 is out of range",
    "postgresql+asyncpg://cd@db.example/cd?sslmode=require": "'sslmode' is not one asyncpg",
}


@pytest.mark.parametrize(("url", "reason"), BAD_DATABASE_URLS.items())
def test_a_database_url_that_cannot_work_is_refused_at_load(url: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        Settings(database_url=url)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://cd:pw@db.example:5432/cd",
        "postgresql+asyncpg://cd@[::1]/cd?ssl=require&prepared_statement_cache_size=0",
        "postgresql+asyncpg://postgres@/cd?host=/var/run/postgresql",
    ],
)
def test_usable_database_urls_are_accepted(url: str) -> None:
    assert Settings(database_url=url).database_url == url


# Every `creditdesk` command that reads the settings, with the arguments it needs to get
# that far; each meets one of the bad URLs in turn (every URL twice).
COMMANDS = [
    ["migrate"],
    ["serve"],
    ["keys", "create", "--role", "admin", "--name", "ops"],
    ["reconcile"],
    ["expire"],
    ["escalate"],
    ["sync-payments"],
    ["webhooks-send"],
    ["email-requeue"],
    ["smtp"],
    ["export", "journal", "--from", "2026-01-01", "--to", "2026-02-01"],
    ["openapi", "-o", "-"],
]


def _creditdesk(
    runs: list[tuple[list[str], str]], cwd: Path
) -> list[subprocess.CompletedProcess[str]]:
    """The real `creditdesk` executable, once per (arguments, CREDITDESK_DATABASE_URL), in
    subprocesses (a few at a time) in `cwd` (no .env there)."""
    executable = str(Path(sys.executable).with_name("creditdesk"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITDESK_")}

    def run(command: list[str], url: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [executable, *command], capture_output=True, text=True, timeout=300,
            cwd=cwd, env={**env, "CREDITDESK_DATABASE_URL": url},
        )  # fmt: skip

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda r: run(*r), runs))


def test_every_command_says_a_bad_database_url_in_one_line(tmp_path: Path) -> None:
    """A bad CREDITDESK_DATABASE_URL is one line on stderr naming the setting, no trace,
    exit 1, whichever command meets it."""
    urls = list(BAD_DATABASE_URLS)
    runs = [(command, urls[n % len(urls)]) for n, command in enumerate(COMMANDS)]
    wrong = []
    for (command, url), done in zip(runs, _creditdesk(runs, tmp_path), strict=True):
        lines = done.stderr.splitlines()
        if not (
            done.returncode == 1
            and len(lines) == 1
            and lines[0].startswith("Error: invalid configuration: CREDITDESK_DATABASE_URL: ")
            and BAD_DATABASE_URLS[url] in lines[0]
            and "s3cret" not in done.stderr + done.stdout
            and done.stdout == ""
        ):
            wrong.append((command, url, done.returncode, done.stderr[-300:]))
    assert wrong == []


def test_a_database_that_cannot_be_reached_is_one_line_too(tmp_path: Path) -> None:
    """A well-formed URL nothing answers at, for the commands that write files (which keep
    their own OSErrors) as for the others: the reachability is tried first."""
    nobody = "postgresql+asyncpg://cd:s3cret-pw@127.0.0.1:1/cd"  # nothing listens on port 1
    export = ["export", "journal", "--from", "2026-01-01", "--to", "2026-02-01"]
    commands = [export, ["sync-payments"], ["reconcile"]]
    wrong = []
    for command, done in zip(
        commands, _creditdesk([(c, nobody) for c in commands], tmp_path), strict=True
    ):
        last = done.stderr.splitlines()[-1:]
        if not (
            done.returncode == 1
            and "Traceback" not in done.stderr
            and last[0].startswith("Error: database error: ")
            and "s3cret" not in done.stderr + done.stdout
        ):
            wrong.append((command, done.returncode, done.stderr[-300:]))
    assert wrong == []
