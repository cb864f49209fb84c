"""What the composition root plugs in for this feature: the ledger's balance listener."""

from __future__ import annotations

from functools import partial

from app.kit.db import Database
from app.settings import Settings
from app.topups.service import on_balance_drop
from credits import hooks


def install(db: Database, settings: Settings) -> None:
    """Every session of `db` reports balance drops to the low-balance and auto top-up
    listener (in the debit's transaction, under the wallet lock)."""
    hooks.install(db.sessionmaker, partial(on_balance_drop, settings=settings))
