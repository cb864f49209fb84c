"""Partner-scoped integration keys: end customers under the partner, nothing else seen,
only their events received."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.kit.auth import Role
from tests.conftest import Api
from tests.webhooks.conftest import Receiver, deliver, endpoint, list_all


async def _partner(api: Api, name: str) -> tuple[str, dict[str, str]]:
    partner = await api.customer(name=name, email=f"{name.lower()}@partners.example", partner=True)
    response = await api.client.post(
        "/v1/api-keys",
        json={"role": "integration", "name": f"{name} CRM", "customer_id": partner["id"]},
        headers=api.admin,
    )
    assert response.status_code == 201, response.text
    assert response.json()["customer_id"] == partner["id"]
    return partner["id"], {"Authorization": f"Bearer {response.json()['key']}"}


async def _end_customer(api: Api, key: dict[str, str], ref: str) -> dict[str, Any]:
    response = await api.client.post(
        "/v1/customers",
        json={"name": f"End {ref}", "email": f"{ref}@end.example", "external_ref": ref,
              "metadata": {"ref": ref}},
        headers=key,
    )  # fmt: skip
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_scoped_key_sees_and_receives_only_its_partner_tree(
    api: Api, receiver: Receiver, second_receiver: Receiver
) -> None:
    a_id, a_key = await _partner(api, "Alpha")
    b_id, b_key = await _partner(api, "Beta")
    api.clock.advance(timedelta(seconds=1))  # an endpoint hears what happens from its creation
    a_hook = await endpoint(api, receiver.url, headers=a_key)
    b_hook = await endpoint(api, second_receiver.url, headers=b_key)
    assert a_hook["customer_id"] == a_id

    a1 = await _end_customer(api, a_key, "a-1")
    b1 = await _end_customer(api, b_key, "b-1")
    assert a1["parent_id"] == a_id and b1["parent_id"] == b_id
    assert a1["metadata"] == {"ref": "a-1"}
    ticket = await api.client.post(
        "/v1/tickets",
        json={"customer_id": a1["id"], "line": "customer_relations",
              "subject": "Change billing contact", "body": "Please."},
        headers=a_key,
    )  # fmt: skip
    assert ticket.status_code == 201, ticket.text
    foreign = await api.client.post(
        "/v1/tickets",
        json={"customer_id": b1["id"], "line": "customer_relations",
              "subject": "Change billing contact", "body": "Please."},
        headers=a_key,
    )  # fmt: skip
    assert foreign.status_code == 404
    outsider = await api.customer(name="Direct", email="direct@example.com")
    await deliver(api)

    a_events = receiver.verified(a_hook["secret"])
    b_events = second_receiver.verified(b_hook["secret"])
    assert {e["customer_id"] for e in a_events} == {a1["id"]}
    assert {e["customer_id"] for e in b_events} == {b1["id"]}
    assert {e["type"] for e in a_events} == {"customer.created", "ticket.created"}

    # The API: 404 for anything outside the tree, on every kind of resource.
    for path in (
        f"/v1/customers/{b1['id']}", f"/v1/customers/{outsider['id']}",
        f"/v1/customers/{b_id}/balance", f"/v1/customers/{b1['id']}/entries",
        f"/v1/webhook-endpoints/{b_hook['id']}", f"/v1/events?customer_id={b1['id']}",
        f"/v1/tickets?customer_id={b1['id']}",
    ):  # fmt: skip
        response = await api.client.get(path, headers=a_key)
        assert response.status_code == 404, (path, response.text)
    for path in (f"/v1/customers/{a1['id']}", f"/v1/customers/{a_id}/balance"):
        assert (await api.client.get(path, headers=a_key)).status_code == 200, path
    listed = (await api.client.get("/v1/customers", headers=a_key)).json()["data"]
    assert {c["id"] for c in listed} == {a_id, a1["id"]}
    tickets = (await api.client.get("/v1/tickets", headers=a_key)).json()["data"]
    assert [t["id"] for t in tickets] == [ticket.json()["id"]]
    by_number = await api.client.get(
        "/v1/tickets", params={"number": ticket.json()["number"]}, headers=b_key
    )
    assert by_number.json()["data"] == []
    hooks = (await api.client.get("/v1/webhook-endpoints", headers=a_key)).json()["data"]
    assert [h["id"] for h in hooks] == [a_hook["id"]]
    a_listed = await list_all(api, a_key, expected=len(a_events) + 1)
    assert set(a_listed) > {e["id"] for e in a_events}  # and the partner's own creation
    assert len(a_listed) == len(a_events) + 1
    assert (await api.client.get("/v1/events", headers=api.admin)).json()["data"]

    # external_ref: 409 naming the holder when it is the caller's own, not another's.
    again = await api.client.post(
        "/v1/customers", json={"name": "Dup", "email": "d@end.example", "external_ref": "a-1"},
        headers=a_key,
    )  # fmt: skip
    assert again.status_code == 409 and again.json()["code"] == "external_ref_taken"
    assert again.json()["customer_id"] == a1["id"]
    stolen = await api.client.post(
        "/v1/customers", json={"name": "Dup", "email": "d@end.example", "external_ref": "b-1"},
        headers=a_key,
    )  # fmt: skip
    assert stolen.status_code == 409 and "customer_id" not in stolen.json()
    by_ref = await api.client.get("/v1/customers", params={"external_ref": "b-1"}, headers=a_key)
    assert by_ref.json()["data"] == []


async def test_unscoped_integration_keys_keep_their_reach(api: Api) -> None:
    key = await api.key(Role.integration)
    customer = await api.customer()
    assert (await api.client.get(f"/v1/customers/{customer['id']}", headers=key)).status_code == 200
    created = await api.client.post(
        "/v1/customers", json={"name": "X", "email": "x@example.com"}, headers=key
    )
    assert created.status_code == 403  # as before: only a partner's key creates customers
    assert len((await api.client.get("/v1/customers", headers=key)).json()["data"]) == 1
