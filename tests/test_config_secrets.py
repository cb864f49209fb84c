"""A refused configuration says what is wrong without printing any secret (issue 12)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from app.cli import main
from app.main import configure_from_env
from app.settings import ConfigurationError

WEBHOOK_SECRET = "whsec_0123456789abcdefSECRETwebhook"
DB_PASSWORD = "s3cr3t-db-Passw0rd-xyz"
STRIPE_KEY = "sk_live_ABCDEFsecretKEY0123456789"

REFUSED = {
    # production without a Stripe key is refused by the model validator, whose error
    # carries the whole input (every setting) as pydantic's input_value
    "CREDITDESK_ENV": "production",
    "CREDITDESK_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "CREDITDESK_DATABASE_URL": f"postgresql+asyncpg://cd:{DB_PASSWORD}@db.example/cd",
    "CREDITDESK_EMAIL_SMTP_PASSWORD": "smtp-" + DB_PASSWORD,
}


def assert_no_secret(text: str) -> None:
    for secret in (WEBHOOK_SECRET, DB_PASSWORD, STRIPE_KEY, WEBHOOK_SECRET[:22], DB_PASSWORD[:8]):
        assert secret not in text, text


@pytest.mark.parametrize(
    "extra",
    [{}, {"CREDITDESK_STRIPE_SECRET_KEY": STRIPE_KEY, "CREDITDESK_STRIPE_WEBHOOK_SECRET": "changeme"},
     {"CREDITDESK_DATABASE_POOL_SIZE": "many"}],
)  # fmt: skip
def test_the_cli_names_the_problem_not_the_secret(
    monkeypatch: pytest.MonkeyPatch, extra: dict[str, str]
) -> None:
    monkeypatch.chdir("/")  # no .env file of the developer's
    result = CliRunner().invoke(main, ["migrate"], env={**REFUSED, **extra})
    assert result.exit_code != 0
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "invalid configuration" in output
    assert "CREDITDESK_" in output  # what to fix is named
    assert_no_secret(output)


def test_serve_refuses_without_a_secret_in_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    for name, value in REFUSED.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as raised:
        configure_from_env()
    assert raised.value.__cause__ is None and raised.value.__context__ is None
    assert_no_secret(str(raised.value))
    assert "CREDITDESK_STRIPE_SECRET_KEY" in str(raised.value)
