"""End to end: `creditdesk serve` in its own process, pointed at localstripe in another;
localstripe signs and delivers its webhooks to the running service (twice: two endpoints
are registered), as Stripe would."""

from __future__ import annotations

import re
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy import func, select

from app.kit.clock import Clock
from app.kit.db import Database
from billing.models import PaymentEvent
from credits import service as ledger
from credits.models import JournalTransaction
from tests.billing.conftest import (
    VISA_DECLINED_ON_CHARGE,
    VISA_OK,
    WEBHOOK_SECRET,
    _executable,
    event,
    free_port,
    server_env,
    sign,
    wait_until_up,
)
from tests.billing.test_stripe_purchases import pay
from tests.waiting import DEADLINE, REQUEST_TIMEOUT, until

WEBHOOK_200 = re.compile(
    r'creditdesk_http_requests_total\{method="POST",route="/v1/webhooks/stripe",status="200"\} (\S+)'
)


@pytest.fixture
def server(database_url: str, localstripe: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    admin_key = "cdk_e2e_" + secrets.token_urlsafe(24)
    port = free_port()
    with (tmp_path / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [_executable("creditdesk"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=server_env(database_url, admin_key=admin_key, localstripe=localstripe),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(f"{url}/healthz", process, "creditdesk serve", tmp_path / "server.log")
            yield url, admin_key
        finally:
            process.terminate()
            process.wait(timeout=DEADLINE)


async def webhooks_answered(http: httpx.AsyncClient) -> float:
    found = WEBHOOK_200.search((await http.get("/metrics")).text)
    return float(found.group(1)) if found else 0.0


async def test_buy_pay_and_refund_through_localstripe(
    server: tuple[str, str], localstripe: str, db: Database, stripe_client: stripe.StripeClient
) -> None:
    base, admin_key = server
    admin = {"Authorization": f"Bearer {admin_key}"}
    async with httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT) as http:
        for hook_id in ("creditdesk-a", "creditdesk-b"):
            registered = await http.post(
                f"{localstripe}/_config/webhooks/{hook_id}",
                json={"url": f"{base}/v1/webhooks/stripe", "secret": WEBHOOK_SECRET,
                      "events": ["payment_intent.succeeded", "payment_intent.payment_failed"]},
            )  # fmt: skip
            assert registered.status_code == 200, registered.text
        customer = await http.post(
            "/v1/customers", json={"name": "Acme", "email": "ops@acme.example"}, headers=admin
        )
        customer_id = customer.json()["id"]
        key = await http.post(
            "/v1/api-keys",
            json={"role": "customer", "name": "cabinet", "customer_id": customer_id},
            headers=admin,
        )
        cabinet = {"Authorization": f"Bearer {key.json()['key']}"}

        async def buy(pack: str) -> dict[str, Any]:
            response = await http.post(
                f"/v1/customers/{customer_id}/purchases", json={"pack": pack}, headers=cabinet
            )
            assert response.status_code == 201, response.text
            result: dict[str, Any] = response.json()
            return result

        async def status(purchase_id: str) -> str:
            response = await http.get(f"/v1/purchases/{purchase_id}", headers=cabinet)
            return str(response.json()["status"])

        async def available() -> int:
            response = await http.get(f"/v1/customers/{customer_id}/balance", headers=cabinet)
            return int(response.json()["available"])

        # A card that pays: one event, delivered to both endpoints, one grant.
        bought = await buy("five")
        assert bought["provider"] == "stripe" and bought["client_secret"]
        await pay(stripe_client, bought["payment_intent_id"], VISA_OK)

        async def both_delivered() -> bool:
            return await webhooks_answered(http) >= 2

        await until(both_delivered, "two deliveries of payment_intent.succeeded")
        assert await status(bought["id"]) == "succeeded"
        assert await available() == 5
        async with db.unit_of_work() as session:
            grants = await session.scalar(
                select(func.count()).where(
                    JournalTransaction.kind == "grant",
                    JournalTransaction.purchase_id == bought["id"],
                )
            )
            stored = await session.scalar(select(func.count()).select_from(PaymentEvent))
        assert (grants, stored) == (1, 1)

        # The customer uses two credits; then the payment is refunded through Stripe.
        async with db.unit_of_work() as session:
            await ledger.charge(session, customer_id, now=Clock().now(), credits=2)
        refund = await stripe_client.v1.refunds.create_async(
            params={"payment_intent": bought["payment_intent_id"]}
        )
        charge = (await stripe_client.v1.charges.retrieve_async(str(refund.charge))).to_dict()
        assert charge["amount_refunded"] == 10000
        # localstripe records refunds but sends no `charge.refunded`: deliver Stripe's event
        # for this very charge, signed as Stripe signs, to the running service.
        payload = event("charge.refunded", charge, event_id=f"evt_{refund.id}")
        refunded = await http.post(
            "/v1/webhooks/stripe",
            content=payload.encode(),
            headers={
                "Stripe-Signature": sign(payload, timestamp=int(Clock().now().timestamp())),
                "Content-Type": "application/json",
            },
        )
        assert refunded.json()["outcome"] == "processed", refunded.text
        assert await status(bought["id"]) == "refunded"
        assert await available() == 0  # the 3 unused credits are revoked; 2 stay used

        # A declined card: the failure arrives by webhook too, and nothing is granted.
        declined = await buy("single")
        with pytest.raises(stripe.CardError):
            await pay(stripe_client, declined["payment_intent_id"], VISA_DECLINED_ON_CHARGE)

        async def failure_delivered() -> bool:
            return await webhooks_answered(http) >= 5

        await until(failure_delivered, "two deliveries of payment_intent.payment_failed")
        assert await status(declined["id"]) == "failed"
        assert await available() == 0
