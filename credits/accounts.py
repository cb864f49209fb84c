"""Account names of the ledger's chart of accounts (docs/ledger.md)."""

from __future__ import annotations

CREDIT = "CREDIT"

ISSUED = "credits:issued"
CONSUMED = "credits:consumed"
EXPIRED = "credits:expired"
REVOKED = "credits:revoked"
DEFERRED = "deferred_revenue"
REVENUE_SUPPORT = "revenue:support"
REVENUE_BREAKAGE = "revenue:breakage"
REVENUE_REFUNDS = "revenue:refunds"
REVENUE_ADJUSTMENTS = "revenue:adjustments"
CASH_STRIPE = "cash:stripe"
CASH_OFFLINE = "cash:offline"


def available(customer_id: str) -> str:
    return f"customer:{customer_id}:available"


def frozen(customer_id: str) -> str:
    return f"customer:{customer_id}:frozen"
