from __future__ import annotations

from typing import Any

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
    """`required` credits asked for, `available` in the wallet; `packs` (the catalogue, to
    buy from) when the caller adds it."""

    status, code = 402, "insufficient_credits"
    schema = InsufficientCreditsProblem
    owns_status = True

    def __init__(
        self,
        detail: str,
        *,
        available: int,
        required: int,
        packs: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.available, self.required, self.packs = available, required, packs

    def problem_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"available": self.available, "required": self.required}
        if self.packs is not None:
            fields["packs"] = self.packs
        return fields | self.extra  # e.g. the desk's `supported_versions`


class AlreadyRefunded(Conflict):
    code = "already_refunded"


class SpendBelowZero(Conflict):
    code = "spend_below_zero"


class SpendReferenceReused(Conflict):
    """A spend reference already recorded with another amount; `amount` is the stored one
    (minor units, in `currency`)."""

    code = "spend_reference_reused"

    def __init__(self, detail: str, *, amount: int, currency: str) -> None:
        super().__init__(detail)
        self.amount, self.currency = amount, currency

    def problem_fields(self) -> dict[str, Any]:
        return {"amount": {"amount": self.amount, "currency": self.currency}}


class CreditLimit(AppError):
    """A wallet's credits are stored in 32-bit columns: a grant past `MAX_WALLET_CREDITS`
    is refused rather than overflowing."""

    status, code = 422, "credit_limit"


class SpendLimit(AppError):
    status, code = 422, "spend_limit"


class LedgerImbalance(RuntimeError):
    """A transaction whose lines do not sum to zero per unit: a bug, never a client error."""
