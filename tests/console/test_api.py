"""The console's own API: staff sessions, the queue ordered by the next SLA due time, a
customer's calls left today, and the events staff read for the live refresh."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest

from app.kit.auth import Role
from tests.conftest import Api


async def _post(api: Api, path: str, headers: dict[str, str], body: Any = None) -> Any:
    response = await api.client.post(path, json=body if body is not None else {}, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _sign_in(api: Api, headers: dict[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = await _post(api, "/v1/console-sessions", headers)
    return result


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("role", ["admin", "cr_agent", "engineer"])
async def test_staff_sign_in_gets_a_short_lived_session_with_their_role(
    api: Api, role: str
) -> None:
    signed = await _sign_in(api, await api.key(role))
    assert signed["token"].startswith("cds_") and signed["role"] == role
    assert signed["name"] == f"test {role}"
    assert signed["expires_at"] == "2026-11-02T17:00:00Z"  # 8 h after START
    session = _bearer(signed["token"])
    assert (await api.client.get("/v1/queue", headers=session)).status_code == 200
    current = await api.client.get("/v1/console-sessions/current", headers=session)
    assert current.json()["id"] == signed["id"] and current.json()["role"] == role
    # Only the hash is stored, as for every key.
    keys = (await api.client.get("/v1/api-keys?limit=200", headers=api.admin)).json()["data"]
    stored = next(k for k in keys if k["id"] == signed["id"])
    assert stored["role"] == role and signed["token"] not in str(stored)

    api.clock.advance(timedelta(hours=8))
    expired = await api.client.get("/v1/queue", headers=session)
    assert expired.status_code == 401


@pytest.mark.parametrize(
    ("role", "said"),
    [
        ("customer", "A customer key gets no console session (customers use the cabinet)."),
        ("integration", "An integration key gets no console session."),
        ("finance", "A finance key gets no console session."),
    ],
)
async def test_non_staff_keys_get_no_console(api: Api, role: str, said: str) -> None:
    customer = await api.customer()
    key = await api.key(role, customer["id"] if role == "customer" else None)
    response = await api.client.post("/v1/console-sessions", headers=key)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert response.json()["detail"].startswith("The console is for staff: sign in with")
    assert response.json()["detail"].endswith(said)
    queue = await api.client.get("/v1/queue", headers=key)
    assert queue.status_code == 403


async def test_sign_out_revokes_the_session_and_only_a_session(api: Api) -> None:
    agent = await api.key(Role.cr_agent)
    signed = await _sign_in(api, agent)
    session = _bearer(signed["token"])
    # A session cannot start another (it would extend itself for ever).
    again = await api.client.post("/v1/console-sessions", headers=session)
    assert again.status_code == 403
    # The long-lived key is never revoked by the console's sign-out.
    refused = await api.client.delete("/v1/console-sessions/current", headers=agent)
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    assert (await api.client.get("/v1/console-sessions/current", headers=agent)).status_code == 404
    assert (await api.client.get("/v1/queue", headers=agent)).status_code == 200

    out = await api.client.delete("/v1/console-sessions/current", headers=session)
    assert out.status_code == 204
    assert (await api.client.get("/v1/queue", headers=session)).status_code == 401
    assert (await api.client.get("/v1/queue", headers=agent)).status_code == 200


async def test_revoking_a_staff_key_ends_the_sessions_it_opened(api: Api) -> None:
    """A member of staff whose key is revoked is signed out of every console at once, and
    only their sessions end (issue 28)."""
    agent, other = await api.key(Role.cr_agent), await api.key(Role.engineer)
    first = _bearer((await _sign_in(api, agent))["token"])
    second = _bearer((await _sign_in(api, agent))["token"])
    others = _bearer((await _sign_in(api, other))["token"])
    me = await api.client.get("/v1/console-sessions/current", headers=first)
    keys = (await api.client.get("/v1/api-keys", headers=api.admin)).json()["data"]
    session_ids = {me.json()["id"]}
    staff_id = next(
        k["id"]
        for k in keys
        if k["role"] == "cr_agent"
        and k["id"] not in session_ids
        and not k["prefix"].startswith("cds_")
    )
    revoked = await api.client.delete(f"/v1/api-keys/{staff_id}", headers=api.admin)
    assert revoked.status_code == 200
    for headers in (agent, first, second):
        assert (await api.client.get("/v1/queue", headers=headers)).status_code == 401
    assert (await api.client.get("/v1/queue", headers=others)).status_code == 200


async def test_an_idempotent_replay_does_not_repeat_the_token(api: Api) -> None:
    headers = {**await api.key(Role.engineer), "Idempotency-Key": "sign-in-1"}
    first = await api.client.post("/v1/console-sessions", headers=headers)
    replay = await api.client.post("/v1/console-sessions", headers=headers)
    assert first.json()["token"].startswith("cds_")
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["token"] is None and replay.json()["id"] == first.json()["id"]


async def _ticket(api: Api, customer_id: str, line: str, subject: str, **extra: Any) -> Any:
    body = {"customer_id": customer_id, "line": line, "subject": subject, "body": "Details."}
    return await _post(api, "/v1/tickets", api.admin, {**body, **extra})


async def test_queue_is_ordered_by_the_next_due_time_and_filters(api: Api) -> None:
    acme = await api.customer()
    partner = await api.customer(name="Partner Co", email="p@partner.example", partner=True)
    await api.grant(acme["id"], 5)
    older = await _ticket(api, acme["id"], "customer_relations", "Renew licence for panel")
    api.clock.advance(timedelta(minutes=30))
    newer = await _ticket(api, acme["id"], "technical", "Backups fail after update", severity=2)
    api.clock.advance(timedelta(minutes=10))
    theirs = await _ticket(api, partner["id"], "technical", "Plugin stopped syncing orders")
    done = await _ticket(api, acme["id"], "customer_relations", "Change licence IP address")
    await _post(api, f"/v1/tickets/{done['id']}/status", api.admin, {"status": "resolved"})
    # The older ticket's assignment is met: its next target is the first response, hours
    # away, so the newer ones (assignment due within the hour) come first.
    await _post(api, f"/v1/tickets/{older['id']}/assign", api.admin, {"assignee": "Olga"})

    agent = await api.key(Role.cr_agent)
    page = (await api.client.get("/v1/queue", headers=agent)).json()
    assert [t["id"] for t in page["data"]] == [newer["id"], theirs["id"], older["id"]]
    assert page["total"] == 3 and page["truncated"] is False
    first = page["data"][0]
    assert first["next_due"] == "assignment" and first["next_due_at"] == "2026-11-02T10:30:00Z"
    assert first["customer_name"] == "Acme Hosting" and first["sla"]["breached"] is False
    assert page["data"][2]["next_due"] == "first_response"

    async def ids(query: str) -> list[str]:
        response = await api.client.get(f"/v1/queue?{query}", headers=agent)
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["data"]]

    assert await ids("line=technical") == [newer["id"], theirs["id"]]
    assert await ids("severity=2") == [newer["id"]]
    assert await ids(f"customer_id={acme['id']}") == [newer["id"], older["id"]]
    assert await ids("partner=true") == [theirs["id"]]
    assert await ids("partner=false") == [newer["id"], older["id"]]
    assert await ids(f"partner_id={partner['id']}") == [theirs["id"]]
    assert await ids("assignee=Olga") == [older["id"]]
    assert await ids("unassigned=true") == [newer["id"], theirs["id"]]
    assert await ids("status=resolved") == [done["id"]]
    assert await ids("limit=1") == [newer["id"]]
    bad = await api.client.get("/v1/queue?severity=7", headers=agent)
    assert bad.status_code == 422

    # Two hours on, the unassigned ones are overdue: still first, and marked breached.
    api.clock.advance(timedelta(hours=2))
    late = (await api.client.get("/v1/queue", headers=agent)).json()["data"]
    assert [t["id"] for t in late] == [newer["id"], theirs["id"], older["id"]]
    assert late[0]["sla"]["breached"] is True and late[2]["sla"]["breached"] is False


async def test_call_allowance_counts_today_against_the_limit(api: Api) -> None:
    acme = await api.customer()
    other = await api.customer(name="Other", email="other@example.com")
    agent = await api.key(Role.cr_agent)
    path = f"/v1/customers/{acme['id']}/call-allowance"
    before = (await api.client.get(path, headers=agent)).json()
    assert before == {
        "day": "2026-11-02",
        "calls": 0,
        "limit": 3,
        "remaining": 3,
        "max_minutes": 15,
    }
    call = {"started_at": "2026-11-02T08:30:00Z", "duration_minutes": 10, "topic": "DRM keys",
            "verified": True}  # fmt: skip
    await _post(api, f"/v1/customers/{acme['id']}/calls", agent, call)
    await _post(api, f"/v1/customers/{acme['id']}/calls", agent, call)
    after = (await api.client.get(path, headers=agent)).json()
    assert after["calls"] == 2 and after["remaining"] == 1

    own = await api.key(Role.customer, acme["id"])
    assert (await api.client.get(path, headers=own)).json()["remaining"] == 1
    foreign = await api.client.get(f"/v1/customers/{other['id']}/call-allowance", headers=own)
    assert foreign.status_code == 404
    missing = await api.client.get("/v1/customers/cus_missing/call-allowance", headers=agent)
    assert missing.status_code == 404
    api.clock.advance(timedelta(days=1))
    assert (await api.client.get(path, headers=agent)).json()["remaining"] == 3


@pytest.mark.parametrize("role", ["cr_agent", "engineer"])
async def test_staff_read_events_for_the_live_refresh(api: Api, role: str) -> None:
    acme = await api.customer()
    await _ticket(api, acme["id"], "customer_relations", "Renew licence for panel")
    headers = await api.key(role)
    # On PostgreSQL an event is listed once every older transaction of the cluster has
    # ended (docs/webhooks.md): on a shared server, moments later. Poll with a deadline.
    deadline = time.monotonic() + 30
    while True:
        response = await api.client.get("/v1/events?type=ticket.created", headers=headers)
        assert response.status_code == 200, response.text
        if response.json()["data"] or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert [e["type"] for e in response.json()["data"]] == ["ticket.created"]


async def test_console_files_come_with_a_strict_policy(api: Api) -> None:
    for name, kind in [
        ("", "text/html"), ("app.js", "text/javascript"), ("i18n.js", "text/javascript"),
        ("style.css", "text/css"), ("config.json", "application/json"),
    ]:  # fmt: skip
        response = await api.client.get(f"/console/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith(kind)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert response.headers["referrer-policy"] == "no-referrer"
    config = (await api.client.get("/console/config.json")).json()
    assert config == {"change_hour_credits": 1, "portal_session_minutes": 60}
    assert (await api.client.get("/console/secrets.txt")).status_code == 404
    moved = await api.client.get("/console")
    assert moved.status_code == 308 and moved.headers["location"] == "/console/"
