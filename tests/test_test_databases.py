"""The suite's throw-away PostgreSQL databases can carry a prefix of the caller's
(CREDITDESK_TEST_DATABASE_PREFIX), so runs sharing a server can be told apart."""

from __future__ import annotations

import pytest

from tests.conftest import pg_database_name


def test_names_start_with_the_configured_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITDESK_TEST_DATABASE_PREFIX", "ci_run42_")
    name = pg_database_name("creditdesk_test")
    assert name.startswith("ci_run42_creditdesk_test_")
    assert len(name) == len("ci_run42_creditdesk_test_") + 10


def test_without_a_prefix_the_names_are_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDITDESK_TEST_DATABASE_PREFIX", raising=False)
    assert pg_database_name("creditdesk_test").startswith("creditdesk_test_")


@pytest.mark.parametrize("prefix", ['x"; DROP', "a-b", "p" * 25])
def test_a_prefix_that_is_not_a_plain_identifier_is_refused(
    monkeypatch: pytest.MonkeyPatch, prefix: str
) -> None:
    monkeypatch.setenv("CREDITDESK_TEST_DATABASE_PREFIX", prefix)
    with pytest.raises(pytest.UsageError):
        pg_database_name("creditdesk_test")
