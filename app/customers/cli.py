"""`creditdesk keys …`: API keys from the command line (registered through
app/customers/feature.py)."""

from __future__ import annotations

import json
from typing import Any

import click

from app.kit.auth import Role
from app.kit.cli import load_settings, with_db
from app.kit.clock import process_clock
from app.kit.db import Database


@click.group()
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

    settings = load_settings()
    clock = process_clock(settings.clock_start)

    async def work(db: Database) -> str:
        async with db.unit_of_work() as session:
            key, secret = await service.create_api_key(
                session, role=Role(role), name=name, customer_id=customer_id, now=clock.now()
            )
            click.echo(f"created {key.id} ({role}, {name!r}); the key is shown only now:", err=True)
            return secret

    try:
        secret = with_db(settings, work)
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

    for row in with_db(load_settings(), work):
        click.echo(json.dumps(row))


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by its id (`key_…`)."""
    from app.customers import service
    from app.kit.errors import AppError

    settings = load_settings()
    clock = process_clock(settings.clock_start)

    async def work(db: Database) -> None:
        async with db.unit_of_work() as session:
            key = await service.get_api_key(session, key_id)
            await service.revoke_api_key(session, key, clock.now())

    try:
        with_db(settings, work)
    except AppError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"revoked {key_id}", err=True)


COMMANDS: list[click.Command] = [keys]
