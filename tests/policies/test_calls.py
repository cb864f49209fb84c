"""Phone consultations (seed 000): 3 per working day, 15 minutes each, logged and listed
per customer, counted in the SLA report, extending the customer's other tickets."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.conftest import START
from tests.desk.conftest import Person
from tests.sla.conftest import Sla


def _call(at: datetime, minutes: int = 10, **extra: Any) -> dict[str, Any]:
    return {"started_at": at.isoformat(), "duration_minutes": minutes,
            "topic": "How to rotate the DRM keys", "verified": True, **extra}  # fmt: skip


async def _log(
    sla: Sla, who: Person, body: dict[str, Any], role: str = "cr_agent"
) -> httpx.Response:
    return await sla.post(f"/v1/customers/{who.id}/calls", await sla.staff(role), body)


async def test_three_calls_per_working_day_then_409(sla: Sla) -> None:
    who = await sla.person()
    sla.advance(hours=2)
    for i, role in enumerate(("cr_agent", "engineer", "admin")):
        logged = await _log(sla, who, _call(START + timedelta(minutes=20 * i)), role)
        assert logged.status_code == 201, logged.text
        assert logged.json()["day"] == "2026-11-02"
    fourth = await _log(sla, who, _call(START + timedelta(hours=1, minutes=30)))
    assert fourth.status_code == 409
    assert fourth.headers["content-type"].startswith("application/problem+json")
    problem = fourth.json()
    assert (problem["code"], problem["calls"], problem["limit"]) == ("call_limit_reached", 3, 3)
    other = await sla.person()  # the limit is per customer
    assert (await _log(sla, other, _call(START))).status_code == 201
    sla.advance(days=1)  # the next working day starts a new count
    assert (await _log(sla, who, _call(sla.now - timedelta(minutes=15)))).status_code == 201
    listed = await sla.client.get(f"/v1/customers/{who.id}/calls", headers=who.headers)
    assert listed.status_code == 200
    assert [c["day"] for c in listed.json()["data"]] == ["2026-11-03"] + ["2026-11-02"] * 3
    page = await sla.client.get(
        f"/v1/customers/{who.id}/calls?limit=3", headers=await sla.staff("engineer")
    )
    rest = await sla.client.get(
        f"/v1/customers/{who.id}/calls?cursor={page.json()['next_cursor']}",
        headers=sla.api.admin,
    )
    assert len(page.json()["data"]) == 3 and len(rest.json()["data"]) == 1


async def test_limits_and_bad_input_are_problems(sla: Sla) -> None:
    who, stranger = await sla.person(credits=1), await sla.person(credits=1)
    sla.advance(hours=1)
    too_long = await _log(sla, who, _call(START, minutes=16))
    assert (too_long.status_code, too_long.json()["code"]) == (422, "call_too_long")
    future = await _log(sla, who, _call(sla.now + timedelta(minutes=5)))
    assert (future.status_code, future.json()["code"]) == (422, "call_in_future")
    for bad in (_call(START, minutes=0), {**_call(START), "started_at": "2026-11-02T09:00:00"},
                {**_call(START), "topic": ""}, {"duration_minutes": 5}):  # fmt: skip
        assert (await _log(sla, who, bad)).status_code == 422
    theirs = await sla.ticket(stranger)
    wrong = await _log(sla, who, _call(START, ticket_id=theirs["id"]))
    assert wrong.status_code == 404
    nobody = await sla.post("/v1/customers/cus_nope/calls", sla.api.admin, _call(START))
    assert nobody.status_code == 404
    assert (await sla.client.get(f"/v1/customers/{who.id}/calls", headers=sla.api.admin)).json()[
        "data"
    ] == []


async def test_roles(sla: Sla) -> None:
    who, other = await sla.person(), await sla.person()
    sla.advance(hours=1)
    for headers in (who.headers, await sla.staff("finance")):
        refused = await sla.post(f"/v1/customers/{who.id}/calls", headers, _call(START))
        assert refused.status_code == 403
    assert (await _log(sla, who, _call(START))).status_code == 201
    own = await sla.client.get(f"/v1/customers/{who.id}/calls", headers=who.headers)
    assert own.status_code == 200 and len(own.json()["data"]) == 1
    hidden = await sla.client.get(f"/v1/customers/{who.id}/calls", headers=other.headers)
    assert hidden.status_code == 404
    finance = await sla.client.get(
        f"/v1/customers/{who.id}/calls", headers=await sla.staff("finance")
    )
    assert finance.status_code == 200


async def test_a_call_extends_the_customers_tickets_except_the_one_it_was_about(sla: Sla) -> None:
    ann, ben = await sla.person(credits=1), await sla.person(credits=1)
    anns = await sla.ticket(ann)  # technical, severity 3: 8 working hours, 24/7
    bens = await sla.ticket(ben)
    before = (await sla.sla(anns["id"]))["first_response"]["due_at"]
    sla.advance(hours=1)
    assert (
        await _log(sla, ann, _call(sla.now - timedelta(minutes=12), minutes=12))
    ).status_code == 201
    about = _call(sla.now - timedelta(minutes=12), minutes=12, ticket_id=bens["id"])
    assert (await _log(sla, ben, about)).status_code == 201
    sla.advance(hours=1)
    extended = await sla.sla(anns["id"])
    assert extended["extension_minutes"] == 12
    assert extended["first_response"]["target_minutes"] == 480 + 12
    assert datetime.fromisoformat(extended["first_response"]["due_at"]) == datetime.fromisoformat(
        before
    ) + timedelta(minutes=12)
    assert (await sla.sla(bens["id"]))["extension_minutes"] == 0  # the call was about it
    # Just before 8 h + 12 min the first response is not breached; the sweep agrees.
    sla.api.clock.set(START + timedelta(hours=8, minutes=11))
    assert (await sla.sla(anns["id"]))["first_response"]["breached"] is False
    await sla.sweep()
    assert "breached" not in [e["kind"] for e in await sla.history(anns["id"])]
    assert "breached" in [e["kind"] for e in await sla.history(bens["id"])]


async def test_calls_are_counted_in_the_sla_report(sla: Sla) -> None:
    ann, ben = await sla.person(), await sla.person()
    sla.advance(hours=2)
    await _log(sla, ann, _call(START, minutes=5))
    await _log(sla, ann, _call(START + timedelta(minutes=30), minutes=15, verified=False))
    await _log(sla, ben, _call(START + timedelta(hours=1), minutes=7))
    params = {"from": "2026-11-02", "to": "2026-11-03"}
    report = await sla.client.get("/v1/reports/sla", params=params, headers=sla.api.admin)
    assert report.json()["calls"] == {"calls": 3, "minutes": 27, "verified": 2, "customers": 2}
    params = {"from": "2026-11-03", "to": "2026-11-04"}
    report = await sla.client.get("/v1/reports/sla", params=params, headers=sla.api.admin)
    assert report.json()["calls"]["calls"] == 0
