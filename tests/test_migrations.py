"""The migrations are the schema: `upgrade head` on a fresh database matches the models
(no autogenerate drift), and `downgrade base` then `upgrade head` works, on both engines."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, make_url

from app.kit import migrations
from app.kit.db import Database
from app.models import Base
from tests.conftest import PG_ADMIN_URL, _pg_admin, _postgres_reason


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own: `downgrade base` must not touch the shared one."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    request.applymarker(pytest.mark.postgres)
    request.getfixturevalue("pg_database")  # skips (or fails under CI) like every PG test
    assert _postgres_reason() is None
    name = f"creditdesk_migrations_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "target_metadata": Base.metadata,
        },
    )
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _inspect(url: str) -> tuple[list[Any], set[str]]:
    database = Database(url, pool_size=1)
    try:
        async with database.engine.connect() as connection:
            diff = await connection.run_sync(_diff)
            tables = await connection.run_sync(_tables)
            await connection.rollback()
        return diff, tables
    finally:
        await database.dispose()


def test_upgrade_head_matches_the_models_and_downgrade_base_works(fresh_url: str) -> None:
    model_tables = set(Base.metadata.tables)

    migrations.upgrade(fresh_url)
    diff, tables = asyncio.run(_inspect(fresh_url))
    # Nothing is ignored: any difference between the migrations and app.models fails here.
    assert diff == [], "the migrations and the models differ:\n" + "\n".join(map(repr, diff))
    assert tables == model_tables | {"alembic_version"}

    migrations.downgrade(fresh_url, "base")
    _, tables = asyncio.run(_inspect(fresh_url))
    assert tables <= {"alembic_version"}, f"left behind by downgrade: {tables}"

    migrations.upgrade(fresh_url)
    diff, tables = asyncio.run(_inspect(fresh_url))
    assert diff == []
    assert tables == model_tables | {"alembic_version"}
