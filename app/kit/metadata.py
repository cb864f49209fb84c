"""`metadata`: a caller's own string pairs on customers, tickets and purchases (as Stripe
has it): at most 50 pairs, keys 1–40 characters, values up to 500. Echoed back and in
events; CreditDesk never interprets it."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

MAX_PAIRS = 50
MAX_KEY = 40
MAX_VALUE = 500


def _check(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_PAIRS:
        raise ValueError(f"at most {MAX_PAIRS} metadata pairs")
    for key, item in value.items():
        if not 1 <= len(key) <= MAX_KEY:
            raise ValueError(f"metadata keys must be 1–{MAX_KEY} characters")
        if len(item) > MAX_VALUE:
            raise ValueError(f"metadata values must be at most {MAX_VALUE} characters")
    return value


Metadata = Annotated[
    dict[str, str],
    AfterValidator(_check),
    Field(description=f"up to {MAX_PAIRS} string pairs of your own (keys ≤ {MAX_KEY}, "
          f"values ≤ {MAX_VALUE} characters)"),
]  # fmt: skip
