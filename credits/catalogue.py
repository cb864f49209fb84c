"""The pack catalogue lives in settings (CREDITDESK_PACKS), never in code."""

from __future__ import annotations

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
