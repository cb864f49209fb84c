"""The SQL functions the migrations install, read from the migration modules themselves.

A migration holds the literal text of every function it installs (released SQL is frozen:
a change is a new version, `…_v2`, installed by a new migration). `released()` finds each
text — any string constant of a migration module, also inside a list, tuple or dict, that
creates a function — by revision and function name."""

from __future__ import annotations

import hashlib
import importlib.util
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

VERSIONS = Path(__file__).resolve().parent.parent / "alembic" / "versions"
_CREATES = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+(\w+)\s*\(", re.IGNORECASE)


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_released_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


@cache
def released() -> dict[tuple[str, str], str]:
    """(revision, function name) → the text that creates it, in revision order."""
    found: dict[tuple[str, str], str] = {}
    for path in sorted(VERSIONS.glob("[0-9]*.py")):
        module = _module(path)
        for name, value in vars(module).items():
            if name.startswith("__"):
                continue
            for text in _strings(value):
                names = _CREATES.findall(text)
                if len(names) > 1:
                    raise AssertionError(f"{path.name}: one function per text, found {names}")
                if names:
                    found[(module.revision, names[0])] = text
    return found


def latest(function: str) -> tuple[str, str]:
    """(revision, text) of the newest migration that installs `function`."""
    versions = [(rev, text) for (rev, name), text in released().items() if name == function]
    if not versions:
        raise AssertionError(f"no migration installs {function}")
    return versions[-1]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
