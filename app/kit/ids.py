"""Opaque prefixed ids (`cus_…`), roughly time-ordered so indexes stay compact."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
# Every 10-bit value as its two base32 digits: 12 lookups make the 24 digits of an id.
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]


def new_id(prefix: str) -> str:
    """`prefix_` + 10 chars of milliseconds + 14 chars (70 bits) of randomness: the 120
    bits `millis << 70 | random` in 24 base32 digits, most significant first, so ids sort
    by their creation time (tests/kit/test_ids.py checks this against digit-by-digit)."""
    return _encode(prefix, (time.time_ns() // 1_000_000) << 70 | secrets.randbits(70))


def new_ids(*prefixes: str) -> list[str]:
    """One id per prefix, as `new_id` makes them, from one read of the system's randomness
    (a ticket submission makes five: one system call instead of five)."""
    millis = (time.time_ns() // 1_000_000) << 70
    pool = int.from_bytes(secrets.token_bytes(9 * len(prefixes)))  # 72 bits per id
    made = []
    for prefix in prefixes:
        made.append(_encode(prefix, millis | (pool & _RANDOM)))
        pool >>= 72
    return made


def _encode(prefix: str, bits: int) -> str:
    pairs = _PAIRS
    return prefix + "_" + "".join([pairs[(bits >> shift) & 1023] for shift in _SHIFTS])


_SHIFTS = range(110, -1, -10)  # the twelve 10-bit groups, most significant first
_RANDOM = (1 << 70) - 1
