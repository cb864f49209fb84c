"""The generated-client check (clients/check.py): a partner's Python client and TypeScript
types generated from openapi/openapi.json, type-checked strictly, and both run against a
live `creditdesk serve`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECK = ROOT / "clients" / "check.py"


def run_check(part: str, *extra: str) -> None:
    done = subprocess.run(
        [sys.executable, str(CHECK), "--only", part, *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:]
    assert "clients check: OK" in done.stdout


@pytest.mark.slow
def test_generated_python_client_type_checks_and_runs_the_partner_flow(database_url: str) -> None:
    """On the worker's database; the flow's submissions meet the one-statement path."""
    run_check("python", "--database-url", database_url)


@pytest.mark.slow
@pytest.mark.postgres
def test_generated_typescript_types_build_and_run_the_partner_flow(pg_database: str) -> None:
    """openapi-typescript's defaults: minimal request bodies must type-check and be accepted."""
    if (shutil.which("node") is None or shutil.which("npm") is None) and os.environ.get(
        "CI"
    ) != "true":
        pytest.skip("node and npm are not installed (apt-get install -y nodejs npm); CI has them")
    run_check("typescript", "--database-url", pg_database)


@pytest.mark.slow
def test_redocly_lint_finds_no_error_in_the_document() -> None:
    """Redocly CLI (`@redocly/cli`, pinned with the TypeScript tools): recommended rules."""
    if shutil.which("npm") is None and os.environ.get("CI") != "true":
        pytest.skip("npm is not installed (apt-get install -y nodejs npm); CI has it")
    run_check("redocly")
