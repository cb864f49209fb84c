"""Money as people read it: integer minor units → exact decimal strings per ISO 4217."""

from __future__ import annotations

# ISO 4217 minor units where they are not 2 (the ledger keeps integer minor units).
_MINOR_UNITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency, 2)


def decimal_string(amount: int, currency: str) -> str:
    """Integer minor units as an exact decimal string: 10000 EUR → "100.00"."""
    exponent = minor_units(currency)
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**exponent)
    if exponent == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{exponent}d}"


def display(amount: int, currency: str) -> str:
    """For people: `100.00 EUR`."""
    return f"{decimal_string(amount, currency)} {currency}"
