"""Submission: the charge in the same transaction, 402 with the packs, partners, the free
line, validation, the duplicate guard, numbers and Idempotency-Key."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import Api
from tests.desk.conftest import Desk


async def test_technical_submission_charges_one_credit(desk: Desk) -> None:
    alice = await desk.person(credits=2)
    ticket = await desk.ticket(alice, "technical", severity=2, product="Panel")
    assert ticket["id"].startswith("tkt_")
    assert ticket["customer_id"] == alice.id
    assert (ticket["line"], ticket["status"], ticket["severity"], ticket["product"]) == (
        "technical", "open", 2, "Panel",
    )  # fmt: skip
    assert ticket["charge"] == {
        "credits": 1, "reason": "ticket", "refunded": False, "refund_reason": None,
    }  # fmt: skip
    assert await desk.available(alice.id) == 1
    charges = [e for e in await desk.entries(alice.id) if e["kind"] == "charge"]
    assert len(charges) == 1
    assert charges[0]["ticket_id"] == ticket["id"]
    assert charges[0]["credits"] == -1


async def test_free_line_never_charges(desk: Desk) -> None:
    bob = await desk.person(credits=0)
    ticket = await desk.ticket(bob, "customer_relations")
    assert ticket["charge"] is None
    assert ticket["severity"] == 3
    assert await desk.available(bob.id) == 0
    assert [e["kind"] for e in await desk.entries(bob.id)] == []


async def test_no_credit_is_402_with_packs_and_nothing_written(desk: Desk, api: Api) -> None:
    carol = await desk.person(credits=0)
    response = await desk.submit(carol, "technical")
    assert response.status_code == 402
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "insufficient_credits"
    assert [p["code"] for p in problem["packs"]] == ["single", "five", "thirty"]
    assert problem["packs"][1] == {
        "code": "five", "credits": 5, "price": {"amount": 10000, "currency": "EUR"},
        "valid_days": None,
    }  # fmt: skip
    listed = await desk.client.get("/v1/tickets", headers=api.admin)
    assert listed.json()["data"] == []
    assert await desk.entries(carol.id) == []


async def test_partner_gets_a_zero_credit_charge_record(desk: Desk) -> None:
    partner = await desk.person(credits=0, partner=True)
    ticket = await desk.ticket(partner, "technical")
    assert ticket["charge"] == {
        "credits": 0, "reason": "partner", "refunded": False, "refund_reason": None,
    }  # fmt: skip
    assert await desk.entries(partner.id) == []


async def test_numbers_increase_and_are_unique(desk: Desk) -> None:
    dave = await desk.person(credits=5)
    numbers = [(await desk.ticket(dave, line))["number"] for line in ["technical", "customer_relations"] * 3]  # fmt: skip
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 6


@pytest.mark.parametrize(
    "subject",
    ["help", "HELP!!!", "  Help me?  ", "Question", "urgent", "вопрос", "Проблема!", "ПОМОГИТЕ",
     "...", ""],
)  # fmt: skip
async def test_meaningless_subject_is_refused(desk: Desk, subject: str) -> None:
    erin = await desk.person(credits=1)
    response = await desk.submit(erin, "technical", subject=subject or " ")
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "subject_not_specific"
    assert response.json()["field"] == "subject"
    assert await desk.available(erin.id) == 1


async def test_meaningless_subjects_are_configurable(desk: Desk, api: Api) -> None:
    api.app.state.settings.meaningless_subjects = ["plz fix"]
    erin = await desk.person()
    refused = await desk.submit(erin, "customer_relations", subject="Plz, fix!")
    assert refused.json()["code"] == "subject_not_specific"
    unlisted = await desk.submit(erin, "customer_relations", subject="help")  # no content
    assert unlisted.status_code == 422 and unlisted.json()["code"] == "subject_not_specific"
    ok = await desk.submit(erin, "customer_relations", subject="Help with renewal")
    assert ok.status_code == 201


@pytest.mark.parametrize(
    ("subject", "body", "field"),
    [
        ("L", "Some body text", "subject"),
        ("x" * 201, "Some body text", "subject"),
        ("Backup job fails nightly", "   ", "body"),
        ("Backup job fails nightly", "y" * 50_001, "body"),
    ],
)
async def test_length_limits(desk: Desk, subject: str, body: str, field: str) -> None:
    frank = await desk.person(credits=1)
    response = await desk.submit(frank, "technical", subject=subject, body=body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert response.json()["field"] == field
    assert await desk.available(frank.id) == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"line": "technical", "subject": "Backup job fails nightly"},
        {"line": "sales", "subject": "Backup job fails nightly", "body": "b"},
        {"line": "technical", "subject": "Backup job fails", "body": "b", "severity": 5},
        {"line": "technical", "subject": "Backup job fails", "body": "b", "severity": 0},
        {"line": "technical", "subject": "Backup job fails", "body": "b", "colour": "red"},
    ],
)
async def test_malformed_requests_are_422(desk: Desk, payload: dict[str, object]) -> None:
    gina = await desk.person(credits=1)
    response = await desk.client.post("/v1/tickets", json=payload, headers=gina.headers)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_duplicate_within_window_is_409_naming_the_first(desk: Desk, api: Api) -> None:
    hank = await desk.person(credits=3)
    first = await desk.ticket(hank, subject="Mail relay rejects TLS", body="Since 10:00 UTC.")
    api.clock.advance(timedelta(minutes=9))
    again = await desk.submit(hank, subject="  mail relay REJECTS tls ", body="Since  10:00 UTC.")
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate_ticket"
    assert again.json()["ticket_id"] == first["id"]
    assert again.json()["number"] == first["number"]
    assert await desk.available(hank.id) == 2
    # another line does not make it another problem
    other_line = await desk.submit(
        hank, "customer_relations", subject="Mail relay rejects TLS", body="Since 10:00 UTC."
    )
    assert other_line.status_code == 409
    # after the window it is a new ticket; a different body is too
    different = await desk.submit(hank, subject="Mail relay rejects TLS", body="Since 11:00.")
    assert different.status_code == 201
    api.clock.advance(timedelta(minutes=2))
    later = await desk.submit(hank, subject="Mail relay rejects TLS", body="Since 10:00 UTC.")
    assert later.status_code == 201
    assert await desk.available(hank.id) == 0


async def test_duplicate_guard_is_per_customer(desk: Desk) -> None:
    one, two = await desk.person(credits=1), await desk.person(credits=1)
    await desk.ticket(one, subject="Mail relay rejects TLS", body="Same words")
    await desk.ticket(two, subject="Mail relay rejects TLS", body="Same words")


async def test_idempotency_key_replays_without_second_charge(desk: Desk) -> None:
    ivan = await desk.person(credits=3)
    payload = {"line": "technical", "subject": "DNS zone not updating", "body": "Zone x.example"}
    headers = {**ivan.headers, "Idempotency-Key": "submit-1"}
    first = await desk.client.post("/v1/tickets", json=payload, headers=headers)
    second = await desk.client.post("/v1/tickets", json=payload, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert first.json() == second.json()
    assert await desk.available(ivan.id) == 2
    reused = await desk.client.post(
        "/v1/tickets", json={**payload, "body": "other"}, headers=headers
    )
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"


async def test_staff_submit_for_a_customer(desk: Desk) -> None:
    jane = await desk.person(credits=1)
    for role in ("cr_agent", "admin", "integration"):
        response = await desk.submit(
            jane, "customer_relations", headers=await desk.staff(role), customer_id=jane.id
        )
        assert response.status_code == 201, (role, response.text)
        assert response.json()["customer_id"] == jane.id
    missing = await desk.submit(jane, "customer_relations", headers=await desk.staff("cr_agent"))
    assert missing.status_code == 422 and missing.json()["field"] == "customer_id"
    unknown = await desk.submit(
        jane, "customer_relations", headers=api_admin(desk), customer_id="cus_nope"
    )
    assert unknown.status_code == 404
    charged = await desk.submit(jane, "technical", headers=api_admin(desk), customer_id=jane.id)
    assert charged.status_code == 201 and charged.json()["charge"]["credits"] == 1
    assert await desk.available(jane.id) == 0


async def test_customer_cannot_submit_for_someone_else(desk: Desk) -> None:
    kim, lee = await desk.person(credits=1), await desk.person(credits=1)
    response = await desk.submit(kim, "technical", customer_id=lee.id)
    assert response.status_code == 404
    assert await desk.available(lee.id) == 1 and await desk.available(kim.id) == 1
    own = await desk.submit(kim, "technical", customer_id=kim.id)
    assert own.status_code == 201


def api_admin(desk: Desk) -> dict[str, str]:
    return desk.api.admin
