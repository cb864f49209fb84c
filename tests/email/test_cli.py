"""`creditdesk smtp` as a real process: smtplib delivers to it, it files the ticket and its
own outbox loop mails the auto-reply to a real SMTP relay; SIGTERM stops it cleanly."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from app.customers import service as customers
from app.customers.schemas import CustomerCreate
from app.desk.models import Ticket
from app.kit.db import Database
from tests.conftest import START
from tests.email.conftest import TECH, Relay, mail
from tests.waiting import DEADLINE, REQUEST_TIMEOUT, wait_until

CREDITDESK = Path(sys.executable).with_name("creditdesk")


class Received(Relay):
    """A relay that signals each arrival, so the test waits for an event, not a time."""

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.arrived = threading.Event()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        self.arrived.set()
        return answer


@pytest.fixture
def process(database_url: str, relay_port: int, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CREDITDESK_")},
        "CREDITDESK_DATABASE_URL": database_url,
        "CREDITDESK_EMAIL_ROUTES": json.dumps({TECH: "technical"}),
        "CREDITDESK_EMAIL_FROM_ADDRESS": "support@desk.test",
        "CREDITDESK_EMAIL_SMTP_HOST": "127.0.0.1",
        "CREDITDESK_EMAIL_SMTP_PORT": str(relay_port),
        "CREDITDESK_PERIODIC_INTERVAL_SECONDS": "0.2",
        "CREDITDESK_LOG_JSON": "false",
    }
    log = tmp_path / "smtp.log"
    with log.open("wb") as sink:
        child = subprocess.Popen(
            [str(CREDITDESK), "smtp", "--port", "0"], cwd=tmp_path, env=env,
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield _port(child, log), log
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
        code = child.wait(timeout=DEADLINE)
    assert code == 0, log.read_text()
    assert "stopped" in log.read_text()


def _port(child: subprocess.Popen[bytes], log: Path) -> int:
    def listening() -> str:  # reading the log until it says where it listens
        text = log.read_text()
        if child.poll() is not None:
            pytest.fail(f"creditdesk smtp exited early:\n{text}")
        return text if "listening for mail on" in text else ""

    text = wait_until(listening, "creditdesk smtp to listen")
    return int(text.split("listening for mail on ", 1)[1].split()[0].rsplit(":", 1)[1])


async def test_creditdesk_smtp_files_mail_and_sends_the_auto_reply(
    db: Database, relay_port: int, process: tuple[int, Path]
) -> None:
    port, log = process
    async with db.unit_of_work() as session:
        await customers.create_customer(
            session, CustomerCreate(name="Acme", email="ops@acme.example"), START
        )
    relay = Received(relay_port)
    relay.start()
    try:
        message = mail(to=TECH, subject="Cabinet shows an empty channel list")
        with smtplib.SMTP("127.0.0.1", port, timeout=REQUEST_TIMEOUT) as client:
            refused = client.send_message(message, to_addrs=["support@desk.test"])
        assert refused == {}
        assert relay.arrived.wait(timeout=DEADLINE), log.read_text()
    finally:
        relay.stop()
    async with db.unit_of_work() as session:
        [ticket] = (await session.execute(select(Ticket))).scalars()
    assert ticket.line == "customer_relations"  # the envelope recipient decides
    [reply] = relay.received
    assert reply["Subject"] == f"[#{ticket.number}] Cabinet shows an empty channel list"
    assert reply["In-Reply-To"] == message["Message-ID"]
