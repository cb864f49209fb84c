"""Released SQL is frozen: every function text a migration installs is pinned here by its
sha256. A deployed database has exactly the text its migrations ran; editing a released
text (or a live constant a migration imports) would change fresh databases only. A change is
a new version of the function (`…_v2`), installed by a new migration, whose pin is added
here."""

from __future__ import annotations

from tests.released_sql import released, sha256

PINNED = {
    ("0002", "journal_lines_refuse_change"): (
        "ae68caff49dae81361e57d34c1f9ad6ed2022ce68362f5d50927fe0a3d44b711"
    ),
    ("0002", "journal_transaction_check_balance"): (
        "946252811100530dfc16aeebf232fbfe33c88dd6a8377751c715be98b3952222"
    ),
    ("0014", "desk_submit_ticket_v1"): (
        "15a4d3d1386249c60af365d94535c4b5a6e437edc7301de3b4efa3f8deb27285"
    ),
    ("0014", "desk_config_bump"): (
        "3f17e1dd59447359d4408bff13a2fd8c353c617965f4b085419dac72a8418c02"
    ),
    ("0018", "credits_split_value_v1"): (
        "95a1c0119ef1fa8ac140343f565151a320c4f4b8f68e6727a80df00b79306711"
    ),
    ("0018", "credits_charge_v1"): (
        "478a9c9508343a48ae0dd4385d358dfcc2be1f4bb6edef0802809419aff321a2"
    ),
    ("0018", "kit_idempotency_claim_v1"): (
        "c40973a9e21b29042195d8d45384af4825f2828c757d3e1ce564493d2bb69009"
    ),
    ("0018", "kit_idempotency_store_v1"): (
        "4927f55c01b2d680f2faf4d199c3803aa7bfef808f2ac67fc8ea3faebfa56c99"
    ),
    ("0018", "topups_balance_crossings_v1"): (
        "968cc9cf44bf5c0ba556d95f62c3be1134f7432bc28b7dd1b85673dc69cd9382"
    ),
    ("0018", "topups_balance_drop_concerns_v1"): (
        "b273d309c7cc47d9fd2cd7d61cc4135c808b59bc1890246ec1176a4b27bd216e"
    ),
    ("0018", "desk_submit_ticket_v2"): (
        "7a9645d150e4ad9016c593588a495c391caedbd7930cac4f0eb79cf93da7c0be"
    ),
}


def test_every_released_function_text_is_pinned() -> None:
    found = {key: sha256(text) for key, text in released().items()}
    changed = sorted(
        f"{rev} {name}" for (rev, name), digest in found.items()
        if (rev, name) in PINNED and PINNED[(rev, name)] != digest
    )  # fmt: skip
    assert not changed, (
        f"released SQL changed: {', '.join(changed)}. Released functions are frozen: restore "
        "the text, and install the change as a new version (…_v2) in a new migration."
    )
    unpinned = sorted(f"{rev} {name}" for rev, name in set(found) - set(PINNED))
    assert not unpinned, (
        f"not pinned: {', '.join(unpinned)}; add their sha256 to PINNED once they are final"
    )
    gone = sorted(f"{rev} {name}" for rev, name in set(PINNED) - set(found))
    assert not gone, f"pinned but no longer in a migration: {', '.join(gone)}"
