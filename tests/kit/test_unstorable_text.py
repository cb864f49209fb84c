"""NUL and lone surrogates, which PostgreSQL text cannot store, answer 422 wherever they
come in (JSON body, query, path); and database errors never carry the
statement's parameters into logs (issue 12)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from app.email.parsing import parse
from app.kit.auth import Role
from app.kit.db import Database
from tests.conftest import Api


def assert_refused(response, field: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"][0]["field"] == field


async def test_nul_and_lone_surrogates_are_refused_everywhere(api: Api) -> None:
    customer = await api.customer()
    cust_key = await api.key(Role.customer, customer["id"])
    ticket = {"line": "customer_relations", "subject": "Renew the licence\x00", "body": "x" * 20}
    assert_refused(await api.client.post("/v1/tickets", json=ticket, headers=cust_key),
                   "body.subject")  # fmt: skip
    raw = '{"line": "customer_relations", "subject": "Renew the licence now", "body": "\\ud800 hi"}'
    response = await api.client.post(
        "/v1/tickets", content=raw, headers={**cust_key, "Content-Type": "application/json"}
    )
    assert_refused(response, "body.body")
    assert_refused(
        await api.client.post("/v1/customers", json={"name": "A\x00", "email": "a@b.example"},
                              headers=api.admin),
        "body.name",
    )  # fmt: skip
    assert_refused(
        await api.client.get("/v1/tickets?customer_id=abc%00", headers=api.admin),
        "query.customer_id",
    )
    assert_refused(await api.client.get("/v1/tickets/tkt_%00x", headers=api.admin), "path")
    # nothing was created
    listed = await api.client.get("/v1/tickets", headers=api.admin)
    assert listed.json()["data"] == []


async def test_an_escaped_backslash_u0000_is_ordinary_text(api: Api) -> None:
    customer = await api.customer()
    cust_key = await api.key(Role.customer, customer["id"])
    ticket = {"line": "customer_relations", "subject": "Renew the licence \\u0000 now",
              "body": "literally backslash u0000"}  # fmt: skip
    response = await api.client.post(
        "/v1/tickets", content=json.dumps(ticket),
        headers={**cust_key, "Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 201, response.text


def test_mail_text_is_made_storable() -> None:
    raw = (
        b"From: ops@acme.example\r\nSubject: =?utf-8?q?Backup=00fails?=\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nline\x00one\r\n"
    )
    mail = parse(raw)
    assert "\x00" not in mail.subject and "\x00" not in mail.body
    assert mail.subject == "Backupfails" and mail.body == "lineone"


async def test_database_errors_do_not_carry_parameters(database_url: str) -> None:
    database = Database(database_url, pool_size=1)
    try:
        async with database.engine.connect() as conn:
            with pytest.raises(Exception) as raised:
                await conn.execute(
                    text("SELECT :secret FROM no_such_table"), {"secret": "hunter2-card-4242"}
                )
    finally:
        await database.dispose()
    assert "hunter2-card-4242" not in str(raised.value)


async def test_a_json_body_that_is_not_utf8_answers_422(api: Api) -> None:
    response = await api.client.post(
        "/v1/api-keys", content=b'{"name": "\xff\xfe"}',
        headers={**api.admin, "Content-Type": "application/json"},
    )  # fmt: skip
    assert_refused(response, "body")
