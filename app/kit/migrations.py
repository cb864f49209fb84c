"""Run Alembic from code (`creditdesk migrate`, `creditdesk serve`, the tests)."""

from __future__ import annotations

import os
from pathlib import Path

from alembic.config import Config

from alembic import command


def alembic_dir() -> Path:
    """The `alembic/` folder: CREDITDESK_ALEMBIC_DIR, beside the package, or in the cwd."""
    override = os.environ.get("CREDITDESK_ALEMBIC_DIR")
    candidates = [Path(override)] if override else []
    candidates += [Path(__file__).resolve().parents[2] / "alembic", Path.cwd() / "alembic"]
    for candidate in candidates:
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("alembic/ not found; set CREDITDESK_ALEMBIC_DIR")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(alembic_dir()))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Must be called outside a running event loop (env.py runs its own)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)
