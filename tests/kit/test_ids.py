"""Ids: 24 Crockford base32 digits after the prefix, the first 10 the creation millisecond."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.kit import ids


def _digits(number: int, width: int) -> str:
    """The reference: base32 digit by digit, most significant first."""
    out = []
    for _ in range(width):
        number, digit = divmod(number, 32)
        out.append(ids._ALPHABET[digit])
    return "".join(reversed(out))


@given(millis=st.integers(0, 2**50 - 1), random=st.integers(0, 2**70 - 1))
def test_the_fast_encoding_is_the_digit_by_digit_one(millis: int, random: int) -> None:
    bits = millis << 70 | random
    fast = "".join(ids._PAIRS[(bits >> shift) & 1023] for shift in ids._SHIFTS)
    assert fast == _digits(millis, 10) + _digits(random, 14)


def test_ids_have_their_shape_and_sort_by_time() -> None:
    made = [ids.new_id("tkt") for _ in range(200)]
    assert all(len(i) == 28 and i.startswith("tkt_") for i in made)
    assert all(set(i[4:]) <= set(ids._ALPHABET) for i in made)
    stamps = [i[4:14] for i in made]
    assert stamps == sorted(stamps)
    assert len(set(made)) == len(made)


def test_ids_made_together_have_their_shape_and_differ() -> None:
    made = [i for _ in range(100) for i in ids.new_ids("tkt", "msg", "evt", "evt")]
    assert all(len(i) == 28 and i[3] == "_" and set(i[4:]) <= set(ids._ALPHABET) for i in made)
    assert [i[:3] for i in made[:4]] == ["tkt", "msg", "evt", "evt"]
    assert len(set(made)) == len(made)
    stamps = [i[4:14] for i in made]
    assert stamps == sorted(stamps)
    # the random part uses all 70 bits: its first digit (the top 4 of them) varies
    assert len({i[14] for i in made}) > 8
