"""SQL rendered from Python definitions equals what the migrations installed.

The ledger's account names and consumption order (credits.accounts, credits.lots), the
Idempotency-Key's in-flight wait (app.kit.idempotency), the predicates the desk's function
calls (app.desk.submit_sql) are each defined once, in Python, and rendered into the SQL
functions that use them. Released SQL is frozen, so a migration holds the rendered text as
a literal: this test renders today's texts and compares each with the newest migration that
installs the function. A Python rule changed without a new migration fails here, by name."""

from __future__ import annotations

import re

import pytest

from app.desk import submit_sql
from app.kit import idempotency
from app.topups import service as topups
from credits import sql as credits_sql
from tests.released_sql import latest

LIVE = {
    **credits_sql.FUNCTIONS,
    **idempotency.FUNCTIONS,
    **topups.FUNCTIONS,
    **submit_sql.FUNCTIONS,
}


@pytest.mark.parametrize("function", sorted(LIVE))
def test_the_rendered_text_is_the_installed_one(function: str) -> None:
    revision, installed = latest(function)
    assert LIVE[function] == installed, (
        f"{function}: the SQL rendered from today's Python definitions differs from the text "
        f"migration {revision} installed. Released SQL is frozen: do not edit that migration. "
        f"Install the new rendering as the next version of the function (…_v2, …_v3) in a new "
        "migration, give its FUNCTIONS that name, and move the callers (and the functions "
        "that call it) to the new version."
    )


def test_the_desk_calls_the_function_it_renders() -> None:
    (name,) = submit_sql.FUNCTIONS
    assert submit_sql.SUBMIT_TICKET_CALL.startswith(f"SELECT {name}(")
    signature = submit_sql.SUBMIT_TICKET_V3.split(") RETURNS", 1)[0]
    parameters = re.findall(r"^    p_\w+ ", signature, re.MULTILINE)
    assert submit_sql.SUBMIT_TICKET_CALL.count("$") == len(parameters) == 29
