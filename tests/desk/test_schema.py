"""Migration 0003 matches the desk models, and numbers come from a real sequence.
(Downgrade and upgrade of every migration: tests/test_migrations.py,
on a database of its own.)"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from app.desk.models import TICKET_NUMBER_SEQUENCE
from app.kit.db import Database
from app.models import Base

DESK_TABLES = ("tickets", "ticket_messages", "ticket_charges")


def _desk_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, Base.metadata) if any(t in repr(d) for t in DESK_TABLES)]  # fmt: skip


async def _differences(url: str) -> list[Any]:
    database = Database(url, pool_size=1)
    try:
        async with database.engine.connect() as connection:
            return await connection.run_sync(_desk_differences)
    finally:
        await database.dispose()


async def test_models_match_the_migration(database_url: str) -> None:
    assert await _differences(database_url) == []


async def test_ticket_numbers_have_their_sequence(database_url: str, run_sql: Any) -> None:
    rows = await run_sql(
        "SELECT count(*) FROM pg_class WHERE relkind = 'S' AND relname = :name",
        name=TICKET_NUMBER_SEQUENCE,
    )
    assert rows[0][0] == 1
