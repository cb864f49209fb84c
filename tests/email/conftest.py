"""Helpers for e-mail tests: raw mails, the inbound endpoint, the SMTP listener, and a real
SMTP relay (aiosmtpd) that receives what the outbox sends."""

from __future__ import annotations

import asyncio
import itertools
import smtplib
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from app.email.models import InboundEmail, OutboxEmail
from app.email.smtp import start_listener
from app.kit.auth import Role
from app.settings import Settings
from tests.conftest import Api, free_port
from tests.waiting import REQUEST_TIMEOUT

SUPPORT = "support@desk.test"
TECH = "tech@desk.test"
_counter = itertools.count(1)


@pytest.fixture
def relay_port() -> int:
    return free_port()


@pytest.fixture
def settings(database_url: str, relay_port: int) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        database_url=database_url,
        database_pool_size=20,
        periodic_tasks_enabled=False,
        log_json=False,
        email_routes={TECH: "technical", SUPPORT: "customer_relations"},
        email_from_address=SUPPORT,
        email_follow_url="https://cabinet.desk.test",
        email_smtp_host="127.0.0.1",
        email_smtp_port=relay_port,
        email_smtp_timeout_seconds=5,
        email_max_message_bytes=60_000,
        email_max_attachment_bytes=20_000,
        email_max_attachments=3,
        email_reply_limit=3,
    )


def mail(
    sender: str = "ops@acme.example",
    to: str = SUPPORT,
    subject: str | None = None,
    body: str | None = None,
    **headers: str,
) -> EmailMessage:
    n = next(_counter)
    message = EmailMessage()
    message["From"] = f"Ops <{sender}>"
    message["To"] = to
    message["Subject"] = f"Installer fails on step {n}" if subject is None else subject
    message["Message-ID"] = f"<m{n}.{id(message)}@acme.example>"
    message.set_content(body or f"The installer stops with error E{n} on Debian 12.")
    for name, value in headers.items():  # after set_content, which clears Content-* headers
        message[name.replace("_", "-")] = value
    return message


@dataclass
class Relay:
    """A real SMTP server on `port` that keeps what it receives (off until started)."""

    port: int
    received: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    _controller: Controller | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parsed = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.received.append(parsed)
            self.envelopes.append((envelope.mail_from or "", list(envelope.rcpt_tos)))
        return "250 OK"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def relay(relay_port: int) -> Iterator[Relay]:
    server = Relay(relay_port)
    try:
        yield server
    finally:
        server.stop()


class Mailbox:
    """The API plus ways to deliver mail to CreditDesk and look at what happened."""

    def __init__(self, api: Api, settings: Settings) -> None:
        self.api, self.client, self.settings = api, api.client, settings
        self.integration: dict[str, str] = {}
        self.listener_port = 0

    async def post(self, message: EmailMessage | bytes, **params: str) -> dict[str, Any]:
        if not self.integration:
            self.integration = await self.api.key(Role.integration)
        raw = message if isinstance(message, bytes) else message.as_bytes()
        response = await self.client.post(
            "/v1/inbound/email",
            content=raw,
            params=params,
            headers={**self.integration, "Content-Type": "message/rfc822"},
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def smtp(
        self,
        message: EmailMessage,
        *,
        to: list[str] | None = None,
        sender: str | None = None,
    ) -> None:
        """Delivers with the standard library's smtplib to the running listener (an empty
        `sender` is a bounce's `MAIL FROM:<>`)."""
        recipients = to or [str(message["To"])]
        if sender is None:
            sender = str(message["From"]).split("<")[-1].rstrip(">")

        def send() -> None:
            with smtplib.SMTP("127.0.0.1", self.listener_port, timeout=REQUEST_TIMEOUT) as client:
                client.send_message(message, from_addr=sender, to_addrs=recipients)

        await asyncio.to_thread(send)

    async def outbox(self, **where: Any) -> list[OutboxEmail]:
        async with self.api.db.unit_of_work() as session:
            stmt = select(OutboxEmail).order_by(OutboxEmail.seq)
            for name, value in where.items():
                stmt = stmt.where(getattr(OutboxEmail, name) == value)
            return list((await session.execute(stmt)).scalars())

    async def inbound(self) -> list[InboundEmail]:
        async with self.api.db.unit_of_work() as session:
            stmt = select(InboundEmail).order_by(InboundEmail.seq)
            return list((await session.execute(stmt)).scalars())

    async def customer(
        self, email: str = "ops@acme.example", credits: int = 0, locale: str = "en"
    ) -> str:
        customer = await self.api.customer(email=email, locale=locale)
        if credits:
            await self.api.grant(customer["id"], credits)
        return str(customer["id"])

    async def ticket(self, ticket_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/v1/tickets/{ticket_id}", headers=self.api.admin)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def messages(self, ticket_id: str) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"/v1/tickets/{ticket_id}/messages", headers=self.api.admin
        )
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    async def tickets(self) -> list[dict[str, Any]]:
        response = await self.client.get("/v1/tickets?limit=200", headers=self.api.admin)
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    async def available(self, customer_id: str) -> int:
        response = await self.client.get(
            f"/v1/customers/{customer_id}/balance", headers=self.api.admin
        )
        assert response.status_code == 200, response.text
        return int(response.json()["available"])


@pytest.fixture
async def box(api: Api, settings: Settings) -> Mailbox:
    return Mailbox(api, settings)


@pytest.fixture
async def listener(box: Mailbox, settings: Settings) -> AsyncIterator[Mailbox]:
    """`box` with the SMTP listener running in this event loop on a free port."""
    server = await start_listener(box.api.db, box.api.clock, settings, host="127.0.0.1", port=0)
    box.listener_port = server.sockets[0].getsockname()[1]
    try:
        yield box
    finally:
        server.close()
        await server.wait_closed()
