"""Customer mail notices (docs/notices.md): transfer awaiting consent, refund, ticket
resolved, credits expiring; each once per fact, each also a `notice.*` event."""

from __future__ import annotations

from app.kit.clock import Clock
from app.kit.db import Database
from app.kit.registry import Feature
from app.notices import models, service
from app.notices.endpoints import router
from app.notices.models import NoticeKind
from app.notices.schemas import NoticeRead
from app.settings import Settings


async def ticket_notices(db: Database, clock: Clock, settings: Settings) -> None:
    """Mails the ticket facts (consent awaited, refunded, resolved) not yet told."""
    if settings.notices.enabled:
        await service.notice_ticket_events(db, settings, clock.now())


async def expiry_notices(db: Database, clock: Clock, settings: Settings) -> None:
    """Warns of credits about to expire, once per lot and warning."""
    if settings.notices.enabled:
        await service.warn_expiring_credits(db, settings, clock.now())


FEATURE = Feature(
    name="notices",
    routers=(router,),
    jobs=(ticket_notices, expiry_notices),
    models=(models,),
    events=tuple((kind.event_type, NoticeRead) for kind in NoticeKind),
)
