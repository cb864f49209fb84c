"""Webhook URLs whose host is loopback, private or otherwise not public in disguise are
refused when saved (POST and PATCH, 422 problem+json) unless private targets are allowed,
and the disguises are real: saved while allowed, they reach a receiver on 127.0.0.1, and
delivery refuses them once private targets are not allowed (issue 25)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from app.webhooks import delivery
from tests.conftest import Api
from tests.webhooks.conftest import Receiver, deliver, endpoint

# Each host an HTTP client or the resolver turns into an address that is not public.
NOT_PUBLIC = [
    "http://2130706433/x",  # 127.0.0.1 as one decimal number
    "http://0x7f000001/x",  # hexadecimal
    "http://0x7F.1/x",
    "http://127.1/x",  # short dotted form
    "http://0/x",  # 0.0.0.0
    "http://0177.0.0.1/x",  # octal
    "http://①②⑦.0.0.1/x",  # IDNA maps the circled digits to 127.0.0.1
    "http://%31%32%37.0.0.1/x",  # percent-encoded
    "http://127.0.0.1./x",
    "http://[::1]/x",
    "http://[::ffff:127.0.0.1]/x",  # IPv4-mapped
    "http://[2002:7f00:1::]/x",  # 6to4 around 127.0.0.1
    "http://[::]/x",
    "http://[fe80::1%25eth0]/x",  # link-local with a zone
    "http://localhost./x",
    "http://LOCALHOST:8080/x",
    "http://ｌｏｃａｌｈｏｓｔ/x",  # fullwidth
    "http://api.localhost/x",
    "http://10.0.0.8/x",  # private
    "http://192.168.1.1/x",
    "http://169.254.169.254/latest",  # link-local (cloud metadata)
    "http://100.64.0.1/x",  # shared address space
    "http://224.0.0.1/x",  # multicast
    "http://240.0.0.1/x",  # reserved
]

PUBLIC = [
    "https://hooks.example.com/creditdesk",
    "https://example.com./x",
    "http://8.8.8.8:8080/x",
    "https://bücher.example/hooks",
    "http://[2606:4700:4700::1111]/x",
    "http://1.2.3.4.5/x",  # not an address: a name, resolved (and checked) at delivery
]


@contextmanager
def private_targets(api: Api, allowed: bool) -> Iterator[None]:
    """CREDITDESK_WEBHOOK_ALLOW_PRIVATE as `allowed`, for the requests inside."""
    settings = api.app.state.settings
    api.app.state.settings = settings.model_copy(update={"webhook_allow_private": allowed})
    try:
        yield
    finally:
        api.app.state.settings = settings


async def _save(api: Api, url: str, endpoint_id: str | None = None) -> Any:
    if endpoint_id is None:
        body = {"url": url, "events": ["*"]}
        return await api.client.post("/v1/webhook-endpoints", json=body, headers=api.admin)
    path = f"/v1/webhook-endpoints/{endpoint_id}"
    return await api.client.patch(path, json={"url": url}, headers=api.admin)


async def test_hosts_that_are_not_public_are_refused_unless_allowed(api: Api) -> None:
    existing = await endpoint(api, "https://hooks.example.com/before")
    wrong: list[tuple[str, str, int]] = []
    with private_targets(api, allowed=False):
        for url in NOT_PUBLIC:
            for how, target in (("POST", None), ("PATCH", existing["id"])):
                response = await _save(api, url, target)
                problem = response.json()
                if not (
                    response.status_code == 422
                    and response.headers["content-type"].startswith("application/problem+json")
                    and problem.get("field") == "url"
                ):
                    wrong.append((how, url, response.status_code))
    assert wrong == [], "accepted or wrongly refused while private targets are not allowed"
    kept = await api.client.get(f"/v1/webhook-endpoints/{existing['id']}", headers=api.admin)
    assert kept.json()["url"] == "https://hooks.example.com/before"
    listed = await api.client.get("/v1/webhook-endpoints", headers=api.admin)
    assert len(listed.json()["data"]) == 1  # nothing refused was saved
    with private_targets(api, allowed=True):
        for url in NOT_PUBLIC:
            for how, target in (("POST", None), ("PATCH", existing["id"])):
                response = await _save(api, url, target)
                if response.status_code != (201 if how == "POST" else 200):
                    wrong.append((how, url, response.status_code))
    assert wrong == [], "refused although private targets are allowed"


async def test_public_hosts_are_accepted(api: Api) -> None:
    wrong: list[tuple[str, int]] = []
    with private_targets(api, allowed=False):
        for url in PUBLIC:
            response = await _save(api, url)
            if response.status_code != 201 or response.json()["url"] != url:
                wrong.append((url, response.status_code))
    assert wrong == []


async def test_a_host_the_resolver_cannot_encode_is_refused(api: Api) -> None:
    for url in ("http://a..b/x", "http://" + "a" * 64 + ".example/x"):
        response = await _save(api, url)  # private targets allowed (env test)
        assert response.status_code == 422, (url, response.text)
        assert response.json()["field"] == "url"


async def test_the_disguises_reach_loopback_and_delivery_refuses_them(
    api: Api, receiver: Receiver
) -> None:
    """Saved while allowed (on-premise), each disguised form reaches the receiver on
    127.0.0.1; with private targets not allowed, delivery's check (the same classifier)
    refuses every one and nothing is sent."""
    port = receiver.url.rsplit(":", 1)[1].split("/")[0]
    forms = ["2130706433", "0x7f000001", "127.1", "0177.0.0.1", "①②⑦.0.0.1"]
    hooks = {form: await endpoint(api, f"http://{form}:{port}/hooks/{n}") for n, form in
             enumerate(forms)}  # fmt: skip
    await api.customer()
    settings = api.app.state.settings
    refusing = settings.model_copy(update={"webhook_allow_private": False})
    await delivery.fan_out(api.db, api.clock.now(), refusing)
    assert await delivery.send_due(api.db, api.clock.now(), refusing) == len(forms)
    assert receiver.requests == []
    for hook in hooks.values():
        path = f"/v1/webhook-endpoints/{hook['id']}/deliveries"
        [row] = (await api.client.get(path, headers=api.admin)).json()["data"]
        assert "non-public address (127.0.0.1: loopback)" in row["last_error"], row
    api.clock.advance(timedelta(hours=5))  # past any backoff
    assert await delivery.send_due(api.db, api.clock.now(), settings) == len(forms)
    assert sorted(r.path for r in receiver.requests) == [f"/hooks/{n}" for n in range(5)]
    assert {r.headers["host"] for r in receiver.requests} == {f"{f}:{port}" for f in forms[:4]} | {
        f"127.0.0.1:{port}"
    }


async def test_a_stored_host_the_resolver_cannot_encode_fails_its_delivery_alone(
    api: Api, receiver: Receiver
) -> None:
    """An endpoint saved before hosts were checked (`a..b`): `getaddrinfo` raises
    UnicodeError, not OSError, for it; that delivery is refused and the batch goes on."""
    broken = await endpoint(api, "https://hooks.example.com/x")
    await endpoint(api, receiver.url)
    async with api.db.unit_of_work() as session:
        await session.execute(
            text("UPDATE webhook_endpoints SET url = 'http://a..b/x' WHERE id = :id"),
            {"id": broken["id"]},
        )
    await api.customer()
    assert await deliver(api) == 2
    path = f"/v1/webhook-endpoints/{broken['id']}/deliveries"
    [row] = (await api.client.get(path, headers=api.admin)).json()["data"]
    assert row["last_error"].startswith("refused: cannot resolve a..b"), row
    assert [r.path for r in receiver.requests] == ["/hooks"]
