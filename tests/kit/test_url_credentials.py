"""app.kit.url_credentials: which query strings carry a credential."""

from __future__ import annotations

import pytest

from app.cabinet.service import PORTAL_PREFIX
from app.console.service import CONSOLE_PREFIX
from app.kit.auth import KEY_PREFIX
from app.kit.url_credentials import TOKEN_PREFIXES, carries_credential


def test_every_kind_of_token_is_recognised() -> None:
    assert {KEY_PREFIX, PORTAL_PREFIX, CONSOLE_PREFIX} <= set(TOKEN_PREFIXES)


@pytest.mark.parametrize(
    "query",
    [
        b"token=x",
        b"ACCESS_TOKEN=x",
        b"limit=5&api_key=",
        b"q=cdk_abc",
        b"q=cdp_abc",
        b"after=cds_abc",
        b"q=%63ds_abc",  # percent-encoded: decoded before the check
    ],
)
def test_a_credential_in_the_query_string_is_found(query: bytes) -> None:
    assert carries_credential(query)


@pytest.mark.parametrize("query", [b"", b"limit=5", b"cursor=abc&limit=1", b"q=cd", b"\xff\xfe"])
def test_ordinary_query_strings_pass(query: bytes) -> None:
    assert not carries_credential(query)
