"""Calendars and targets: the policy defaults until an admin stores others."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.sla.conftest import Sla


def iso(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> str:
    moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return moment.isoformat().replace("+00:00", "Z")


async def test_the_policy_defaults_are_in_force(sla: Sla) -> None:
    response = await sla.client.get("/v1/sla/calendars", headers=await sla.staff("cr_agent"))
    assert response.status_code == 200, response.text
    calendars = {c["line"]: c for c in response.json()["data"]}
    cr = calendars["customer_relations"]
    assert (cr["zone"], cr["default"], cr["holidays"]) == ("Europe/Moscow", True, [])
    assert cr["hours"] == [
        {"weekday": d, "opens": "03:00:00", "closes": "19:00:00"} for d in range(5)
    ]
    tech = calendars["technical"]
    assert tech["zone"] == "UTC" and len(tech["hours"]) == 7
    assert tech["hours"][0] == {"weekday": 0, "opens": "00:00:00", "closes": "00:00:00"}

    response = await sla.client.get("/v1/sla/targets", headers=sla.api.admin)
    targets = {(t["line"], t["severity"], t["category"]): t for t in response.json()["data"]}
    assert len(targets) == 16 and all(t["default"] for t in targets.values())
    product = targets[("technical", 3, "product_issue")]
    third = targets[("technical", 3, "third_party")]
    question = targets[("customer_relations", 4, "product_issue")]
    assert (product["first_response_minutes"], product["assignment_minutes"]) == (480, 60)
    assert (third["first_response_minutes"], third["resolution_minutes"]) == (1440, 5 * 480)
    assert question["resolution_minutes"] == 2 * 480


async def test_an_admin_sets_a_calendar_with_holidays(sla: Sla) -> None:
    body = {
        "zone": "Europe/Berlin",
        "hours": [{"weekday": d, "opens": "09:00", "closes": "17:00"} for d in range(5)],
        "holidays": ["2026-11-03"],
    }
    response = await sla.client.put(
        "/v1/sla/calendars/customer_relations", json=body, headers=sla.api.admin
    )
    assert response.status_code == 200, response.text
    assert response.json()["default"] is False
    who = await sla.person()
    ticket = await sla.ticket(who, "customer_relations")
    # Monday 10:00 Berlin (UTC+1): 7 h on Monday, Tuesday a holiday, 1 h on Wednesday.
    assert ticket["sla"]["first_response"]["due_at"] == iso(2026, 11, 4, 9)
    listed = await sla.client.get("/v1/sla/calendars", headers=sla.api.admin)
    stored = next(c for c in listed.json()["data"] if c["line"] == "customer_relations")
    assert stored["zone"] == "Europe/Berlin" and stored["holidays"] == ["2026-11-03"]


async def test_bad_calendars_are_refused_and_only_admins_write(sla: Sla) -> None:
    path = "/v1/sla/calendars/technical"
    good = {"zone": "UTC", "hours": [{"weekday": 0, "opens": "09:00", "closes": "17:00"}]}
    cases = [
        ({**good, "zone": "Mars/Olympus"}, "zone"),
        ({**good, "hours": []}, "hours"),
        ({**good, "hours": [{"weekday": 0, "opens": "17:00", "closes": "09:00"}]}, "hours"),
        (
            {
                **good,
                "hours": [
                    {"weekday": 0, "opens": "09:00", "closes": "13:00"},
                    {"weekday": 0, "opens": "12:00", "closes": "00:00"},
                ],
            },
            "hours",
        ),
    ]
    for body, field in cases:
        response = await sla.client.put(path, json=body, headers=sla.api.admin)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field
    malformed = {**good, "hours": [{"weekday": 7, "opens": "09:00", "closes": "17:00"}]}
    assert (await sla.client.put(path, json=malformed, headers=sla.api.admin)).status_code == 422
    engineer = await sla.staff("engineer")
    assert (await sla.client.put(path, json=good, headers=engineer)).status_code == 403
    lunch = {
        **good,
        "hours": [
            {"weekday": 0, "opens": "09:00", "closes": "13:00"},
            {"weekday": 0, "opens": "14:00", "closes": "00:00"},
        ],
    }
    assert (await sla.client.put(path, json=lunch, headers=sla.api.admin)).status_code == 200
    who = await sla.person()
    assert (await sla.client.get("/v1/sla/calendars", headers=who.headers)).status_code == 403


async def test_an_admin_sets_targets_and_open_tickets_follow(sla: Sla) -> None:
    who = await sla.person(credits=1)
    tid = (await sla.ticket(who, severity=2))["id"]
    body = {
        "line": "technical", "severity": 2, "category": "product_issue",
        "first_response_minutes": 120, "assignment_minutes": 15, "resolution_minutes": 600,
    }  # fmt: skip
    response = await sla.client.put("/v1/sla/targets", json=body, headers=sla.api.admin)
    assert response.status_code == 200, response.text
    assert response.json()["default"] is False
    block = await sla.sla(tid)
    assert block["first_response"]["due_at"] == iso(2026, 11, 2, 11)
    assert block["assignment"]["target_minutes"] == 15
    engineer = await sla.staff("engineer")
    assert (await sla.client.put("/v1/sla/targets", json=body, headers=engineer)).status_code == 403
    bad = {**body, "first_response_minutes": 0}
    assert (
        await sla.client.put("/v1/sla/targets", json=bad, headers=sla.api.admin)
    ).status_code == 422


async def test_reads_follow_a_target_change_made_after_the_cache_was_loaded(sla: Sla) -> None:
    """`GET /v1/tickets/{id}` and the list take calendars and targets from the process's
    cached desk configuration while its version is current (app.desk.reads): a change
    bumps the version, so the next read does not answer the old targets, nor the one after
    (the cache reloaded)."""
    who = await sla.person(credits=1)
    tid = (await sla.ticket(who, severity=2))["id"]
    assert (await sla.sla(tid))["assignment"]["target_minutes"] != 17  # cache loaded
    body = {
        "line": "technical", "severity": 2, "category": "product_issue",
        "first_response_minutes": 120, "assignment_minutes": 17, "resolution_minutes": 600,
    }  # fmt: skip
    response = await sla.client.put("/v1/sla/targets", json=body, headers=sla.api.admin)
    assert response.status_code == 200, response.text
    for _ in range(2):  # the stale cache noticed, then the reloaded one
        assert (await sla.sla(tid))["assignment"]["target_minutes"] == 17
        listed = await sla.client.get("/v1/tickets", headers=sla.api.admin)
        assert listed.status_code == 200, listed.text
        mine = [t for t in listed.json()["data"] if t["id"] == tid]
        assert mine[0]["sla"]["assignment"]["target_minutes"] == 17
