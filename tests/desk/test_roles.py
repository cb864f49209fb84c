"""For every role, what it may and may not do on the ticket endpoints (api.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.desk.conftest import Desk, Person

ROLES = ["admin", "cr_agent", "engineer", "finance", "integration", "own", "other"]

# role -> expected status; `own` is the ticket's customer, `other` another customer.
MATRIX: dict[str, dict[str, int]] = {
    "submit": {"admin": 201, "cr_agent": 201, "integration": 201, "own": 201,
               "engineer": 403, "finance": 403, "other": 404},
    "list": {"admin": 200, "cr_agent": 200, "engineer": 200, "finance": 200,
             "integration": 200, "own": 200, "other": 404},
    "get": {"admin": 200, "cr_agent": 200, "engineer": 200, "finance": 200,
            "integration": 200, "own": 200, "other": 404},
    "message": {"admin": 201, "cr_agent": 201, "engineer": 201, "own": 201,
                "finance": 403, "integration": 403, "other": 404},
    "messages": {"admin": 200, "cr_agent": 200, "engineer": 200, "finance": 200,
                 "integration": 200, "own": 200, "other": 404},
    "transfer": {"admin": 200, "cr_agent": 200, "engineer": 200,
                 "finance": 403, "integration": 403, "own": 403, "other": 403},
    "accept": {"admin": 200, "own": 200, "cr_agent": 403, "engineer": 403,
               "finance": 403, "integration": 403, "other": 404},
    "decline": {"admin": 200, "own": 200, "cr_agent": 403, "engineer": 403,
                "finance": 403, "integration": 403, "other": 404},
    "merge": {"admin": 200, "cr_agent": 200, "engineer": 200,
              "finance": 403, "integration": 403, "own": 403, "other": 403},
    "out_of_scope": {"admin": 200, "engineer": 200, "cr_agent": 403,
                     "finance": 403, "integration": 403, "own": 403, "other": 403},
    "bug": {"admin": 200, "engineer": 200, "cr_agent": 403,
            "finance": 403, "integration": 403, "own": 403, "other": 403},
    "status": {"admin": 200, "cr_agent": 200, "engineer": 200, "own": 200,
               "finance": 403, "integration": 403, "other": 404},
}  # fmt: skip

Action = Callable[[Desk, Person, dict[str, str]], Awaitable[httpx.Response]]


async def _submit(desk: Desk, owner: Person, headers: dict[str, str]) -> httpx.Response:
    extra = {} if headers is owner.headers else {"customer_id": owner.id}
    return await desk.submit(owner, "technical", headers=headers, **extra)


async def _on_ticket(
    desk: Desk, owner: Person, line: str, method: str, suffix: str, headers: dict[str, str],
    json: dict[str, Any] | None = None, setup: str | None = None,
) -> httpx.Response:  # fmt: skip
    ticket = await desk.ticket(owner, line)
    if setup == "awaiting":
        response = await desk.post(
            f"/v1/tickets/{ticket['id']}/transfer", desk.api.admin, {"to_line": "technical"}
        )
        assert response.json()["status"] == "awaiting_approval"
    path = f"/v1/tickets/{ticket['id']}{suffix}"
    if method == "GET":
        return await desk.client.get(path, headers=headers)
    if setup == "merge":
        json = {"into": (await desk.ticket(owner, line))["id"]}
    return await desk.client.post(path, json=json or {}, headers=headers)


ACTIONS: dict[str, Action] = {
    "submit": _submit,
    "list": lambda d, o, h: d.client.get("/v1/tickets", params={"customer_id": o.id}, headers=h),
    "get": lambda d, o, h: _on_ticket(d, o, "customer_relations", "GET", "", h),
    "message": lambda d, o, h: _on_ticket(
        d, o, "customer_relations", "POST", "/messages", h, {"body": "hello there"}
    ),
    "messages": lambda d, o, h: _on_ticket(d, o, "customer_relations", "GET", "/messages", h),
    "transfer": lambda d, o, h: _on_ticket(
        d, o, "customer_relations", "POST", "/transfer", h, {"to_line": "technical"}
    ),
    "accept": lambda d, o, h: _on_ticket(
        d, o, "customer_relations", "POST", "/transfer/accept", h, setup="awaiting"
    ),
    "decline": lambda d, o, h: _on_ticket(
        d, o, "customer_relations", "POST", "/transfer/decline", h, setup="awaiting"
    ),
    "merge": lambda d, o, h: _on_ticket(d, o, "technical", "POST", "/merge", h, setup="merge"),
    "out_of_scope": lambda d, o, h: _on_ticket(
        d, o, "technical", "POST", "/out-of-scope", h, {"reason": "licence question"}
    ),
    "bug": lambda d, o, h: _on_ticket(
        d, o, "technical", "POST", "/bug-confirmation", h, {"bug_reference": "BUG-1"}
    ),
    "status": lambda d, o, h: _on_ticket(
        d, o, "customer_relations", "POST", "/status", h, {"status": "closed"}
    ),
}


@pytest.mark.parametrize("action", sorted(MATRIX))
async def test_role_matrix(desk: Desk, action: str) -> None:
    owner = await desk.person(credits=40)
    stranger = await desk.person(credits=1)
    outcomes: dict[str, int] = {}
    for role in ROLES:
        if role == "own":
            headers = owner.headers
        elif role == "other":
            headers = stranger.headers
        else:
            headers = await desk.staff(role)
        response = await ACTIONS[action](desk, owner, headers)
        outcomes[role] = response.status_code
        if response.status_code >= 400:
            expected_code = {403: "forbidden", 404: "not_found"}[response.status_code]
            assert response.json()["code"] == expected_code, response.text
    assert outcomes == MATRIX[action]


async def test_other_customer_sees_nothing_of_a_ticket(desk: Desk) -> None:
    owner, stranger = await desk.person(credits=1), await desk.person()
    ticket = await desk.ticket(owner, "technical")
    response = await desk.client.get(f"/v1/tickets/{ticket['id']}", headers=stranger.headers)
    assert response.status_code == 404
    assert ticket["subject"] not in response.text and ticket["id"] not in response.text
    listed = await desk.client.get("/v1/tickets", headers=stranger.headers)
    assert listed.status_code == 200 and listed.json()["data"] == []


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/tickets"), ("POST", "/v1/tickets"), ("GET", "/v1/tickets/tkt_x"),
     ("POST", "/v1/tickets/tkt_x/status")],
)  # fmt: skip
async def test_no_key_is_401(desk: Desk, method: str, path: str) -> None:
    response = await desk.client.request(method, path, json={})
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
