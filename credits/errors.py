from __future__ import annotations

from app.kit.errors import AppError, Conflict


class InsufficientCredits(AppError):
    status, code = 402, "insufficient_credits"


class AlreadyRefunded(Conflict):
    code = "already_refunded"


class LedgerImbalance(RuntimeError):
    """A transaction whose lines do not sum to zero per unit: a bug, never a client error."""
