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
        "c8f4dc16bc692ba4773a66a00c0f3cce86d7f686eea39d68582b937fdb1e5ae2"
    ),
    ("0018", "kit_idempotency_claim_v1"): (
        "c40973a9e21b29042195d8d45384af4825f2828c757d3e1ce564493d2bb69009"
    ),
    ("0018", "kit_idempotency_store_v1"): (
        "f7eb4bf04479c0f845164aea9a664b19b4c5dd3320d362b559dda1943f405f7f"
    ),
    ("0018", "topups_balance_crossings_v1"): (
        "07fa8a71c8d1ebfc3f70677d47d94ffa675e673f84c0f52db95b4991a0da9af8"
    ),
    ("0018", "topups_balance_drop_concerns_v1"): (
        "570bcc3f4a5ccb82a2ba61cb1877fbf7c480d32846d5a29b3498af22366531f3"
    ),
    ("0018", "desk_submit_ticket_v2"): (
        "c9d3138fa202dec949436186581da81adf7a7d7aa0c93d35dab3b6d021dc3863"
    ),
    ("0018", "credits_charge_plan_v1"): (
        "da0dff8b990fbd0ec54522bfb150e9fda1ee4ecb356ea850ffbdf125e5889650"
    ),
    ("0018", "credits_charge_post_v1"): (
        "d0f99e35afe8da5699b36eabbaffe859c60593d50fe875120d0b59c4b2e15596"
    ),
    ("0022", "journal_transaction_check_balance_v2"): (
        "e275ea0be405b4a7b396de79ce8e55f7fb7381f04bc2c5b7abfe29c8c424a1a2"
    ),
    ("0022", "desk_submit_ticket_v3"): (
        "4ac3023e81e3818dbc0a0f61f83241c79c2e6860df8a4d5fa4f621edfec5f66f"
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
