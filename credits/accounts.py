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
VAT_PAYABLE = "vat:payable"

# Every money account the ledger posts to (CREDIT-unit accounts are not money).
MONEY_ACCOUNTS = (
    CASH_STRIPE, CASH_OFFLINE, DEFERRED, VAT_PAYABLE, REVENUE_SUPPORT, REVENUE_BREAKAGE,
    REVENUE_REFUNDS, REVENUE_ADJUSTMENTS,
)  # fmt: skip


# A customer's own accounts: `{}` is the customer's id (`credits.sql` renders these into SQL).
AVAILABLE = "customer:{}:available"
FROZEN = "customer:{}:frozen"


def available(customer_id: str) -> str:
    return AVAILABLE.format(customer_id)


def frozen(customer_id: str) -> str:
    return FROZEN.format(customer_id)
