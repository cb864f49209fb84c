"""Supported versions (seed 002): the registry, the 180-day window, refusal before any
charge on the technical line, and today's behaviour for products nobody registered."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.products.models import ProductVersion
from app.products.service import lifecycle
from tests.conftest import Api
from tests.desk.conftest import Desk

# The test clock starts on Monday 2026-11-02.
RELEASES = [("4", "2025-01-01"), ("5", "2026-01-10"), ("6", "2026-06-01"), ("6.2", "2026-10-01"),
            ("7", "2027-01-15")]  # fmt: skip


def _v(version: str, released: str) -> ProductVersion:
    return ProductVersion(version=version, released_on=date.fromisoformat(released))


def test_the_previous_version_is_supported_for_180_days_after_the_next_release() -> None:
    versions = [_v("1", "2026-01-01"), _v("2", "2026-03-01"), _v("3", "2026-04-01")]
    day_180 = date(2026, 3, 1).toordinal() + 180
    last = lifecycle(versions, date.fromordinal(day_180), 180)
    assert [(s.version, s.supported) for s in last] == [("3", True), ("2", True), ("1", True)]
    after = lifecycle(versions, date.fromordinal(day_180 + 1), 180)
    assert [(s.version, s.supported) for s in after] == [("3", True), ("2", True), ("1", False)]
    assert after[2].supported_until == date(2026, 8, 28)
    assert after[0].supported_until is None  # the current version: no end yet


def test_an_announced_version_is_not_supported_and_does_not_end_the_previous() -> None:
    states = lifecycle([_v("1", "2026-01-01"), _v("2", "2027-01-01")], date(2026, 11, 2), 180)
    assert [(s.version, s.supported, s.supported_until) for s in states] == [
        ("2", False, None), ("1", True, None),
    ]  # fmt: skip


async def _panel(api: Api, name: str = "Panel") -> dict[str, Any]:
    created = await api.client.post("/v1/products", json={"name": name}, headers=api.admin)
    assert created.status_code == 201, created.text
    product: dict[str, Any] = created.json()
    for version, released in RELEASES:
        added = await api.client.post(
            f"/v1/products/{product['id']}/versions",
            json={"version": version, "released_on": released},
            headers=api.admin,
        )
        assert added.status_code == 201, added.text
        product = added.json()
    return product


async def test_the_registry_lists_versions_and_what_is_supported(desk: Desk, api: Api) -> None:
    product = await _panel(api)
    assert product["supported_versions"] == ["6.2", "6", "5"]
    alice = await desk.person()
    listed = await api.client.get("/v1/products", headers=alice.headers)  # the cabinet's form
    assert listed.status_code == 200
    [panel] = listed.json()["data"]
    states = {v["version"]: (v["supported"], v["supported_until"]) for v in panel["versions"]}
    assert states == {
        "7": (False, None), "6.2": (True, None), "6": (True, "2027-03-30"),
        "5": (True, "2026-11-28"), "4": (False, "2026-07-09"),
    }  # fmt: skip
    one = await api.client.get(f"/v1/products/{product['id']}", headers=alice.headers)
    assert one.json() == panel


async def test_only_admins_write_the_registry(desk: Desk, api: Api) -> None:
    product = await _panel(api)
    alice = await desk.person()
    for headers in (alice.headers, await desk.staff("engineer"), await desk.staff("cr_agent")):
        refused = await api.client.post("/v1/products", json={"name": "X"}, headers=headers)
        assert refused.status_code == 403
        refused = await api.client.post(
            f"/v1/products/{product['id']}/versions",
            json={"version": "8", "released_on": "2027-06-01"},
            headers=headers,
        )
        assert refused.status_code == 403
    anonymous = await api.client.get("/v1/products")
    assert anonymous.status_code == 401


async def test_registry_errors_are_problems(api: Api) -> None:
    product = await _panel(api)
    again = await api.client.post("/v1/products", json={"name": " panel "}, headers=api.admin)
    assert (again.status_code, again.json()["code"]) == (409, "product_exists")
    dup = await api.client.post(
        f"/v1/products/{product['id']}/versions",
        json={"version": "6", "released_on": "2026-06-02"},
        headers=api.admin,
    )
    assert (dup.status_code, dup.json()["code"]) == (409, "version_exists")
    missing = await api.client.get("/v1/products/prd_nope", headers=api.admin)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    bad = await api.client.post(
        f"/v1/products/{product['id']}/versions",
        json={"version": "", "released_on": "not a date"},
        headers=api.admin,
    )
    assert bad.status_code == 422


async def test_an_unsupported_version_is_refused_before_any_charge(desk: Desk, api: Api) -> None:
    await _panel(api)
    alice = await desk.person(credits=2)
    for version in ("4", "7"):
        refused = await desk.submit(alice, "technical", product="panel", version=version)
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert problem["code"] == "unsupported_version"
        assert problem["field"] == "version"
        assert [v["version"] for v in problem["supported_versions"]] == ["6.2", "6", "5"]
        assert problem["supported_versions"][2] == {
            "version": "5", "released_on": "2026-01-10", "supported_until": "2026-11-28",
        }  # fmt: skip
    unknown = await desk.submit(alice, "technical", product="Panel", version="9.9")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_version")
    assert await desk.available(alice.id) == 2
    assert (await api.client.get("/v1/tickets", headers=api.admin)).json()["data"] == []

    ok = await desk.ticket(alice, "technical", product="Panel", version="5")
    assert (ok["version"], ok["charge"]["credits"]) == ("5", 1)


async def test_unknown_products_and_the_free_line_keep_todays_behaviour(
    desk: Desk, api: Api
) -> None:
    await _panel(api)
    bob = await desk.person(credits=1)
    free = await desk.ticket(bob, "customer_relations", product="Panel", version="4")
    assert free["version"] == "4" and free["charge"] is None
    other = await desk.ticket(bob, "technical", product="Streamer", version="0.1")
    assert other["version"] == "0.1" and other["charge"]["credits"] == 1
    no_version = await desk.submit(bob, "technical", product="Panel")
    assert no_version.status_code == 402  # checked, passed, then no credit left


async def test_the_402_answer_lists_the_supported_versions(desk: Desk, api: Api) -> None:
    await _panel(api)
    carol = await desk.person(credits=0)
    response = await desk.submit(carol, "technical", product="Panel", version="6")
    assert response.status_code == 402
    assert [v["version"] for v in response.json()["supported_versions"]] == ["6.2", "6", "5"]


async def test_the_window_is_a_setting_and_applies_to_transfers(desk: Desk, api: Api) -> None:
    await _panel(api)
    api.app.state.settings.version_support_days = 0
    dora = await desk.person(credits=1, auto_accept_transfers=True)
    refused = await desk.submit(dora, "technical", product="Panel", version="5")
    assert refused.json()["code"] == "unsupported_version"
    ticket = await desk.ticket(dora, "customer_relations", product="Panel", version="5")
    moved = await desk.post(
        f"/v1/tickets/{ticket['id']}/transfer",
        await desk.staff("cr_agent"),
        {"to_line": "technical"},
    )
    assert (moved.status_code, moved.json()["code"]) == (422, "unsupported_version")
    assert await desk.available(dora.id) == 1
    assert (await desk.get_ticket(ticket["id"]))["line"] == "customer_relations"


@pytest.mark.parametrize("version", ["", "x" * 51])
async def test_a_malformed_version_is_422(desk: Desk, version: str) -> None:
    erin = await desk.person(credits=1)
    response = await desk.submit(erin, "technical", version=version)
    assert response.status_code == 422
    assert await desk.available(erin.id) == 1
