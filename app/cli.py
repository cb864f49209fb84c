"""The `creditdesk` command."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.exc import DBAPIError

from app.kit import migrations
from app.kit.auth import Role
from app.kit.clock import Clock
from app.kit.db import Database
from app.settings import Settings

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:  # refused configuration: say why, no trace
        raise click.ClickException(f"invalid configuration: {exc}") from exc


def _with_db(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        db = Database(settings.database_url, pool_size=2)
        try:
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(run())
    except (DBAPIError, OSError) as exc:  # unreachable or unmigrated database: no trace
        raise click.ClickException(
            f"database error: {getattr(exc, 'orig', None) or exc}"
            " (is CREDITDESK_DATABASE_URL right, and has `creditdesk migrate` run?)"
        ) from exc


def _migrate(settings: Settings) -> None:
    try:
        migrations.upgrade(settings.database_url)
    except (DBAPIError, OSError) as exc:
        raise click.ClickException(
            f"migration failed: {getattr(exc, 'orig', None) or exc}"
        ) from exc


@click.group()
def main() -> None:
    """CreditDesk: prepaid support credits and a two-line support desk."""


@main.command()
def migrate() -> None:
    """Apply pending database migrations."""
    _migrate(_settings())
    click.echo("database is at the latest migration", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--no-migrate", is_flag=True, help="Do not apply pending migrations first.")
def serve(host: str, port: int, workers: int, no_migrate: bool) -> None:
    """Apply pending migrations, then serve the API."""
    import uvicorn

    settings = _settings()
    if not no_migrate:
        _migrate(settings)
    uvicorn.run(
        "app.main:configure_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=None,
        proxy_headers=True,
    )


@main.group()
def keys() -> None:
    """Manage API keys."""


@keys.command("create")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", required=True)
@click.option("--customer", "customer_id", default=None, help="`cus_…`, for customer keys")
def keys_create(role: str, name: str, customer_id: str | None) -> None:
    """Create a key; the secret is printed once, alone, as the last line of stdout."""
    from app.customers import service
    from app.kit.errors import AppError

    async def work(db: Database) -> str:
        async with db.unit_of_work() as session:
            key, secret = await service.create_api_key(
                session, role=Role(role), name=name, customer_id=customer_id, now=Clock().now()
            )
            click.echo(f"created {key.id} ({role}, {name!r}); the key is shown only now:", err=True)
            return secret

    try:
        secret = _with_db(_settings(), work)
    except AppError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(secret)


@keys.command("list")
def keys_list() -> None:
    """List keys (never their secrets) as JSON lines."""
    from sqlalchemy import select

    from app.kit.auth import ApiKey

    async def work(db: Database) -> list[dict[str, Any]]:
        async with db.unit_of_work() as session:
            rows = (await session.execute(select(ApiKey).order_by(ApiKey.id))).scalars()
            return [
                {"id": k.id, "role": k.role, "name": k.name, "customer_id": k.customer_id,
                 "prefix": k.prefix, "revoked": k.revoked_at is not None}
                for k in rows
            ]  # fmt: skip

    for row in _with_db(_settings(), work):
        click.echo(json.dumps(row))


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by its id (`key_…`)."""
    from app.customers import service
    from app.kit.errors import AppError

    async def work(db: Database) -> None:
        async with db.unit_of_work() as session:
            key = await service.get_api_key(session, key_id)
            key.revoked_at = key.revoked_at or Clock().now()

    try:
        _with_db(_settings(), work)
    except AppError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"revoked {key_id}", err=True)


@main.command()
@click.option("--output", "-o", default="openapi/openapi.json", show_default=True)
def openapi(output: str) -> None:
    """Write the OpenAPI document of the API."""
    from app.main import create_app

    document = create_app(Settings(_env_file=None, periodic_tasks_enabled=False)).openapi()
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if output == "-":
        sys.stdout.write(text)
        return
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}", err=True)


@main.command()
def reconcile() -> None:
    """Check ledger invariants 1–5 over the whole database; exit 1 on any violation."""
    from credits.reconcile import Report
    from credits.reconcile import reconcile as run_reconcile

    async def work(db: Database) -> Report:
        async with db.unit_of_work() as session:
            return await run_reconcile(session)

    report = _with_db(_settings(), work)
    click.echo(report.render())
    sys.exit(0 if report.ok else 1)


@main.command()
def expire() -> None:
    """Write off credits whose lots have lapsed (idempotent)."""
    from credits.tasks import sweep_expired

    expired = _with_db(_settings(), lambda db: sweep_expired(db, Clock().now()))
    click.echo(f"expired {expired} credit(s)")


@main.command("webhooks-send")
@click.option("--loop", is_flag=True, help="Keep sending (every webhook_send_interval_seconds).")
def webhooks_send(loop: bool) -> None:
    """Fan events out to webhook endpoints and send the due deliveries."""
    from app.webhooks import tasks as webhook_tasks

    settings = _settings()
    if loop:
        _with_db(settings, lambda db: webhook_tasks.run_sender(db, Clock(), settings))
        return
    sent = _with_db(settings, lambda db: webhook_tasks.deliver_round(db, Clock(), settings))
    click.echo(f"attempted {sent} deliver{'y' if sent == 1 else 'ies'}")


def _register_feature_commands() -> None:
    from app.desk.cli import COMMANDS as desk_commands
    from app.email.cli import COMMANDS as email_commands
    from billing.cli import COMMANDS as billing_commands
    from billing.exports.cli import COMMANDS as export_commands

    for command in [*billing_commands, *export_commands, *desk_commands, *email_commands]:
        main.add_command(command)


_register_feature_commands()

if __name__ == "__main__":
    main()
