"""Opaque prefixed ids (`cus_…`), roughly time-ordered so indexes stay compact."""

from __future__ import annotations

import base64
import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
# RFC 4648's base32 digit i → Crockford's digit i: the C encoder, then one translate.
_FROM_RFC = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET)


def new_id(prefix: str) -> str:
    """`prefix_` + 10 chars of milliseconds + 14 chars (70 bits) of randomness: the 120
    bits `millis << 70 | random` in 24 base32 digits, most significant first, so ids sort
    by their creation time (tests/kit/test_ids.py checks this against digit-by-digit)."""
    bits = (time.time_ns() // 1_000_000) << 70 | secrets.randbits(70)
    return f"{prefix}_{base64.b32encode(bits.to_bytes(15, 'big')).decode().translate(_FROM_RFC)}"
