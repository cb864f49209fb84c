"""Hostile inputs any key can send answer 422 problem+json and change nothing, over HTTP
(issue 25): tampered multi-key cursors (calls, purchases, events),
integers past their column (`number` is an INTEGER), and timestamps that are naive or
that overflow when converted to UTC (`0001-01-01T00:00:00+14:00`). Each table is one
test that collects every failure, so one run names them all."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.kit.auth import Role
from app.models import Base
from tests.conftest import START, Api

# Tables a refused request may still touch: the key's `last_used_at`, rate-limit counters.
VOLATILE = {"api_keys", "rate_limit_counters"}


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # `{cid}`, `{tid}`: the customer's and its ticket's ids
    key: str  # "customer" (its own) or "admin"
    field: str  # the error's field ends with this
    params: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


def _instant_id(moment: str, ident: str) -> list[str]:
    """Tampered `{moment: …, ident: …}` cursors of lists ordered by a time, then an id."""
    at, good = f'"{moment}"', '"2026-11-02T09:00:00+00:00"'
    shapes = [
        f'{{{at}:"x",{ident}:"y"}}', f'{{{at}:5,{ident}:1}}', f'{{{at}:null,{ident}:null}}',
        f'{{{at}:"2026-11-02T09:00:00",{ident}:"x_1"}}',  # no zone
        f'{{{at}:"2026-11-02",{ident}:"x_1"}}',
        f'{{{at}:"0001-01-01T00:00:00+14:00",{ident}:"x_1"}}',  # before year 1 in UTC
        f'{{{at}:"9999-12-31T23:59:59-14:00",{ident}:"x_1"}}',  # after year 9999 in UTC
        f'{{{at}:"2026-11-02T09:00:00+25:00",{ident}:"x_1"}}',
        f'{{{at}:{2**70},{ident}:"x_1"}}', f'{{{at}:1e308,{ident}:"x_1"}}',
        f'{{{at}:true,{ident}:"x_1"}}', f'{{{at}:["x"],{ident}:"x_1"}}',
        f'{{{at}:{{"a":1}},{ident}:"x_1"}}',
        f'{{{at}:{good},{ident}:5}}', f'{{{at}:{good},{ident}:{2**70}}}',
        f'{{{at}:{good},{ident}:""}}', f'{{{at}:{good},{ident}:"\\u0000"}}',
        f'{{{at}:{good},{ident}:"{"x" * 201}"}}', f'{{{at}:{good},{ident}:null}}',
        f'{{{at}:{good}}}', f'{{{ident}:"x_1"}}',  # a key missing
        f'{{{at}:{good},{ident}:"x_1","extra":1}}',  # a key too many
        "{}", "null", "[]", f'[{good},"x_1"]', '"abc"', "Infinity",
    ]  # fmt: skip
    return [b64(s) for s in shapes] + ["!!!", "%%%", "e30=====", "bnVsbA", "é", "AA"]


EVENT_CURSORS = [b64(s) for s in [
    '{"after":[1]}', '{"after":[1,2,3]}', f'{{"after":[{2**63},1]}}', '{"after":[-1,1]}',
    '{"after":[1.5,1]}', '{"after":[true,1]}', '{"after":"x"}', '{"after":null}',
    '{"after":[null,null]}', '{"after":[1,2],"x":1}', '{"before":[1,2]}', '{"after":["1","2"]}',
]] + ["!!!", "e30"]  # fmt: skip

CURSORS = (
    [Case("GET", "/v1/customers/{cid}/calls", "customer", "cursor", {"cursor": c})
     for c in _instant_id("at", '"id"')]
    + [Case("GET", "/v1/customers/{cid}/purchases", "customer", "cursor", {"cursor": c})
       for c in _instant_id("before", '"id"')]
    + [Case("GET", "/v1/events", "customer", "cursor", {"cursor": c}) for c in EVENT_CURSORS]
)  # fmt: skip

NUMBERS = [
    Case("GET", "/v1/tickets", key, "number", {"number": n})
    for key in ("customer", "admin")
    for n in (str(2**31), str(2**63), str(2**70), "0", "-1")
]

# Naive, or past the ends of UTC once converted, or outside the range a day inside it.
BAD_TIMES = [
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-11-02T09:00:00",
    "2026-11-02", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-11-02T09:00:00+24:00",
]  # fmt: skip
QUERY_TIMES = [
    Case("GET", path, key, name, {name: moment})
    for path, key, name in [
        ("/v1/customers", "admin", "updated_gte"),
        ("/v1/tickets", "customer", "updated_gte"),
        ("/v1/tickets", "admin", "updated_gte"),
        ("/v1/events", "customer", "created_gte"),
    ]
    for moment in BAD_TIMES
]


def _call(moment: str) -> dict[str, Any]:
    return {"started_at": moment, "duration_minutes": 10, "topic": "Rotating the DRM keys",
            "verified": True}  # fmt: skip


BODY_TIMES = [
    case
    for moment in BAD_TIMES
    for case in (
        Case("POST", "/v1/customers/{cid}/calls", "admin", "started_at", body=_call(moment)),
        Case("POST", "/v1/customers/{cid}/spend", "admin", "occurred_at",
             body={"amount": {"amount": 100, "currency": "EUR"},
                   "reference": f"inv-{moment}", "occurred_at": moment}),
        Case("PUT", "/v1/tickets/{tid}/expected-completion", "admin",
             "expected_completion_at", body={"expected_completion_at": moment}),
    )
]  # fmt: skip


async def _state(api: Api) -> dict[str, str]:
    """A digest of every table's rows: a refused request must leave all of them alone."""
    digests = {}
    async with api.db.sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            if table.name not in VOLATILE:
                rows = sorted(repr(tuple(r)) for r in await session.execute(select(table)))
                digests[table.name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return digests


async def _refusals(api: Api, cases: list[Case]) -> list[tuple[Any, ...]]:
    """Every case that did not answer 422 `validation_error` problem+json naming its
    field, and every table the cases changed."""
    customer = await api.customer()
    keys = {"customer": await api.key(Role.customer, customer["id"]), "admin": api.admin}
    ticket = await api.client.post(
        "/v1/tickets", headers=keys["customer"],
        json={"line": "customer_relations", "subject": "Renew the licence for acme",
              "body": "Please send an invoice for the renewal."},
    )  # fmt: skip
    assert ticket.status_code == 201, ticket.text
    ids = {"cid": customer["id"], "tid": ticket.json()["id"]}
    before = await _state(api)
    failures: list[tuple[Any, ...]] = []
    for case in cases:
        response = await api.client.request(
            case.method, case.path.format(**ids), params=case.params, json=case.body,
            headers=keys[case.key],
        )  # fmt: skip
        body = response.json()
        fields = [str(e.get("field")) for e in body.get("errors") or []] + [str(body.get("field"))]
        if (
            response.status_code != 422
            or not response.headers["content-type"].startswith("application/problem+json")
            or body.get("code") != "validation_error"
            or not any(f.endswith(case.field) for f in fields)
        ):
            failures.append((case, response.status_code, body.get("code"), fields))
    after = await _state(api)
    failures += [("changed", table) for table in after if after[table] != before[table]]
    return failures


async def test_tampered_instant_and_pair_cursors_answer_422(api: Api) -> None:
    assert await _refusals(api, CURSORS) == []


async def test_integers_past_their_column_answer_422(api: Api) -> None:
    assert await _refusals(api, NUMBERS) == []


async def test_naive_or_unrepresentable_query_times_answer_422(api: Api) -> None:
    assert await _refusals(api, QUERY_TIMES) == []


async def test_naive_or_unrepresentable_body_times_answer_422(api: Api) -> None:
    api.clock.set(START.replace(hour=12))  # a working hour, for the calls
    assert await _refusals(api, BODY_TIMES) == []


async def test_times_within_range_in_any_zone_still_work(api: Api) -> None:
    """The bounds refuse only what cannot be represented: an offset far from UTC, a year
    far back, and the ticket's largest number are accepted."""
    customer = await api.customer()
    own = await api.key(Role.customer, customer["id"])
    for params in [
        {"updated_gte": "0001-01-03T00:00:00+14:00"}, {"updated_gte": "9999-12-29T00:00:00-14:00"},
        {"updated_gte": "2026-11-02T09:00:00.123456+05:30"}, {"number": str(2**31 - 1)},
    ]:  # fmt: skip
        listed = await api.client.get("/v1/tickets", params=params, headers=own)
        assert (listed.status_code, listed.json()["data"]) == (200, []), listed.text
    events = await api.client.get("/v1/events?created_gte=2026-11-01T00:00:00Z", headers=own)
    assert events.status_code == 200, events.text
    spent = await api.client.post(
        f"/v1/customers/{customer['id']}/spend", headers=api.admin,
        json={"amount": {"amount": 100, "currency": "EUR"}, "reference": "inv-1",
              "occurred_at": "2026-11-02T12:00:00+03:00"},
    )  # fmt: skip
    assert spent.status_code == 201, spent.text
