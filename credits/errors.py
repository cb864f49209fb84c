from __future__ import annotations

from app.kit.errors import AppError, Conflict


class InsufficientCredits(AppError):
    status, code = 402, "insufficient_credits"


class AlreadyRefunded(Conflict):
    code = "already_refunded"


class SpendBelowZero(Conflict):
    code = "spend_below_zero"


class CreditLimit(AppError):
    """A wallet's credits are stored in 32-bit columns: a grant past `MAX_WALLET_CREDITS`
    is refused rather than overflowing."""

    status, code = 422, "credit_limit"


class SpendLimit(AppError):
    status, code = 422, "spend_limit"


class LedgerImbalance(RuntimeError):
    """A transaction whose lines do not sum to zero per unit: a bug, never a client error."""
