from __future__ import annotations

from pydantic import ConfigDict, Field

from app.kit.errors import AppError, Conflict, Problem
from credits.schemas import PackRead


class InsufficientCreditsProblem(Problem):
    """402 `insufficient_credits`: what the customer has, what was needed, and (when a
    ticket needed the credit) the packs that can be bought."""

    model_config = ConfigDict(title="InsufficientCreditsProblem")

    available: int = Field(description="credits the customer has now")
    required: int | None = Field(default=None, description="credits the operation needed")
    packs: list[PackRead] | None = Field(
        default=None, description="the packs on sale (on ticket charges)"
    )


class InsufficientCredits(AppError):
    status, code = 402, "insufficient_credits"
    schema = InsufficientCreditsProblem
    owns_status = True


class AlreadyRefunded(Conflict):
    code = "already_refunded"


class LedgerImbalance(RuntimeError):
    """A transaction whose lines do not sum to zero per unit: a bug, never a client error."""
