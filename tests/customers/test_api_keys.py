"""API keys: issued once, stored as SHA-256 only, revoked, `last_used_at`, the CLI and the
bootstrap variable."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from app.cli import main as cli
from app.kit.clock import FrozenClock
from app.main import create_app
from app.settings import Settings
from tests.conftest import Api, empty_pg_database, started


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_create_list_and_revoke(api: Api, run_sql: Any) -> None:
    created = await api.client.post(
        "/v1/api-keys", json={"role": "cr_agent", "name": "desk 1"}, headers=api.admin
    )
    assert created.status_code == 201
    body = created.json()
    secret = body["key"]
    assert body["id"].startswith("key_")
    assert body["role"] == "cr_agent"
    assert body["name"] == "desk 1"
    assert body["customer_id"] is None
    assert body["revoked_at"] is None
    assert secret.startswith("cdk_")
    assert len(secret) >= 4 + 43  # 32 random bytes, url-safe base64
    assert body["prefix"] == secret[:10]

    rows = await run_sql("SELECT * FROM api_keys WHERE id = :id", id=body["id"])
    stored = rows[0]._mapping
    assert stored["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert not any(secret in str(value) for value in stored.values())

    listed = await api.client.get("/v1/api-keys", headers=api.admin)
    assert listed.status_code == 200
    entry = next(k for k in listed.json()["data"] if k["id"] == body["id"])
    assert "key" not in entry
    assert secret not in listed.text

    assert (await api.client.get("/v1/customers", headers=bearer(secret))).status_code == 200
    revoked = await api.client.delete(f"/v1/api-keys/{body['id']}", headers=api.admin)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] == "2026-11-02T09:00:00Z"
    refused = await api.client.get("/v1/customers", headers=bearer(secret))
    assert refused.status_code == 401
    api.clock.advance(timedelta(hours=1))
    twice = await api.client.delete(f"/v1/api-keys/{body['id']}", headers=api.admin)
    assert twice.json()["revoked_at"] == "2026-11-02T09:00:00Z"  # revoking again changes nothing


async def test_customer_keys_are_bound_to_an_existing_customer(api: Api) -> None:
    customer = await api.customer()
    ok = await api.client.post(
        "/v1/api-keys",
        json={"role": "customer", "name": "cabinet", "customer_id": customer["id"]},
        headers=api.admin,
    )
    assert ok.status_code == 201
    assert ok.json()["customer_id"] == customer["id"]
    missing = await api.client.post(
        "/v1/api-keys",
        json={"role": "customer", "name": "cabinet", "customer_id": "cus_nobody"},
        headers=api.admin,
    )
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "body",
    [
        {"role": "wizard", "name": "x"},
        {"role": "admin"},
        {"role": "admin", "name": ""},
        {"role": "customer", "name": "no customer"},
        {"role": "admin", "name": "bound admin", "customer_id": "cus_x"},
        {"role": "admin", "name": "x", "key": "cdk_chosen-by-caller"},
    ],
)
async def test_malformed_key_requests_are_422(api: Api, body: dict[str, Any]) -> None:
    response = await api.client.post("/v1/api-keys", json=body, headers=api.admin)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "validation_error"


async def test_revoking_an_unknown_key_is_404(api: Api) -> None:
    response = await api.client.delete("/v1/api-keys/key_nobody", headers=api.admin)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_last_used_at_is_recorded_at_most_once_a_minute(api: Api) -> None:
    created = await api.client.post(
        "/v1/api-keys", json={"role": "finance", "name": "books"}, headers=api.admin
    )
    key_id, secret = created.json()["id"], created.json()["key"]

    async def last_used() -> str | None:
        keys = (await api.client.get("/v1/api-keys", headers=api.admin)).json()["data"]
        value: str | None = next(k for k in keys if k["id"] == key_id)["last_used_at"]
        return value

    assert await last_used() is None
    api.clock.advance(timedelta(minutes=1))
    assert (await api.client.get("/v1/customers", headers=bearer(secret))).status_code == 200
    assert await last_used() == "2026-11-02T09:01:00Z"
    api.clock.advance(timedelta(seconds=30))
    await api.client.get("/v1/customers", headers=bearer(secret))
    assert await last_used() == "2026-11-02T09:01:00Z"
    api.clock.advance(timedelta(seconds=30))
    await api.client.get("/v1/customers", headers=bearer(secret))
    assert await last_used() == "2026-11-02T09:02:00Z"


def test_cli_creates_a_key_printed_alone_on_the_last_line(
    database_url: str, run_sql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDITDESK_DATABASE_URL", database_url)
    result = CliRunner().invoke(cli, ["keys", "create", "--role", "admin", "--name", "ops"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.splitlines()[-1]
    assert secret.startswith("cdk_")
    assert secret == secret.strip()
    assert " " not in secret
    assert "shown only now" in result.stderr

    rows = asyncio.run(run_sql("SELECT role, name, secret_hash FROM api_keys"))
    assert [tuple(r) for r in rows] == [
        ("admin", "ops", hashlib.sha256(secret.encode()).hexdigest())
    ]

    listed = CliRunner().invoke(cli, ["keys", "list"])
    assert listed.exit_code == 0
    assert '"name": "ops"' in listed.stdout
    assert secret not in listed.stdout

    refused = CliRunner().invoke(
        cli, ["keys", "create", "--role", "customer", "--name", "c", "--customer", "cus_nobody"]
    )
    assert refused.exit_code == 1
    assert "No such customer" in refused.stderr
    assert "Traceback" not in refused.output


async def _admin_can_list(settings: Settings, secret: str) -> int:
    app = create_app(settings, clock=FrozenClock())
    async with started(app) as client:
        response = await client.get("/v1/api-keys", headers=bearer(secret))
        return response.status_code


async def test_bootstrap_admin_key_is_registered_at_start_once(
    settings: Settings, run_sql: Any
) -> None:
    secret = "cdk_bootstrap-for-tests-0123456789abcdef"
    with_bootstrap = settings.model_copy(update={"bootstrap_admin_key": SecretStr(secret)})
    assert await _admin_can_list(settings, secret) == 401
    assert await _admin_can_list(with_bootstrap, secret) == 200
    assert await _admin_can_list(with_bootstrap, secret) == 200  # a restart adds no second key
    rows = await run_sql("SELECT role, name, secret_hash FROM api_keys")
    assert [tuple(r) for r in rows] == [
        ("admin", "bootstrap", hashlib.sha256(secret.encode()).hexdigest())
    ]
    await run_sql("UPDATE api_keys SET revoked_at = created_at")
    assert await _admin_can_list(with_bootstrap, secret) == 401  # a revoked one stays revoked


def test_cli_on_an_unmigrated_or_unreachable_database_says_why_without_a_trace(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with empty_pg_database("creditdesk_empty") as empty:
        monkeypatch.setenv("CREDITDESK_DATABASE_URL", empty)
        unmigrated = CliRunner().invoke(cli, ["keys", "create", "--role", "admin", "--name", "x"])
    assert unmigrated.exit_code == 1
    assert "has `creditdesk migrate` run?" in unmigrated.stderr
    assert "Traceback" not in unmigrated.output

    monkeypatch.setenv("CREDITDESK_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:1/x")
    unreachable = CliRunner().invoke(cli, ["migrate"])
    assert unreachable.exit_code == 1
    assert "migration failed" in unreachable.stderr
    assert "Traceback" not in unreachable.output
