"""The ledger's hook points; features above the ledger subscribe in their `Feature`
declaration and the ledger imports none of them.

`BALANCE_BUILT`: `GET /v1/customers/{id}/balance` is about to answer; features add their part
of the answer (the desk's small-change hours).

`BALANCE_DROPPED`: a customer's available balance went down. Published by the ledger
(`credits.posting.publish_drop`, from `post` and after `credits_charge_v1` in
`credits.charges.charge`) whenever an entry lowers a wallet's available credits (charges,
expiry, negative adjustments, freezes, revocations), with the wallet still locked and in the
debit's transaction: a subscriber sees every drop exactly once and in order, and whatever it
writes commits or rolls back with the debit. Low-balance alerts and auto top-up subscribe
to it.

A debit can also happen inside one SQL call where no Python runs (the desk's one-call
submission). So a subscription declares its SQL predicate, `(customer_id text, before
integer, after integer) -> boolean`, that says whether a debit concerns it
(`Subscription(BALANCE_DROPPED, handler, sql="…")`): that call asks the predicates it knows
and hands over to the general path when one says yes, and is not made while a subscriber
without a predicate it knows is connected (`Hook.sql_predicates`)."""

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


@dataclass(frozen=True, slots=True)
class BalanceDrop:
    customer_id: str
    before: int  # available credits before the entry
    after: int  # and after it
    entry_id: str  # the journal transaction (`ent_…`) that lowered the balance
    kind: str
    now: datetime


BALANCE_DROPPED: Hook[BalanceDrop] = Hook("credits.balance_dropped")
