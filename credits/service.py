"""The ledger's operations. Each one takes the customer's lock first (`lock_customer`: the
wallet row, `FOR UPDATE`), changes lots and the stored balance, and posts one balanced
journal transaction, all in the caller's transaction. Nothing here commits.

The operations live by responsibility; this module is their one public door:
- `credits.posting`: the customer's lock, posting balanced transactions, BALANCE_DROPPED;
- `credits.grants`: new lots, spend rewards;
- `credits.lots`: consumption order, taking credits from lots, expiry;
- `credits.charges`: charges (`credits_charge_v1`, credits.sql), their refunds, adjustments;
- `credits.holds`: disputes and refunds of money (freeze, release, revoke)."""

from __future__ import annotations

from credits.charges import adjust, charge, find_refund, get_transaction, refund_charge
from credits.charges import refund_outstanding as refund_outstanding
from credits.grants import SpendResult, grant, record_spend
from credits.holds import freeze_lot, release_lot, revoke_lot
from credits.lots import (
    consumption_order,
    customers_with_lapsed_lots,
    expire_customer,
    expire_locked,
    open_lots,
)
from credits.posting import (
    MAX_SPEND_TOTAL,
    MAX_WALLET_CREDITS,
    Line,
    Posted,
    Take,
    lock_customer,
    lock_customers,
    open_wallet,
)

_open_lots = open_lots  # the name tests/test_indexes.py reads

__all__ = [
    "MAX_SPEND_TOTAL",
    "MAX_WALLET_CREDITS",
    "Line",
    "Posted",
    "SpendResult",
    "Take",
    "adjust",
    "charge",
    "consumption_order",
    "customers_with_lapsed_lots",
    "expire_customer",
    "expire_locked",
    "find_refund",
    "freeze_lot",
    "get_transaction",
    "grant",
    "lock_customer",
    "lock_customers",
    "open_wallet",
    "record_spend",
    "refund_charge",
    "refund_outstanding",
    "release_lot",
    "revoke_lot",
]
