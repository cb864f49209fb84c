"""The README stays true: every setting is documented, the two Quickstart commands are
the ones CI runs, and the walk-through runs verbatim against a live server and prints what
the README shows."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.settings import Settings
from tests.conftest import free_port
from tests.waiting import DEADLINE, wait_until_serving

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent
QUICKSTART_URL = "http://127.0.0.1:8000"


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


def section(title: str) -> str:
    return README.split(title, 1)[1].split("\n#", 1)[0]


def fenced(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def console_steps(block: str) -> list[tuple[str, str]]:
    """`$ command` lines of a console block, each with the output shown under it."""
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    return [(command, "\n".join(shown).strip()) for command, shown in steps]


def test_no_bare_creditdesk_before_path_is_set() -> None:
    """Shell blocks call `.venv/bin/creditdesk`, or put .venv/bin on PATH first (a block
    continues the shell of the blocks before it in the same section)."""
    for part in README.split("\n## "):
        path_set = False
        for block in re.findall(r"```(?:bash|console)\n(.*?)```", part, flags=re.DOTALL):
            for line in block.splitlines():
                if re.search(r"export PATH=\"\$PWD/\.venv/bin:\$PATH\"", line):
                    path_set = True
                calls = re.findall(r"(?<![\w/.-])creditdesk [a-z-]+", line)
                calls = [c for c in calls if "CREATE" not in line]  # SQL: ROLE creditdesk
                assert path_set or not calls, f"bare `creditdesk` before PATH is set: {line}"
    assert "shared/specs" not in README
    assert "sudo " not in README


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITDESK_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@contextlib.contextmanager
def quickstart_server(folder: Path) -> Iterator[str]:
    """`creditdesk serve` as the Quickstart runs it: the embedded PostgreSQL
    started in `folder` (no CREDITDESK_DATABASE_URL)."""
    port = free_port()
    env = clean_env() | {"CREDITDESK_PERIODIC_TASKS_ENABLED": "false"}
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [str(BIN / "creditdesk"), "serve", "--port", str(port)],
        cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(server, f"{url}/readyz", "creditdesk serve", folder / "server.log")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=DEADLINE)
        log.close()


def test_walk_through_runs_verbatim(home_folder: Path) -> None:
    tmp_path = home_folder  # the Quickstart's folder, where its embedded server starts
    missing = [tool for tool in ("bash", "curl", "jq") if shutil.which(tool) is None]
    if missing and os.environ.get("CI") != "true":
        pytest.skip(f"the walk-through needs {', '.join(missing)} (apt-get install -y curl jq)")
    walk = section("### Walk-through")
    [setup] = fenced(walk, "bash")
    [session] = fenced(walk, "console")
    steps = console_steps(session)
    assert len(steps) >= 10 and QUICKSTART_URL in setup
    with quickstart_server(tmp_path) as url:
        script = ["set -eo pipefail", setup.replace(QUICKSTART_URL, url)]
        for i, (command, _) in enumerate(steps):
            script += [command.replace(QUICKSTART_URL, url), f"printf '\\n@@step {i}@@\\n'"]
        done = subprocess.run(
            ["bash", "-c", "\n".join(script)],
            cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=300,
            check=False,
        )  # fmt: skip
    outputs = re.split(r"\n@@step \d+@@\n", done.stdout)
    assert done.returncode == 0 and len(outputs) == len(steps) + 1, (
        f"the walk-through stopped (exit {done.returncode}) after step "
        f"{len(outputs) - 1}: {steps[len(outputs) - 1][0] if len(outputs) <= len(steps) else ''}"
        f"\nstdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    )
    for (command, shown), printed in zip(steps, outputs, strict=False):
        assert printed.strip() == shown, f"$ {command}\nREADME shows:\n{shown}\nprinted:\n{printed}"
