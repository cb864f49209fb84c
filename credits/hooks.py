"""The ledger's hook points: features above it add their part of an answer (the desk's
small-change hours in the balance) through a subscription, without the ledger importing
them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.kit.hooks import Hook
from app.settings import Settings
from credits.schemas import BalanceRead


@dataclass(frozen=True)
class BalanceBuilt:
    """`GET /v1/customers/{id}/balance` is about to answer `balance` (mutable)."""

    balance: BalanceRead
    settings: Settings
    now: datetime


BALANCE_BUILT: Hook[BalanceBuilt] = Hook("credits.balance_built")
