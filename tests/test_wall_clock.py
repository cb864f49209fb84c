"""No code reads the wall clock except through the injected clock (app/kit/clock.py), so
that tests can travel in time and the suite passes on any day.

Every module under app/, credits/ and billing/ is parsed (ast, imports resolved, so
`from datetime import datetime as dt; dt.now()` is found too) and refused when it names:
- `datetime.now`/`utcnow`/`today`, `date.today`, `time.time`/`time_ns`,
  `time.clock_gettime[_ns]`, `uuid.uuid1`: each reads the wall clock;
- `time.localtime`/`gmtime`/`ctime`/`asctime`/`strftime` and `email.utils.formatdate`/
  `localtime` called without the moment to convert (they then read the wall clock), or
  passed along uncalled;
- the database's clock: `func.now()` and friends, or `now()`/`CURRENT_TIMESTAMP` in SQL;
- `Clock(...)` or `FrozenClock(...)` built outside clock.py: a process gets its clock
  from `app.kit.clock.process_clock` (the one place that builds the wall clock).

Monotonic timers (`time.monotonic`, `perf_counter`, the event loop's `time()`) measure
durations and deadlines, never a moment, and are fine anywhere. Exceptions go in ALLOWED,
each with its reason."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.kit.clock import Clock, process_clock
from app.settings import Settings
from tests.conftest import START

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "credits", "billing")
CLOCK_MODULE = "app/kit/clock.py"

ALWAYS = {
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.datetime.today",
    "datetime.date.today",
    "time.time",
    "time.time_ns",
    "time.clock_gettime",
    "time.clock_gettime_ns",
    "uuid.uuid1",
}
# Reads the wall clock when called with fewer positional arguments than this.
WITHOUT_MOMENT = {
    "time.localtime": 1,
    "time.gmtime": 1,
    "time.ctime": 1,
    "time.asctime": 1,
    "time.strftime": 2,
    "email.utils.formatdate": 1,
    "email.utils.localtime": 1,
}
SQL_CLOCKS = {
    "now", "current_timestamp", "current_date", "current_time", "localtime",
    "localtimestamp", "clock_timestamp", "statement_timestamp", "transaction_timestamp",
    "sysdate",
}  # fmt: skip
SQL_TEXT = re.compile(
    r"(?<![\w.])(now|clock_timestamp|statement_timestamp|transaction_timestamp)\s*\(\s*\)"
    r"|\bcurrent_(timestamp|date|time)\b|\blocaltimestamp\b|\bdatetime\(\s*'now'",
    re.IGNORECASE,
)
CLOCK_CLASSES = {"app.kit.clock.Clock", "app.kit.clock.FrozenClock"}

# (module, what it reads) → why that is right.
ALLOWED: dict[tuple[str, str], str] = {
    ("app/kit/ids.py", "time.time_ns"): (
        "an id's leading milliseconds only keep ids roughly in creation order so that "
        "indexes stay compact; no rule reads a moment back from an id, and a test's frozen "
        "clock would give every id of a test the same prefix"
    ),
}


@dataclass(frozen=True)
class Read:
    module: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line}: {self.what}"


def _imports(tree: ast.Module, module: str) -> dict[str, str]:
    """Local name → the qualified name it stands for, from the module's imports."""
    names: dict[str, str] = {}
    package = module.removesuffix(".py").replace("/", ".").rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    names[head] = head
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                names[alias.asname or alias.name] = f"{base}.{alias.name}"
    return names


def _dotted(node: ast.expr) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def _qualified(node: ast.expr, names: dict[str, str]) -> str | None:
    parts = _dotted(node)
    if parts is None:
        return None
    head = names.get(parts[0])
    return ".".join([head, *parts[1:]]) if head else None


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def wall_clock_reads(source: str, module: str) -> list[Read]:
    """Every read of the wall clock (or the database's) in `source`, with its line."""
    tree = ast.parse(source)
    names = _imports(tree, module)
    calls = {id(node.func): node for node in ast.walk(tree) if isinstance(node, ast.Call)}
    docstrings = _docstrings(tree)
    found: list[Read] = []
    for node in ast.walk(tree):
        what = None
        if isinstance(node, ast.Attribute | ast.Name) and isinstance(node.ctx, ast.Load):
            what = _name_read(node, names, calls.get(id(node)), module)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and SQL_TEXT.search(node.value)
        ):
            what = f"the database's clock in SQL text {node.value[:60]!r}"
        if what is not None:
            found.append(Read(module, node.lineno, what))
    return found


def _name_read(
    node: ast.Attribute | ast.Name, names: dict[str, str], call: ast.Call | None, module: str
) -> str | None:
    qualified = _qualified(node, names)
    if isinstance(node, ast.Attribute) and node.attr.lower() in SQL_CLOCKS:
        parts = _dotted(node.value)
        if parts and parts[-1] == "func":
            return f"the database's clock: func.{node.attr}"
    if qualified is None:
        return None
    if qualified in ALWAYS:
        return qualified
    if qualified in WITHOUT_MOMENT:
        given = len(call.args) if call is not None else 0
        if call is None or given < WITHOUT_MOMENT[qualified]:
            return qualified
    if qualified in CLOCK_CLASSES and call is not None and module != CLOCK_MODULE:
        return f"{qualified.rsplit('.', 1)[1]}() built outside {CLOCK_MODULE}"
    return None


def modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_no_code_reads_the_wall_clock_but_the_clock() -> None:
    reads = []
    for path in modules():
        module = path.relative_to(ROOT).as_posix()
        if module == CLOCK_MODULE:
            continue
        reads += wall_clock_reads(path.read_text(encoding="utf-8"), module)
    refused = sorted(
        (r for r in reads if (r.module, r.what) not in ALLOWED), key=lambda r: (r.module, r.line)
    )
    assert not refused, (
        "read the time from the injected clock (app.kit.clock; a request's app.state.clock, "
        "a job's `clock`, a command's `process_clock`), or add the read to ALLOWED with "
        "its reason:\n" + "\n".join(map(str, refused))
    )
    stale = set(ALLOWED) - {(r.module, r.what) for r in reads}
    assert not stale, f"ALLOWED entries that no longer match a read: {sorted(stale)}"


def test_the_check_finds_every_kind_of_read() -> None:
    """The check itself, on code written every way a read can be written."""
    source = """
import time, datetime as dt, email.utils
from datetime import date, datetime as when
from time import time as stamp
from sqlalchemy import func, text
from app.kit.clock import Clock, FrozenClock
from uuid import uuid1

a = dt.datetime.now(dt.UTC)
b = when.utcnow()
c = date.today()
d = stamp()
e = time.time_ns()
f = time.strftime("%Y")
g = email.utils.formatdate()
h = func.now()
i = text("SELECT CURRENT_TIMESTAMP")
j = Clock()
k = FrozenClock()
l = uuid1()
m = sorted([], key=time.time)
fine = [time.monotonic(), time.strftime("%Y", time.gmtime(0)), time.localtime(0),
        email.utils.formatdate(0), when.fromtimestamp(0), "clock.now() is fine", text("NOW")]
"""
    reads = wall_clock_reads(source, "app/example.py")
    assert [r.line for r in reads] == list(range(9, 22)), "\n".join(map(str, reads))


def test_a_process_clock_runs_from_the_start_it_is_given_in_tests_only() -> None:
    """`CREDITDESK_CLOCK_START`: a command or server a test starts lives at the test's
    moment, with time passing; outside env=test, or without a time zone, it is refused."""
    assert type(process_clock()) is Clock
    clock = process_clock(START)
    first, second = clock.now(), clock.now()
    assert START <= first <= second < START + timedelta(hours=1)
    env = {"_env_file": None, "clock_start": "2026-11-02T09:00:00Z"}
    assert Settings(env="test", **env).clock_start == START  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="CREDITDESK_ENV=test"):
        Settings(env="development", **env)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="timezone"):
        Settings(_env_file=None, env="test", clock_start="2026-11-02T09:00:00")  # type: ignore[call-arg, arg-type]
