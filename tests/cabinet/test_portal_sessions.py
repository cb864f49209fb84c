"""Portal sessions: short-lived customer credentials that the customer can end itself;
credentials refused in URLs; replays that keep to the documented schema; the cabinet's
security headers; CORS for configured origins only; a customer's purchases."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import jsonschema_rs
import pytest
from sqlalchemy import select

from app.kit.auth import Role
from app.kit.clock import FrozenClock
from app.kit.idempotency import IdempotencyRecord
from app.main import create_app
from app.settings import Settings
from tests.conftest import Api, admin_api


async def _session(api: Api, customer_id: str, headers: dict[str, str]) -> httpx.Response:
    return await api.client.post(f"/v1/customers/{customer_id}/portal-sessions", headers=headers)


async def _minted(api: Api, customer_id: str) -> tuple[str, dict[str, str]]:
    """A new portal session's id and its bearer header."""
    body = (await _session(api, customer_id, api.admin)).json()
    return body["id"], {"Authorization": f"Bearer {body['token']}"}


async def _refused_everywhere(api: Api, customer_id: str, bearer: dict[str, str]) -> None:
    """A read, a write (the one-statement submission on PostgreSQL) and a sign-out: 401."""
    read = await api.client.get(f"/v1/customers/{customer_id}/balance", headers=bearer)
    assert read.status_code == 401, read.text
    assert read.headers["content-type"] == "application/problem+json"
    write = await api.client.post(
        "/v1/tickets",
        json={"line": "customer_relations", "subject": "Renew the licence", "body": "please"},
        headers=bearer,
    )
    assert write.status_code == 401, write.text
    again = await api.client.delete("/v1/portal-sessions/current", headers=bearer)
    assert again.status_code == 401


async def test_portal_session_is_a_short_lived_customer_credential(api: Api) -> None:
    customer = await api.customer()
    other = await api.customer(name="Other", email="other@example.com")
    response = await _session(api, customer["id"], api.admin)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["token"].startswith("cdp_")
    assert body["url"] == f"http://test/cabinet/#token={body['token']}&customer={customer['id']}"
    assert body["expires_at"] == "2026-11-02T10:00:00Z"
    bearer = {"Authorization": f"Bearer {body['token']}"}

    own = await api.client.get(f"/v1/customers/{customer['id']}/balance", headers=bearer)
    assert own.status_code == 200
    foreign = await api.client.get(f"/v1/customers/{other['id']}/balance", headers=bearer)
    assert foreign.status_code == 404
    staff_only = await api.client.get("/v1/customers", headers=bearer)
    assert staff_only.status_code == 403

    # Only the hash is stored.
    keys = (await api.client.get("/v1/api-keys", headers=api.admin)).json()["data"]
    stored = next(k for k in keys if k["id"] == body["id"])
    assert stored["role"] == "customer" and body["token"] not in str(stored)

    api.clock.advance(timedelta(minutes=59))
    assert (await api.client.get("/v1/packs", headers=bearer)).status_code == 200
    api.clock.advance(timedelta(minutes=1))
    expired = await api.client.get(f"/v1/customers/{customer['id']}/balance", headers=bearer)
    assert expired.status_code == 401
    assert expired.json()["code"] == "unauthenticated"
    # An expired session cannot write either (checked before an idempotent replay).
    post = await api.client.post(
        "/v1/tickets",
        json={"line": "customer_relations", "subject": "Renew the licence", "body": "please"},
        headers={**bearer, "Idempotency-Key": "k-1"},
    )
    assert post.status_code == 401


async def test_revoked_portal_session_is_refused(api: Api) -> None:
    customer = await api.customer()
    body = (await _session(api, customer["id"], api.admin)).json()
    revoked = await api.client.delete(f"/v1/api-keys/{body['id']}", headers=api.admin)
    assert revoked.status_code == 200
    bearer = {"Authorization": f"Bearer {body['token']}"}
    response = await api.client.get(f"/v1/customers/{customer['id']}", headers=bearer)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("role", "status"),
    [("cr_agent", 201), ("integration", 201), ("engineer", 403), ("finance", 403)],
)
async def test_who_may_mint_portal_sessions(api: Api, role: str, status: int) -> None:
    customer = await api.customer()
    response = await _session(api, customer["id"], await api.key(role))
    assert response.status_code == status
    customer_key = await api.key(Role.customer, customer["id"])
    assert (await _session(api, customer["id"], customer_key)).status_code == 403
    missing = await _session(api, "cus_missing", api.admin)
    assert missing.status_code == 404


@pytest.fixture
async def cors_api(settings: Settings, clock: FrozenClock) -> AsyncIterator[Api]:
    app = create_app(
        settings.model_copy(update={"cors_origins": ["https://shop.example"]}), clock=clock
    )
    async with admin_api(app, clock) as api:
        yield api


async def test_cors_for_configured_origins_only(cors_api: Api) -> None:
    api = cors_api
    customer = await api.customer()
    token = (await _session(api, customer["id"], api.admin)).json()["token"]
    preflight = await api.client.options(
        "/v1/tickets",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://shop.example"
    assert "access-control-allow-credentials" not in preflight.headers
    actual = await api.client.get(
        f"/v1/customers/{customer['id']}/balance",
        headers={"Origin": "https://shop.example", "Authorization": f"Bearer {token}"},
    )
    assert actual.headers["access-control-allow-origin"] == "https://shop.example"

    evil = await api.client.options(
        "/v1/tickets",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert evil.status_code == 400
    assert "access-control-allow-origin" not in evil.headers
    plain = await api.client.get(
        f"/v1/customers/{customer['id']}/balance",
        headers={"Origin": "https://evil.example", "Authorization": f"Bearer {token}"},
    )
    assert "access-control-allow-origin" not in plain.headers


async def test_no_cors_headers_without_the_setting(api: Api) -> None:
    response = await api.client.get("/healthz", headers={"Origin": "https://shop.example"})
    assert "access-control-allow-origin" not in response.headers


async def test_purchases_newest_first_paged_and_private(api: Api) -> None:
    customer = await api.customer()
    other = await api.customer(name="Other", email="other@example.com")
    own_key = await api.key(Role.customer, customer["id"])
    made = []
    for pack in ("single", "five", "thirty"):
        api.clock.advance(timedelta(minutes=1))
        response = await api.client.post(
            f"/v1/customers/{customer['id']}/purchases", json={"pack": pack}, headers=own_key
        )
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
    first = await api.client.get(
        f"/v1/customers/{customer['id']}/purchases?limit=2", headers=own_key
    )
    assert first.status_code == 200
    page = first.json()
    assert [p["id"] for p in page["data"]] == made[::-1][:2]
    rest = await api.client.get(
        f"/v1/customers/{customer['id']}/purchases",
        params={"limit": 2, "cursor": page["next_cursor"]},
        headers=own_key,
    )
    assert [p["id"] for p in rest.json()["data"]] == [made[0]]
    assert rest.json()["next_cursor"] is None

    foreign = await api.client.get(f"/v1/customers/{other['id']}/purchases", headers=own_key)
    assert foreign.status_code == 404
    staff = await api.client.get(
        f"/v1/customers/{customer['id']}/purchases", headers=await api.key(Role.cr_agent)
    )
    assert len(staff.json()["data"]) == 3
    bad = await api.client.get(
        f"/v1/customers/{customer['id']}/purchases?cursor=nonsense", headers=own_key
    )
    assert bad.status_code == 422
    missing = await api.client.get("/v1/customers/cus_nope/purchases", headers=api.admin)
    assert missing.status_code == 404


async def test_a_portal_session_signs_itself_out(api: Api) -> None:
    customer = await api.customer()
    session_id, bearer = await _minted(api, customer["id"])
    _, sibling = await _minted(api, customer["id"])
    assert (await api.client.get("/v1/packs", headers=bearer)).status_code == 200

    out = await api.client.delete("/v1/portal-sessions/current", headers=bearer)
    assert out.status_code == 204, out.text
    assert out.content == b""
    await _refused_everywhere(api, customer["id"], bearer)
    keys = (await api.client.get("/v1/api-keys", headers=api.admin)).json()["data"]
    assert next(k for k in keys if k["id"] == session_id)["revoked_at"] == "2026-11-02T09:00:00Z"
    # Only that session ended: another one of the same customer still works.
    still = await api.client.get(f"/v1/customers/{customer['id']}", headers=sibling)
    assert still.status_code == 200

    # A long-lived key is no portal session: it cannot end itself here.
    own_key = await api.key(Role.customer, customer["id"])
    for key in (own_key, api.admin):
        refused = await api.client.delete("/v1/portal-sessions/current", headers=key)
        assert refused.status_code == 404, refused.text
    assert (await api.client.get(f"/v1/customers/{customer['id']}", headers=own_key)).is_success
    missing = await api.client.delete("/v1/portal-sessions/current")
    assert missing.status_code == 401


async def test_a_customer_ends_its_own_portal_sessions_and_nobody_elses(api: Api) -> None:
    customer = await api.customer()
    other = await api.customer(name="Other", email="other@example.com")
    mine_id, mine = await _minted(api, customer["id"])
    spare_id, spare = await _minted(api, customer["id"])
    foreign_id, foreign = await _minted(api, other["id"])
    own_key = await api.key(Role.customer, customer["id"])

    # Another customer's session, and keys that are not portal sessions: 404, nothing ends.
    for session_id in (foreign_id, "key_missing"):
        for caller in (mine, own_key):
            answer = await api.client.delete(f"/v1/portal-sessions/{session_id}", headers=caller)
            assert answer.status_code == 404, answer.text
            assert answer.json()["code"] == "not_found"
    keys = (await api.client.get("/v1/api-keys", headers=api.admin)).json()["data"]
    long_lived = next(
        k["id"] for k in keys if k["role"] == "customer" and k["prefix"][:4] == "cdk_"
    )
    answer = await api.client.delete(f"/v1/portal-sessions/{long_lived}", headers=own_key)
    assert answer.status_code == 404
    assert (await api.client.get(f"/v1/customers/{other['id']}", headers=foreign)).is_success
    assert (await api.client.get(f"/v1/customers/{customer['id']}", headers=own_key)).is_success

    # Its own: with a session (another one, or itself) or with its long-lived key.
    ended = await api.client.delete(f"/v1/portal-sessions/{spare_id}", headers=mine)
    assert ended.status_code == 204
    await _refused_everywhere(api, customer["id"], spare)
    twice = await api.client.delete(f"/v1/portal-sessions/{spare_id}", headers=own_key)
    assert twice.status_code == 204
    itself = await api.client.delete(f"/v1/portal-sessions/{mine_id}", headers=own_key)
    assert itself.status_code == 204
    await _refused_everywhere(api, customer["id"], mine)

    # Staff who mint sessions end any; other staff may not.
    engineer = await api.client.delete(
        f"/v1/portal-sessions/{foreign_id}", headers=await api.key(Role.engineer)
    )
    assert engineer.status_code == 403
    agent = await api.client.delete(
        f"/v1/portal-sessions/{foreign_id}", headers=await api.key(Role.cr_agent)
    )
    assert agent.status_code == 204
    await _refused_everywhere(api, other["id"], foreign)


@pytest.mark.parametrize(
    "query",
    [
        "access_token={token}",
        "token={token}",
        "api_key={token}",
        "Authorization=Bearer%20{token}",
        "limit=5&key={token}",
        "q={token}",  # any parameter holding something shaped like a token
    ],
)
async def test_credentials_in_the_url_are_refused(api: Api, query: str) -> None:
    customer = await api.customer()
    body = (await _session(api, customer["id"], api.admin)).json()
    token = body["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    target = f"/v1/customers/{customer['id']}/balance?{query.format(token=token)}"
    for headers in (bearer, {}):  # with a good header too: the URL alone decides
        refused = await api.client.get(target, headers=headers)
        assert refused.status_code == 401, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["www-authenticate"] == "Bearer"
        problem = refused.json()
        assert problem["code"] == "unauthenticated"
        assert "Authorization: Bearer" in problem["detail"] and "URL" in problem["detail"]
    # A write too, before any route or the one-statement submission: nothing is created.
    write = await api.client.post(
        f"/v1/tickets?{query.format(token=token)}",
        json={"line": "customer_relations", "subject": "Renew the licence", "body": "please"},
        headers=bearer,
    )
    assert write.status_code == 401
    assert (await api.client.get("/v1/tickets", headers=bearer)).json()["data"] == []
    page = await api.client.get(f"/cabinet/?{query.format(token=token)}")
    assert page.status_code == 401
    # The header alone, with ordinary parameters, works.
    fine = await api.client.get(f"/v1/customers/{customer['id']}/entries?limit=5", headers=bearer)
    assert fine.status_code == 200


def _schema(api: Api, name: str) -> jsonschema_rs.Validator:
    components = api.app.openapi()["components"]
    return jsonschema_rs.validator_for(
        {"$ref": f"#/components/schemas/{name}", "components": components}
    )


async def test_replayed_creations_keep_to_their_schema_and_store_no_secret(api: Api) -> None:
    """A portal session's and an API key's secrets are shown once: a replay answers them
    as null, which their documented schemas allow; they are stored nowhere."""
    customer = await api.customer()
    cases = [
        (f"/v1/customers/{customer['id']}/portal-sessions", None, "PortalSessionCreated",
         ("token", "url")),
        ("/v1/api-keys", {"role": "finance", "name": "books"}, "ApiKeyCreated", ("key",)),
    ]  # fmt: skip
    for path, body, schema, secrets in cases:
        headers = {**api.admin, "Idempotency-Key": f"replay-{schema}"}
        first = await api.client.post(path, json=body, headers=headers)
        assert first.status_code == 201, first.text
        again = await api.client.post(path, json=body, headers=headers)
        assert again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == {**first.json(), **dict.fromkeys(secrets)}
        validator = _schema(api, schema)
        for answer in (first, again):
            errors = [str(e) for e in validator.iter_errors(answer.json())]
            assert errors == [], (schema, errors)
        async with api.db.unit_of_work() as session:
            stored = list((await session.scalars(select(IdempotencyRecord.response_body))).all())
        for name in secrets:
            assert all(first.json()[name] not in (text or "") for text in stored)
    # The one answer that showed the key was enough: it works.
    key = {"Authorization": f"Bearer {first.json()['key']}"}
    assert (await api.client.get("/v1/customers", headers=key)).status_code == 200


def _directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("publishable_key", [None, "pk_test_cabinet"])
async def test_the_cabinet_pages_carry_a_strict_content_security_policy(
    settings: Settings, clock: FrozenClock, publishable_key: str | None
) -> None:
    app = create_app(
        settings.model_copy(update={"stripe_publishable_key": publishable_key}), clock=clock
    )
    stripe = publishable_key is not None
    async with admin_api(app, clock) as api:
        for path in ("/cabinet/", "/cabinet/index.html", "/cabinet/app.js", "/cabinet/config.json"):
            response = await api.client.get(path)
            assert response.status_code == 200, path
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert response.headers["x-frame-options"] == "DENY"
            policy = _directives(response.headers["content-security-policy"])
            assert policy["default-src"] == ["'none'"]
            assert policy["script-src"] == ["'self'"] + ["https://js.stripe.com"] * stripe
            assert policy["style-src"] == ["'self'"]
            assert policy["img-src"] == ["'self'"]
            assert policy["connect-src"] == ["'self'"] + ["https://api.stripe.com"] * stripe
            assert policy["frame-src"] == (
                ["https://js.stripe.com", "https://hooks.stripe.com"] if stripe else ["'none'"]
            )
            assert policy["frame-ancestors"] == ["'none'"]
            assert policy["base-uri"] == ["'none'"] and policy["form-action"] == ["'none'"]
        redirect = await api.client.get("/cabinet")
        assert redirect.status_code == 308
        assert "frame-ancestors 'none'" in redirect.headers["content-security-policy"]
        page = (await api.client.get("/cabinet/")).text
    # Nothing inline for the policy to forbid: scripts are files, no handlers, no styles,
    # no data: URLs.
    assert re.findall(r"<script\b[^>]*>", page) == ['<script src="app.js">']
    assert not re.search(r"\son[a-z]+=|\sstyle=|data:|<style", page)
