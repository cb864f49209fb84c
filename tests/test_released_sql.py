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
