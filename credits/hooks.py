"""The ledger's hook point: a customer's available balance went down.

Published by the ledger's posting function (`credits.service._post`) whenever an entry lowers
a wallet's available credits (charges, expiry, negative adjustments, freezes, revocations),
with the wallet still locked and in the debit's transaction: a subscriber sees every drop
exactly once and in order, and whatever it writes commits or rolls back with the debit.
Features above the ledger (low-balance alerts, auto top-up) subscribe in their `Feature`
declaration; the ledger imports none of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.kit.hooks import Hook


@dataclass(frozen=True, slots=True)
class BalanceDrop:
    customer_id: str
    before: int  # available credits before the entry
    after: int  # and after it
    entry_id: str  # the journal transaction (`ent_…`) that lowered the balance
    kind: str
    now: datetime


BALANCE_DROPPED: Hook[BalanceDrop] = Hook("credits.balance_dropped")
