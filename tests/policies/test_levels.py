"""Contract levels (seeds 004 §4, 001 §4.2): named target sets assigned to customers and
used by the service-level clock instead of the line's targets."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.sla.conftest import Sla

GOLD = {
    "name": "Gold",
    "targets": [
        {"severity": 2, "first_response_minutes": 60, "resolution_minutes": 240},
        {"severity": 2, "category": "third_party", "first_response_minutes": 120,
         "resolution_minutes": 960},
    ],
}  # fmt: skip


async def _level(api: Api, body: dict[str, Any] = GOLD) -> dict[str, Any]:
    response = await api.client.post("/v1/contract-levels", json=body, headers=api.admin)
    assert response.status_code == 201, response.text
    level: dict[str, Any] = response.json()
    return level


async def _assign(api: Api, customer_id: str, level_id: str | None) -> dict[str, Any]:
    response = await api.client.put(
        f"/v1/customers/{customer_id}/contract-level", json={"level_id": level_id},
        headers=api.admin,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_a_level_replaces_the_lines_targets_for_its_customers(sla: Sla, api: Api) -> None:
    level = await _level(api)
    gold, plain = await sla.person(credits=3), await sla.person(credits=3)
    gold2 = await sla.person(credits=3)  # another customer: gold's own later tickets
    assigned = await _assign(api, gold.id, level["id"])  # would extend `fast` (seed 000)
    assert assigned["level"]["name"] == "Gold"
    await _assign(api, gold2.id, level["id"])

    fast = await sla.ticket(gold, "technical", severity=2)
    slow = await sla.ticket(plain, "technical", severity=2)
    other = await sla.ticket(gold2, "technical", severity=3)  # not in the level: the line's
    blocks = {t["id"]: t["sla"] for t in (fast, slow, other)}
    assert blocks[fast["id"]]["first_response"]["target_minutes"] == 60
    assert blocks[fast["id"]]["resolution"]["target_minutes"] == 240
    assert blocks[fast["id"]]["assignment"]["target_minutes"] == 60  # the line's, always
    assert blocks[slow["id"]]["first_response"]["target_minutes"] == 480
    assert blocks[other["id"]]["first_response"]["target_minutes"] == 480
    third = await sla.ticket(gold2, "technical", severity=2, category="third_party")
    assert third["sla"]["first_response"]["target_minutes"] == 120

    sla.advance(minutes=61)
    assert (await sla.sla(fast["id"]))["first_response"]["breached"] is True
    assert (await sla.sla(slow["id"]))["first_response"]["breached"] is False
    await sla.sweep()
    kinds = [e["kind"] for e in await sla.history(fast["id"])]
    assert "breached" in kinds
    assert "breached" not in [e["kind"] for e in await sla.history(slow["id"])]

    report = await api.client.get(
        "/v1/reports/sla?from=2026-11-01&to=2026-11-30", headers=api.admin
    )
    row = next(r for r in report.json()["rows"] if r["severity"] == 2)
    assert row["first_response_breached"] == 1  # the Gold ticket; the plain one is in time


async def test_changes_apply_to_open_tickets_at_once(sla: Sla, api: Api) -> None:
    level = await _level(api)
    gold = await sla.person(credits=1)
    await _assign(api, gold.id, level["id"])
    ticket = await sla.ticket(gold, "technical", severity=2)
    body = {"name": "Gold+", "targets": [{"severity": 2, "first_response_minutes": 30,
                                          "resolution_minutes": 120}]}  # fmt: skip
    replaced = await api.client.put(
        f"/v1/contract-levels/{level['id']}", json=body, headers=api.admin
    )
    assert replaced.status_code == 200 and replaced.json()["name"] == "Gold+"
    assert (await sla.sla(ticket["id"]))["first_response"]["target_minutes"] == 30
    await _assign(api, gold.id, None)
    assert (await sla.sla(ticket["id"]))["first_response"]["target_minutes"] == 480


async def test_roles_and_other_customers(sla: Sla, api: Api) -> None:
    level = await _level(api)
    alice, bob = await sla.person(), await sla.person()
    await _assign(api, alice.id, level["id"])
    for headers in (alice.headers, await sla.staff("engineer")):
        refused = await api.client.post("/v1/contract-levels", json=GOLD, headers=headers)
        assert refused.status_code == 403
        refused = await api.client.put(
            f"/v1/customers/{alice.id}/contract-level", json={"level_id": None}, headers=headers
        )
        assert refused.status_code == 403
    own = await api.client.get(f"/v1/customers/{alice.id}/contract-level", headers=alice.headers)
    assert own.status_code == 200 and own.json()["level"]["id"] == level["id"]
    other = await api.client.get(f"/v1/customers/{alice.id}/contract-level", headers=bob.headers)
    assert other.status_code == 404
    listed = await api.client.get("/v1/contract-levels", headers=await sla.staff("cr_agent"))
    assert [lv["name"] for lv in listed.json()["data"]] == ["Gold"]
    assert (await api.client.get("/v1/contract-levels", headers=alice.headers)).status_code == 403


async def test_errors_are_problems_and_change_nothing(sla: Sla, api: Api) -> None:
    level = await _level(api)
    alice = await sla.person()
    again = await api.client.post("/v1/contract-levels", json=GOLD, headers=api.admin)
    assert (again.status_code, again.json()["code"]) == (409, "contract_level_exists")
    twice = {"name": "Silver", "targets": [GOLD["targets"][0], GOLD["targets"][0]]}  # type: ignore[index]
    bad = await api.client.post("/v1/contract-levels", json=twice, headers=api.admin)
    assert (bad.status_code, bad.json()["field"]) == (422, "targets")
    empty = await api.client.post(
        "/v1/contract-levels", json={"name": "None", "targets": []}, headers=api.admin
    )
    assert empty.status_code == 422
    missing = await api.client.put(
        f"/v1/customers/{alice.id}/contract-level", json={"level_id": "lvl_nope"},
        headers=api.admin,
    )  # fmt: skip
    assert missing.status_code == 404
    nobody = await api.client.put(
        "/v1/customers/cus_nope/contract-level", json={"level_id": level["id"]},
        headers=api.admin,
    )  # fmt: skip
    assert nobody.status_code == 404
    await _assign(api, alice.id, level["id"])
    in_use = await api.client.delete(f"/v1/contract-levels/{level['id']}", headers=api.admin)
    assert (in_use.status_code, in_use.json()["code"]) == (409, "contract_level_in_use")
    await _assign(api, alice.id, None)
    gone = await api.client.delete(f"/v1/contract-levels/{level['id']}", headers=api.admin)
    assert gone.status_code == 204
    lost = await api.client.get(f"/v1/contract-levels/{level['id']}", headers=api.admin)
    assert lost.status_code == 404
