"""The README stays true: every setting is documented, and the two Quickstart commands are
the ones CI runs."""

from __future__ import annotations

from pathlib import Path

from app.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_configuration_table() -> None:
    missing = [
        f"CREDITDESK_{name.upper()}"
        for name in Settings.model_fields
        if f"`CREDITDESK_{name.upper()}`" not in README
    ]
    assert not missing, f"README's configuration table lacks: {', '.join(missing)}"


def test_quickstart_has_exactly_two_commands() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = [
        line for line in quickstart.splitlines() if line.startswith("python3 -m venv .venv &&")
    ]
    assert len(commands) == 2, commands
    assert commands[0].endswith("creditdesk serve")
    assert commands[1].endswith(".venv/bin/pytest")
