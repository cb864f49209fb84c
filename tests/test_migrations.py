"""The migrations are the schema: `upgrade head` on a fresh database matches the models
(no autogenerate drift), and `downgrade base` then `upgrade head` works, on both engines."""

from __future__ import annotations

import asyncio
import re
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


def _normal(condition: str) -> str:
    return re.sub(r"\s+", " ", condition.replace("(", "").replace(")", "")).strip().lower()


def _predicate_diff(connection: Connection) -> list[str]:
    """Partial indexes, which Alembic's comparison does not look at: an index partial in
    the models must be partial in the database, with the same condition, and the other
    way round. SQLite keeps the condition as the migration wrote it, so the text is
    compared; PostgreSQL rewrites it (casts, parentheses), so there only partial or not."""
    dialect = connection.dialect.name
    inspector = inspect(connection)
    differences = []
    present = set(inspector.get_table_names())
    for table in Base.metadata.sorted_tables:
        if table.name not in present:
            continue  # a missing table is reported by compare_metadata
        wanted = {}
        for index in table.indexes:
            where = index.dialect_options[dialect].get("where")
            wanted[index.name] = None if where is None else _normal(str(where))
        for found in inspector.get_indexes(table.name):
            name = found["name"]
            if name not in wanted:
                continue  # not an index of the models: compare_metadata reports it
            where = found.get("dialect_options", {}).get(f"{dialect}_where")
            have = None if where is None else _normal(str(where))
            if dialect != "sqlite" and None not in (have, wanted[name]):
                continue  # both partial; PostgreSQL's text of the condition is its own
            if have != wanted[name]:
                differences.append(
                    f"{table.name}.{name}: {have!r} in the database, models {wanted[name]!r}"
                )
    return differences


async def _inspect(url: str) -> tuple[list[Any], set[str]]:
    database = Database(url, pool_size=1)
    try:
        async with database.engine.connect() as connection:
            diff = await connection.run_sync(_diff)
            diff += await connection.run_sync(_predicate_diff)
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
