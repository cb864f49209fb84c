"""Ticket lists: filters, cursor pages, a customer's own tickets only."""

from __future__ import annotations

from tests.desk.conftest import Desk


async def test_filters_and_pages(desk: Desk) -> None:
    kay, lou = await desk.person(credits=5), await desk.person(credits=5)
    made = []
    for who, line in [(kay, "technical"), (kay, "customer_relations"), (lou, "technical"),
                      (kay, "technical"), (lou, "customer_relations")]:  # fmt: skip
        made.append(await desk.ticket(who, line))
    await desk.post(f"/v1/tickets/{made[0]['id']}/status", desk.api.admin, {"status": "resolved"})
    admin = desk.api.admin

    async def ids(**params: str) -> list[str]:
        response = await desk.client.get("/v1/tickets", params=params, headers=admin)
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["data"]]

    newest_first = [t["id"] for t in reversed(made)]
    assert await ids() == newest_first
    assert await ids(customer_id=kay.id) == [made[3]["id"], made[1]["id"], made[0]["id"]]
    assert await ids(line="technical") == [made[3]["id"], made[2]["id"], made[0]["id"]]
    assert await ids(status="resolved") == [made[0]["id"]]
    assert await ids(customer_id=lou.id, line="customer_relations") == [made[4]["id"]]

    pages: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await desk.client.get("/v1/tickets", params=params, headers=admin)).json()
        assert len(page["data"]) <= 2
        pages += [t["id"] for t in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == newest_first

    bad_line = await desk.client.get("/v1/tickets", params={"line": "sales"}, headers=admin)
    assert bad_line.status_code == 422
    bad_limit = await desk.client.get("/v1/tickets", params={"limit": 201}, headers=admin)
    assert bad_limit.status_code == 422
    bad_cursor = await desk.client.get("/v1/tickets", params={"cursor": "e30"}, headers=admin)
    assert bad_cursor.status_code == 422 and bad_cursor.json()["code"] == "validation_error"


async def test_customer_lists_only_own(desk: Desk) -> None:
    may, ned = await desk.person(credits=1), await desk.person(credits=1)
    mine = await desk.ticket(may, "technical")
    await desk.ticket(ned, "technical")
    listed = await desk.client.get("/v1/tickets", headers=may.headers)
    data = listed.json()["data"]
    assert [t["id"] for t in data] == [mine["id"]]
    assert data[0]["charge"]["credits"] == 1
    peek = await desk.client.get("/v1/tickets", params={"customer_id": ned.id}, headers=may.headers)
    assert peek.status_code == 404
