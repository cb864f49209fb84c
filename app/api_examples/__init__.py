"""The examples the OpenAPI document shows for every operation: a request (parameters and
body) and its answer, recorded from a real walk through the API by
tests/test_api_examples.py (`RECORD_EXAMPLES=1`), with ids and secrets replaced by stable
stand-ins. The same test sends those requests to the app on every run and fails when an
example is stale or an answer does not validate."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

EXAMPLES_FILE = Path(__file__).with_name("operations.json")


@cache
def load_examples() -> dict[str, dict[str, Any]]:
    """operationId → {parameters, body, status, answer}; empty when none are recorded."""
    if not EXAMPLES_FILE.exists():
        return {}
    examples: dict[str, dict[str, Any]] = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
    return examples
