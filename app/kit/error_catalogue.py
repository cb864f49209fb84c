"""docs/errors.md, generated from the code: every problem `code` the service can answer,
with its HTTP status, what it means and where it is raised.

The source is read, not imported (`ast`), so nothing is left out for not being imported:
- `AppError` classes (`status, code = 409, "ticket_closed"`; the status may come from a
  base class), their docstrings saying what they mean;
- calls naming a code: `AppError("…", code="…", status=…)`, `ValidationFailed(…,
  code="…")`, `problem(503, "service_unavailable", "…")`;
- the status → code table for HTTP errors raised by the framework (`_CODES_BY_STATUS`).

Regenerate: `python -m app.kit.error_catalogue > docs/errors.md` (a test fails when stale).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "credits", "billing")
BASE_STATUS = {"AppError": 400}


@dataclass
class Code:
    statuses: set[int] = field(default_factory=set)
    meanings: list[str] = field(default_factory=list)
    where: set[str] = field(default_factory=set)
    doc_first: bool = False  # the first meaning is an error class's docstring


@dataclass
class _Class:
    bases: list[str]
    status: int | None
    code: str | None
    doc: str | None
    module: str


def _sources() -> Iterator[tuple[str, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            yield module, ast.parse(path.read_text(encoding="utf-8"))


def _literal(node: ast.AST | None) -> object:
    try:
        return ast.literal_eval(node) if node is not None else None
    except ValueError:
        return None


def _text(node: ast.AST | None) -> str | None:
    """A detail message: a string, or an f-string with `…` for what is filled in."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "…"
            for v in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        return (left or "…") + (right or "…") if left or right else None
    return None


def _class(node: ast.ClassDef, module: str) -> _Class:
    status: int | None = None
    code: str | None = None
    for stmt in node.body:
        if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
            continue
        target, value = stmt.targets[0], _literal(stmt.value)
        if isinstance(target, ast.Tuple) and isinstance(value, tuple):
            names = [t.id for t in target.elts if isinstance(t, ast.Name)]
            found = dict(zip(names, value, strict=False))
            found_status, found_code = found.get("status"), found.get("code")
            status = found_status if isinstance(found_status, int) else status
            code = found_code if isinstance(found_code, str) else code
        elif isinstance(target, ast.Name) and target.id == "status" and isinstance(value, int):
            status = value
        elif isinstance(target, ast.Name) and target.id == "code" and isinstance(value, str):
            code = value
    bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
    return _Class(bases, status, code, ast.get_docstring(node), module)


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    end = flat.find(". ")
    return flat if end < 0 else flat[: end + 1]


def collect() -> dict[str, Code]:
    trees = list(_sources())
    classes: dict[str, _Class] = {}
    for module, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, _class(node, module))

    def status_of(name: str, seen: frozenset[str] = frozenset()) -> int | None:
        if name in BASE_STATUS:
            return BASE_STATUS[name]
        found = classes.get(name)
        if found is None or name in seen:
            return None
        if found.status is not None:
            return found.status
        return next(
            (s for b in found.bases if (s := status_of(b, seen | {name})) is not None), None
        )

    def is_error(name: str, seen: frozenset[str] = frozenset()) -> bool:
        found = classes.get(name)
        if name in BASE_STATUS:
            return True
        if found is None or name in seen:
            return False
        return any(is_error(b, seen | {name}) for b in found.bases)

    def code_of(name: str, seen: frozenset[str] = frozenset()) -> str | None:
        found = classes.get(name)
        if found is None or name in seen:
            return None
        if found.code is not None:
            return found.code
        return next((c for b in found.bases if (c := code_of(b, seen | {name}))), None)

    codes: dict[str, Code] = {}

    def note(code: str, status: int | None, meaning: str | None, module: str) -> None:
        entry = codes.setdefault(code, Code())
        if status is not None:
            entry.statuses.add(status)
        if meaning:
            entry.meanings.append(_first_sentence(meaning))
        entry.where.add(module)

    for name, found in classes.items():
        if found.code and is_error(name):
            note(found.code, status_of(name), found.doc, found.module)
            if found.doc:
                codes[found.code].doc_first = True
    for module, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                call = _call(node)
                if call is None:
                    continue
                name, code, status, detail = call
                if name != "problem" and not is_error(name):
                    continue
                code = code or code_of(name)
                if code is not None:
                    note(code, status or status_of(name), detail, module)
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "_CODES_BY_STATUS" for t in node.targets
            ):
                table = _literal(node.value)
                for status, code in (table or {}).items():  # type: ignore[attr-defined]
                    note(code, status, None, module)
    return codes


def _call(node: ast.Call) -> tuple[str, str | None, int | None, str | None] | None:
    """(callee, code, status, detail) of a call that may make a problem."""
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
    if name == "problem":
        if len(node.args) < 2:
            return None
        status, code = _literal(node.args[0]), _literal(node.args[1])
        if not isinstance(status, int) or not isinstance(code, str):
            return None
        return name, code, status, _text(node.args[2]) if len(node.args) > 2 else None
    keywords = {k.arg: k.value for k in node.keywords if k.arg}
    code, status = _literal(keywords.get("code")), _literal(keywords.get("status"))
    detail = _text(node.args[0]) if node.args else _text(keywords.get("detail"))
    return (
        name,
        code if isinstance(code, str) else None,
        status if isinstance(status, int) else None,
        detail,
    )


def _meaning(entry: Code) -> str:
    """The class's docstring (found first), the one message, an example of several, or
    the status's name."""
    distinct = list(dict.fromkeys(entry.meanings))
    phrase = " or ".join(HTTPStatus(s).phrase for s in sorted(entry.statuses))
    if len(distinct) == 1 or (distinct and entry.doc_first):
        return distinct[0]
    if distinct:
        return f"{phrase}, e.g. “{distinct[0]}”"
    return f"{phrase}."


def render(codes: dict[str, Code]) -> str:
    lines = [
        "# Error codes",
        "",
        "<!-- generated by `python -m app.kit.error_catalogue > docs/errors.md`; "
        "tests/test_error_catalogue.py fails when it is stale -->",
        "",
        "Every error is `application/problem+json` (RFC 9457) with a stable `code`: match on",
        "the code, never on `detail` (for people; it may change). Some problems carry more",
        "members (their OpenAPI schemas say which: `InsufficientCreditsProblem`,",
        "`DuplicateTicketProblem`, `ValidationProblem`, …). This list is read from the source,",
        "so it holds every code the service can answer.",
        "",
        "| code | status | meaning | raised in |",
        "|---|---|---|---|",
    ]
    for code in sorted(codes):
        entry = codes[code]
        statuses = ", ".join(str(s) for s in sorted(entry.statuses)) or "–"
        meaning = _meaning(entry).replace("|", "\\|")
        where = ", ".join(f"`{m}`" for m in sorted(entry.where))
        lines.append(f"| `{code}` | {statuses} | {meaning} | {where} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(collect()))
