"""A real HTTP receiver for webhook tests: a local server on a free port, in a thread."""

from __future__ import annotations

import asyncio
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.kit.clock import Clock, FrozenClock
from app.settings import Settings
from app.webhooks import delivery
from tests.conftest import Api
from tests.waiting import DEADLINE

# How far a message's timestamp may be from the receiver's time: the `standardwebhooks`
# package's tolerance.
TOLERANCE = timedelta(minutes=5)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    path: str = ""
    at: datetime = field(default_factory=lambda: datetime.now(UTC))  # by the receiver's clock


@dataclass
class Receiver:
    """Records every request; answers the next status of `script`, then `default`."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    default: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)
    clock: Clock = field(default_factory=Clock)  # the receiver's time: the sender's, in tests

    def answer(self, received: Received) -> int:
        with self.lock:
            self.requests.append(received)
            return self.script.pop(0) if self.script else self.default

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Every body, verified as `Webhook.verify` of the `standardwebhooks` package (PyPI)
        verifies it, but at the moment it arrived by the receiver's clock: the package
        compares the timestamp with the wall clock, which a test's clock is not. The
        signature is the package's (`Webhook.sign`), not our code's."""
        hook = Webhook(secret)
        return [_verify(hook, r) for r in self.requests]

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.requests]


def _verify(hook: Webhook, received: Received) -> dict[str, Any]:
    headers = received.headers
    stamp = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    if abs(stamp - received.at) > TOLERANCE:
        raise WebhookVerificationError(f"timestamp {stamp} is too far from {received.at}")
    expected = hook.sign(headers["webhook-id"], stamp, received.body)
    if not any(hmac.compare_digest(expected, s) for s in headers["webhook-signature"].split()):
        raise WebhookVerificationError("No matching signature found")
    body: dict[str, Any] = json.loads(received.body)
    return body


def _serve(receiver: Receiver) -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = receiver.answer(Received(headers, body, self.path, receiver.clock.now()))
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        # The sender opens up to CREDITDESK_WEBHOOK_CONCURRENCY connections at once; the
        # default listen backlog of 5 made a loaded machine reset some (httpx ReadError).
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(clock: FrozenClock) -> Iterator[Receiver]:
    """A receiver living at the tests' clock (the `api` fixture's)."""
    yield from _serve(Receiver(clock=clock))


@pytest.fixture
def second_receiver(clock: FrozenClock) -> Iterator[Receiver]:
    yield from _serve(Receiver(clock=clock))


async def endpoint(
    api: Api, url: str, events: list[str] | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    response = await api.client.post(
        "/v1/webhook-endpoints",
        json={"url": url, "events": events or ["*"]},
        headers=headers or api.admin,
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def deliver(api: Api, settings: Settings | None = None) -> int:
    """One fan-out and sending round, as the server's sender loop runs it."""
    settings = settings or api.app.state.settings
    clock: FrozenClock = api.clock
    await delivery.fan_out(api.db, clock.now(), settings)
    return await delivery.send_due(api.db, clock, settings)


async def list_all(
    api: Api, headers: dict[str, str], *, expected: int | None = None, **params: Any
) -> list[str]:
    """Every event id `GET /v1/events` lists, page by page (limit 7). With `expected`, asks
    again until that many are listed: on PostgreSQL an event is listed once every older
    transaction of the cluster has ended (app.webhooks.service.list_events), and other
    test runs share this server (what is listed by DEADLINE is returned)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        seen: list[str] = []
        cursor = None
        while True:
            query: dict[str, Any] = {"limit": 7, **params, **({"cursor": cursor} if cursor else {})}
            response = await api.client.get("/v1/events", params=query, headers=headers)
            assert response.status_code == 200, response.text
            page = response.json()
            seen += [e["id"] for e in page["data"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        if expected is None or len(seen) >= expected or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.1)
