"""The SMTP listener (`creditdesk smtp`): direct delivery into the same intake as
`POST /v1/inbound/email`.

A mail is answered `250` only after its transaction committed, so the sending server
keeps it until CreditDesk has it; a database failure answers `451` and the sender retries
later (a redelivery with the same Message-ID is a no-op). The listener runs in the
caller's event loop, where the database engine lives."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.email import service
from app.email.outbox import mail_domain
from app.kit.clock import Clock
from app.kit.db import Database
from app.settings import Settings

logger = logging.getLogger("creditdesk.email.smtp")


class IntakeHandler:
    """aiosmtpd handler: every recipient is accepted (CreditDesk relays nothing; the
    receiving address only chooses the line), and each mail is taken once per envelope."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db, self.clock, self.settings = db, clock, settings

    def _routed_recipient(self, rcpt_tos: list[str]) -> str | None:
        """One envelope, one ticket: the first recipient that has a route, else the first."""
        routed = {a.lower() for a in self.settings.email_routes}
        for address in rcpt_tos:
            if address.lower() in routed:
                return address
        return rcpt_tos[0] if rcpt_tos else None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(envelope.content, bytes) and not raw:
            raw = envelope.content
        recipient = self._routed_recipient(envelope.rcpt_tos)
        try:
            async with self.db.unit_of_work() as db_session:
                result = await service.receive(
                    db_session, raw, settings=self.settings, now=self.clock.now(),
                    recipient=recipient, envelope_sender=envelope.mail_from or "",
                )  # fmt: skip
        except IntegrityError:  # the same mail, delivered twice at once: the other one won
            return "451 4.3.0 Try again shortly"
        except (DBAPIError, OSError):
            logger.warning("database unavailable; mail deferred", exc_info=True)
            return "451 4.3.0 Temporarily unable to accept mail; try again later"
        except Exception:  # a bug must not bounce the mail: the sender keeps it and retries
            logger.exception("mail from %s could not be filed; deferred", envelope.mail_from)
            return "451 4.3.0 Temporarily unable to accept mail; try again later"
        logger.info(
            "mail %s from %s: %s", result.inbound_id, envelope.mail_from, result.outcome.value
        )
        return f"250 2.0.0 Accepted {result.inbound_id}"


def smtp_factory(db: Database, clock: Clock, settings: Settings) -> Any:
    handler = IntakeHandler(db, clock, settings)
    # A little over the message limit, so an oversized mail is read and refused politely
    # by mail; a far larger one is refused by the protocol (552).
    limit = settings.email_max_message_bytes * 2 + 65_536

    def factory() -> SMTP:
        return SMTP(
            handler, data_size_limit=limit, enable_SMTPUTF8=True, decode_data=False,
            hostname=mail_domain(settings), ident="CreditDesk",
        )  # fmt: skip

    return factory


async def start_listener(
    db: Database, clock: Clock, settings: Settings, *, host: str, port: int
) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(smtp_factory(db, clock, settings), host=host, port=port)
