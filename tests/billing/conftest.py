"""Billing fixtures: a real localstripe process (one per test session), the app pointed at
it, and Stripe-signed webhook payloads built the way Stripe builds them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from app.kit.auth import Role
from app.settings import Settings
from billing.stripe_client import StripeGateway
from tests.conftest import START, Api, free_port
from tests.waiting import DEADLINE, wait_until_serving

WEBHOOK_SECRET = "whsec_creditdesk_tests_0123456789"
STRIPE_KEY = "sk_test_creditdesk_localstripe"
VISA_OK = "4242424242424242"
VISA_DECLINED_ON_CHARGE = "4000000000000341"


def wait_until_up(
    url: str, process: subprocess.Popen[bytes], what: str, log: Path | None = None
) -> None:
    """Waits for a child server to answer 200 at `url` (or to die)."""
    wait_until_serving(process, url, what, log)


def _executable(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"`{name}` is not installed (pip install -e '.[test]')", pytrace=False)
    return found


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`localstripe --port N` as a separate process; its base URL."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("localstripe") / "localstripe.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [_executable("localstripe"), "--port", str(port), "--from-scratch"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/js.stripe.com/v3/", process, "localstripe", log_path)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=DEADLINE)
        log.close()


@pytest.fixture
def settings(database_url: str, localstripe: str) -> Settings:
    """The app with Stripe configured, pointed at localstripe."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        database_url=database_url,
        database_pool_size=20,
        periodic_tasks_enabled=False,
        log_json=False,
        stripe_secret_key=STRIPE_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=localstripe,
    )


@pytest.fixture
async def stripe_client(localstripe: str) -> AsyncIterator[stripe.StripeClient]:
    """The official SDK on localstripe, to play the customer's side (cards, refunds)."""
    gateway = StripeGateway(STRIPE_KEY, api_base=localstripe)
    try:
        yield gateway.client
    finally:
        await gateway.aclose()


def sign(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header, computed as Stripe does (via the SDK's helper), dated
    `timestamp`: by default the tests' clock's start (START), the moment the app under
    test lives at; a server on the wall clock needs the wall clock's."""
    return stripe.WebhookSignature.generate_signature_header(
        payload, secret, timestamp=timestamp or int(START.timestamp())
    )


def event(event_type: str, obj: dict[str, Any], *, event_id: str, created: int = 0) -> str:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "created": created or int(time.time()),
            "api_version": "2024-06-20",
            "livemode": False,
            "data": {"object": obj},
        }
    )


async def deliver(
    client: httpx.AsyncClient, payload: str, *, signature: str | None = None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    headers["Stripe-Signature"] = sign(payload) if signature is None else signature
    return await client.post("/v1/webhooks/stripe", content=payload.encode(), headers=headers)


async def customer_with_key(api: Api, **fields: Any) -> tuple[str, dict[str, str]]:
    customer = await api.customer(**fields)
    return customer["id"], await api.key(Role.customer, customer["id"])


async def balance(api: Api, customer_id: str) -> dict[str, Any]:
    response = await api.client.get(f"/v1/customers/{customer_id}/balance", headers=api.admin)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def server_env(database_url: str, *, admin_key: str, localstripe: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITDESK_")}
    env.update(
        CREDITDESK_DATABASE_URL=database_url,
        CREDITDESK_ENV="test",
        CREDITDESK_BOOTSTRAP_ADMIN_KEY=admin_key,
        CREDITDESK_STRIPE_SECRET_KEY=STRIPE_KEY,
        CREDITDESK_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        CREDITDESK_STRIPE_API_BASE=localstripe,
        CREDITDESK_PERIODIC_TASKS_ENABLED="false",
        CREDITDESK_LOG_JSON="false",
        CREDITDESK_LOG_LEVEL="WARNING",
    )
    return env
