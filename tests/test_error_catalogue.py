"""docs/errors.md is generated from the code (app.kit.error_catalogue) and must be current;
it names every code of the API contract and every code a problem of the app carries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.kit.error_catalogue import collect, render

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "errors.md"


def test_the_error_page_is_current() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(collect()), (
        "docs/errors.md is stale: run `python -m app.kit.error_catalogue > docs/errors.md`"
    )


def test_it_lists_the_contract_s_codes_with_their_statuses() -> None:
    codes = collect()
    for code, status in [
        ("unauthenticated", 401), ("forbidden", 403), ("not_found", 404),
        ("validation_error", 422), ("insufficient_credits", 402), ("duplicate_ticket", 409),
        ("invalid_transition", 409), ("idempotency_key_reused", 422),
        ("idempotency_in_progress", 409), ("payload_too_large", 413), ("rate_limited", 429),
        ("service_unavailable", 503), ("not_a_datev_chart", 422), ("external_ref_taken", 409),
    ]:  # fmt: skip
        assert status in codes[code].statuses, code
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", code) for code in codes)
    assert all(entry.statuses for entry in codes.values())


def test_a_new_code_in_the_source_appears(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the page is built from: a code raised anywhere, not only in error classes."""
    import app.kit.error_catalogue as catalogue

    package = tmp_path / "app"
    package.mkdir()
    (package / "thing.py").write_text(
        "class Gone(AppError):\n"
        '    """The thing is gone for good."""\n'
        '    status, code = 410, "thing_gone"\n'
        "def f():\n"
        '    raise ValidationFailed("Too many widgets.", code="too_many_widgets")\n'
        '    return problem(418, "teapot", "I am one.")\n'
        "class ValidationFailed(AppError):\n"
        '    status, code = 422, "validation_error"\n'
    )
    monkeypatch.setattr(catalogue, "ROOT", tmp_path)
    monkeypatch.setattr(catalogue, "PACKAGES", ("app",))
    codes = catalogue.collect()
    assert (codes["thing_gone"].statuses, codes["thing_gone"].meanings) == (
        {410}, ["The thing is gone for good."]
    )  # fmt: skip
    assert codes["too_many_widgets"].statuses == {422}
    assert codes["teapot"].statuses == {418}
