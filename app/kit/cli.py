"""Plumbing shared by every `creditdesk` sub-command: settings and a database for one
command, with the operator's errors said in one line instead of a trace."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from sqlalchemy.exc import DBAPIError

from app.kit import embedded
from app.kit.db import Database
from app.settings import ConfigurationError, Settings, settings_from_env

T = TypeVar("T")


def load_settings(*, needs_database: bool = True, **overrides: Any) -> Settings:
    """The settings from the environment (and `overrides`); a refused configuration (a bad
    CREDITDESK_DATABASE_URL among them) says why in one line, with no trace and no value
    (values may be secrets). For a command that `needs_database`, without
    CREDITDESK_DATABASE_URL the embedded server is started (or joined) here, so that one
    that cannot start is one line too."""
    try:
        settings = settings_from_env(**overrides)
    except ConfigurationError as exc:
        raise click.ClickException(f"invalid configuration: {exc}") from None
    if not needs_database:
        return settings
    try:
        embedded.url_of(settings)
    except embedded.EmbeddedError as exc:
        raise click.ClickException(str(exc)) from None
    return settings


def with_db(
    settings: Settings, work: Callable[[Database], Awaitable[T]], *, explain_db_errors: bool = True
) -> T:
    """Runs `work` with a small database pool, disposed afterwards. A database that cannot
    be reached is one line for every command (it is tried before `work`). With
    `explain_db_errors`, so is one that fails during `work` (not migrated, gone); commands
    that write files pass False so that a file's OSError is not called a database error."""

    async def run() -> T:
        db = Database(embedded.url_of(settings), pool_size=2)
        try:
            try:
                await db.ping()
            except (DBAPIError, OSError) as exc:
                raise _database_error(exc) from exc
            return await work(db)
        finally:
            await db.dispose()

    if not explain_db_errors:
        return asyncio.run(run())
    try:
        return asyncio.run(run())
    except (DBAPIError, OSError) as exc:  # unreachable or unmigrated database: no trace
        raise _database_error(exc) from exc


def _database_error(exc: BaseException) -> click.ClickException:
    return click.ClickException(
        f"database error: {getattr(exc, 'orig', None) or exc}"
        " (is CREDITDESK_DATABASE_URL right, and has `creditdesk migrate` run?)"
    )
