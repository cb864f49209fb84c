"""Tampered cursors answer 422 `validation_error` with field `cursor` on every list, for
customer and staff keys — never a 500 (issue 12)."""

from __future__ import annotations

import base64

import pytest

from app.kit.auth import Role
from app.kit.pagination import encode_cursor
from tests.conftest import Api


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


# The 17 shapes of the probe, and more; each as JSON, base64url-encoded.
JSON_SHAPES = [
    '{"after":5}', "null", '["x"]', "1e308", str(2**70), "Infinity", '{"before":"abc"}',
    '{"before":1e308}', f'{{"before":{2**70}}}', '{"before":-1}', '{"before":true}',
    '{"before":null}', '{"before":NaN}', '{"before":[1]}', '{"before":{"a":1}}',
    '{"before":1,"after":2}', "{}", '"abc"', '{"after":"\\u0000"}', '{"before":1.5}',
    '{"after":-Infinity}', '{"before":"\\ud800"}', '{"after":""}', "[" * 300 + "]" * 300,
    f'{{"before":{2**31}}}', f'{{"after":{2**63}}}', "true", "0", '{"after":{"$gt":""}}',
]  # fmt: skip
BIG = f'{{"before":{2**31}}}'  # past a ticket number (INTEGER), fine for a BIGINT seq
RAW_SHAPES = ["", "!!!", "a", "%%%", "é", "e30", "eyJh", "e30=====", "e30\n", "bnVsbA", "AA"]


async def endpoints(api: Api) -> list[tuple[str, dict[str, str]]]:
    customer = await api.customer()
    customer_key = await api.key(Role.customer, customer["id"])
    ticket = await api.client.post(
        "/v1/tickets", headers=customer_key,
        json={"line": "customer_relations", "subject": "Renew the licence for acme",
              "body": "Please send an invoice for the renewal."},
    )  # fmt: skip
    assert ticket.status_code == 201, ticket.text
    tid, cid = ticket.json()["id"], customer["id"]
    # path, key, which JSON shapes above are genuine positions there
    return [
        ("/v1/tickets", customer_key, set()),
        ("/v1/tickets", api.admin, set()),
        (f"/v1/tickets/{tid}/messages", customer_key, {'{"after":5}'}),
        (f"/v1/customers/{cid}/entries", customer_key, {BIG}),
        ("/v1/customers", api.admin, set()),
        ("/v1/api-keys", api.admin, set()),
        ("/v1/email/inbound", api.admin, {BIG}),
        ("/v1/email/outbox", api.admin, {BIG}),
    ]


async def test_every_tampered_cursor_answers_422_on_every_list(api: Api) -> None:
    failures = []
    for path, headers, genuine in await endpoints(api):
        cursors = [b64(s) for s in JSON_SHAPES if s not in genuine] + RAW_SHAPES
        for cursor in cursors:
            response = await api.client.get(path, params={"cursor": cursor}, headers=headers)
            body = response.json()
            fields = [e.get("field") for e in body.get("errors", [])]
            if (
                response.status_code != 422
                or body.get("code") != "validation_error"
                or ("cursor" not in fields and "query.cursor" not in fields)
            ):
                failures.append((path, cursor, response.status_code, body.get("code")))
    assert failures == [], failures


@pytest.mark.parametrize("key", ["before", "after"])
async def test_a_genuine_cursor_still_pages(api: Api, key: str) -> None:
    for n in range(3):
        await api.customer(email=f"c{n}@acme.example", name=f"Customer {n}")
    first = await api.client.get("/v1/customers?limit=2", headers=api.admin)
    cursor = first.json()["next_cursor"]
    assert cursor is not None
    second = await api.client.get(f"/v1/customers?limit=2&cursor={cursor}", headers=api.admin)
    assert second.status_code == 200
    assert len(first.json()["data"]) + len(second.json()["data"]) == 3
    # a well-formed cursor at a position that exists nowhere is an empty page, not an error
    far = encode_cursor({key: 2**31 - 1} if key == "before" else {key: "zzzz"})
    listed = await api.client.get(
        "/v1/tickets" if key == "before" else "/v1/customers",
        params={"cursor": far}, headers=api.admin,
    )  # fmt: skip
    assert listed.status_code == 200, listed.text
