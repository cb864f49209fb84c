"""Retries, the retry window, disabling, manual retry, rolled-back changes and SSRF."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

import pytest

from app.kit.auth import Role
from app.webhooks import delivery
from tests.conftest import Api
from tests.webhooks.conftest import Receiver, deliver, endpoint, list_all


async def _deliveries(api: Api, endpoint_id: str) -> list[dict[str, Any]]:
    response = await api.client.get(
        f"/v1/webhook-endpoints/{endpoint_id}/deliveries", headers=api.admin
    )
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def _closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_500_three_times_then_200_is_delivered_once_more_with_the_same_id(
    api: Api, receiver: Receiver
) -> None:
    receiver.script = [500, 500, 500]
    hook = await endpoint(api, receiver.url, ["customer.created"])
    customer = await api.customer()
    for attempt in range(1, 5):
        assert await deliver(api) == 1
        assert len(receiver.requests) == attempt
        [row] = await _deliveries(api, hook["id"])
        assert row["attempts"] == attempt
        if attempt < 4:
            assert row["status"] == "pending" and row["last_status_code"] == 500
            assert row["last_error"] == "answered HTTP 500"
            assert await deliver(api) == 0  # not due yet: backoff
            api.clock.set(api.clock.now() + timedelta(hours=5))  # past any backoff
    assert row["status"] == "succeeded" and row["last_status_code"] == 200
    assert row["next_attempt_at"] is None and row["delivered_at"] is not None
    assert len(set(receiver.ids())) == 1  # the same webhook-id each time
    bodies = receiver.verified(hook["secret"])
    assert {b["data"]["object"]["id"] for b in bodies} == {customer["id"]}
    assert len({r.body for r in receiver.requests}) == 1  # the same body each time
    api.clock.advance(timedelta(days=3))
    assert await deliver(api) == 0  # delivered: never again


async def test_a_receiver_down_for_the_whole_window_fails_and_is_disabled_alone(
    api: Api, receiver: Receiver
) -> None:
    dead = await endpoint(api, f"http://127.0.0.1:{_closed_port()}/gone")
    alive = await endpoint(api, receiver.url)
    start = api.clock.now()
    first = await api.customer(name="One")
    await deliver(api)
    hours = 0
    while hours < 80:  # the retry window is 72 h (at least 24 h)
        api.clock.advance(timedelta(hours=3))
        hours += 3
        await api.customer(name=f"Later {hours}", email=f"later{hours}@example.com")
        await deliver(api)
    rows = await _deliveries(api, dead["id"])
    oldest = rows[-1]
    assert oldest["status"] == "failed" and oldest["next_attempt_at"] is None
    assert oldest["attempts"] >= 10 and oldest["last_status_code"] is None
    assert "ConnectError" in oldest["last_error"]
    assert oldest["last_attempt_at"] >= (start + timedelta(hours=72)).isoformat().replace(
        "+00:00", "Z"
    )
    state = (await api.client.get(f"/v1/webhook-endpoints/{dead['id']}", headers=api.admin)).json()
    assert state["status"] == "disabled" and "no successful delivery" in state["disabled_reason"]
    # The healthy endpoint got every event, each once.
    ids = receiver.ids()
    # (listed once every older transaction of the shared PostgreSQL cluster has ended)
    listed = await list_all(api, api.admin, expected=len(ids))
    assert len(ids) == len(set(ids)) == len(listed)
    assert {b["data"]["object"]["id"] for b in receiver.verified(alive["secret"])} >= {first["id"]}
    assert all(r["status"] == "succeeded" for r in await _deliveries(api, alive["id"]))
    # Disabled: nothing more is made for it, until an admin re-enables it.
    before = len(await _deliveries(api, dead["id"]))
    await api.customer(name="While disabled", email="while@example.com")
    await deliver(api)
    assert len(await _deliveries(api, dead["id"])) == before
    response = await api.client.patch(
        f"/v1/webhook-endpoints/{dead['id']}", json={"status": "enabled"}, headers=api.admin
    )
    assert response.json()["status"] == "enabled" and response.json()["disabled_reason"] is None
    # A failed delivery can be retried by hand: due now, same event.
    retried = await api.client.post(
        f"/v1/webhook-endpoints/{dead['id']}/deliveries/{oldest['id']}/retry", headers=api.admin
    )
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "pending"
    assert retried.json()["event_id"] == oldest["event_id"]


async def test_a_manual_retry_sends_a_delivered_event_again_with_its_id(
    api: Api, receiver: Receiver
) -> None:
    hook = await endpoint(api, receiver.url)
    await api.customer()
    await deliver(api)
    [row] = await _deliveries(api, hook["id"])
    response = await api.client.post(
        f"/v1/webhook-endpoints/{hook['id']}/deliveries/{row['id']}/retry", headers=api.admin
    )
    assert response.status_code == 200
    await deliver(api)
    assert receiver.ids() == [row["event_id"], row["event_id"]]
    missing = await api.client.post(
        f"/v1/webhook-endpoints/{hook['id']}/deliveries/whd_nope/retry", headers=api.admin
    )
    assert missing.status_code == 404


async def test_a_rolled_back_change_emits_nothing(api: Api, receiver: Receiver) -> None:
    hook = await endpoint(api, receiver.url)
    customer = await api.customer()
    key = await api.key(Role.customer, customer["id"])
    refused = await api.client.post(
        "/v1/tickets",
        json={"line": "technical", "subject": "Mail server down", "body": "Since noon."},
        headers=key,
    )
    assert refused.status_code == 402  # no credit: the ticket and its events rolled back
    listed = await list_all(api, api.admin, expected=1)
    assert len(listed) == 1
    await deliver(api)
    assert [b["type"] for b in receiver.verified(hook["secret"])] == ["customer.created"]
    mine = (await api.client.get("/v1/events", headers=key)).json()["data"]
    assert [e["type"] for e in mine] == ["customer.created"]


async def test_ssrf_private_targets_refused_in_production(api: Api, receiver: Receiver) -> None:
    settings = api.app.state.settings
    production = settings.model_copy(update={"webhook_allow_private": False})
    api.app.state.settings = production
    try:
        for url in (
            "http://127.0.0.1/x", "http://10.0.0.8/x", "http://169.254.169.254/latest",
            "http://[::1]/x", "http://localhost:8000/x", "http://224.0.0.1/x",
            "ftp://example.com/x", "http://user:pw@example.com/x",
        ):  # fmt: skip
            response = await api.client.post(
                "/v1/webhook-endpoints", json={"url": url, "events": ["*"]}, headers=api.admin
            )
            assert response.status_code == 422, (url, response.text)
    finally:
        api.app.state.settings = settings
    # Saved while allowed, a name that resolves to loopback is refused at send time.
    hook = await endpoint(api, receiver.url.replace("127.0.0.1", "localhost"))
    await api.customer()
    await delivery.fan_out(api.db, api.clock.now(), production)
    await delivery.send_due(api.db, api.clock, production)
    [row] = await _deliveries(api, hook["id"])
    assert row["last_error"].startswith("refused:") and receiver.requests == []


async def test_endpoints_are_managed_and_validated(api: Api, receiver: Receiver) -> None:
    hook = await endpoint(api, receiver.url, ["ticket.created"])
    listed = (await api.client.get("/v1/webhook-endpoints", headers=api.admin)).json()
    assert [e["id"] for e in listed["data"]] == [hook["id"]]
    assert "secret" not in listed["data"][0]
    bad = await api.client.post(
        "/v1/webhook-endpoints", json={"url": receiver.url, "events": ["nope"]}, headers=api.admin
    )
    assert bad.status_code == 422
    changed = await api.client.patch(
        f"/v1/webhook-endpoints/{hook['id']}", json={"events": ["*"]}, headers=api.admin
    )
    assert changed.json()["events"] == ["*"]
    finance = await api.key(Role.finance)
    assert (await api.client.get("/v1/webhook-endpoints", headers=finance)).status_code == 403
    gone = await api.client.delete(f"/v1/webhook-endpoints/{hook['id']}", headers=api.admin)
    assert gone.status_code == 204
    again = await api.client.get(f"/v1/webhook-endpoints/{hook['id']}", headers=api.admin)
    assert again.status_code == 404


@pytest.mark.parametrize("attempts", [1, 5, 40])
def test_backoff_grows_with_jitter_and_is_capped(attempts: int, api: Api) -> None:
    settings = api.app.state.settings
    wait = delivery.backoff(attempts, settings).total_seconds()
    base = min(
        settings.webhook_backoff_seconds * 2 ** (attempts - 1), settings.webhook_backoff_max_seconds
    )
    assert 0.8 * base <= wait <= 1.2 * base
