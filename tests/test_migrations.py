"""The migrations are the schema: `upgrade head` on a fresh database matches the models
(no autogenerate drift, partial indexes with the same conditions), and `downgrade base`
then `upgrade head` works."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url

from app.kit import migrations
from app.kit.db import Database
from app.models import Base
from tests.conftest import PG_ADMIN_URL, _pg_admin, _postgres_reason


@pytest.fixture
def fresh_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database of its own: `downgrade base` must not touch the shared one."""
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


_PREDICATE = text(
    "SELECT pg_get_expr(i.indpred, i.indrelid) FROM pg_index i"
    " JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = :name"
)


def _as_postgres_writes_it(connection: Connection, table: str, condition: str) -> str:
    """`condition` as PostgreSQL stores an index predicate (casts, parentheses), from a
    probe index made and undone in a savepoint."""
    with connection.begin_nested() as probe:
        connection.execute(
            text(f"CREATE INDEX _probe_predicate ON {table} ((1)) WHERE {condition}")
        )
        written = connection.execute(_PREDICATE, {"name": "_probe_predicate"}).scalar_one()
        probe.rollback()
    return str(written)


def _predicate_diff(connection: Connection) -> list[str]:
    """Partial indexes, which Alembic's comparison does not look at: an index partial in
    the models must be partial in the database, with the same condition (compared as
    PostgreSQL writes both), and the other way round."""
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
            wanted[index.name] = (
                None
                if where is None
                else _as_postgres_writes_it(connection, table.name, str(where))
            )
        for found in inspector.get_indexes(table.name):
            name = found["name"]
            if name not in wanted:
                continue  # not an index of the models: compare_metadata reports it
            where = found.get("dialect_options", {}).get(f"{dialect}_where")
            have = None if where is None else str(where)
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
