"""The pack catalogue lives in settings (CREDITDESK_PACKS), never in code."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from app.kit.errors import ValidationFailed
from app.settings import PackSpec, Settings


def find_pack(settings: Settings, code: str) -> PackSpec:
    for pack in settings.packs:
        if pack.code == code:
            return pack
    known = ", ".join(p.code for p in settings.packs)
    raise ValidationFailed(f"Unknown pack {code!r}; the catalogue has: {known}.", field="pack")


def split_value(value: int, units: int, take: int) -> int:
    """The value of `take` of `units` units worth `value` together: remainder cents go to the
    first units taken, so taking them one by one adds up exactly to `value`."""
    if take >= units:
        return value
    return value - (value * (units - take)) // units


def split_vat(gross: int, rate: Decimal) -> tuple[int, int]:
    """A VAT-inclusive price in cents → (net, VAT). The net is the gross divided by
    1 + rate, rounded half up to the cent; the VAT is the rest, so net + VAT is always the
    gross: €100.00 at 19 % is 84.03 + 15.97 (10000 / 1.19 = 8403.36…)."""
    if rate == 0 or gross == 0:
        return gross, 0
    net = int((Decimal(gross) / (1 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return net, gross - net


def vat_share(refund: int, vat: int, gross: int) -> int:
    """The VAT in `refund` of a payment of `gross` holding `vat` (what is still unrefunded
    of each): proportional, rounded half up, and all of it when the whole rest goes back,
    so that refunds in any number of parts reverse the VAT exactly."""
    if refund >= gross or gross <= 0:
        return vat
    share = (Decimal(refund) * vat / gross).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return min(int(share), vat)
