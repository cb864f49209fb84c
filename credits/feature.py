"""The ledger: packs, lots, journal, balances, spend; its expiry sweep runs periodically."""

from __future__ import annotations

from app.kit.clock import Clock
from app.kit.db import Database
from app.kit.events import EventType
from app.kit.registry import Feature
from app.settings import Settings
from credits import models
from credits.cli import COMMANDS
from credits.endpoints import router
from credits.schemas import EntryRead
from credits.tasks import sweep_expired


async def expire_credits(db: Database, clock: Clock, settings: Settings) -> None:
    """The periodic expiry sweep (also `creditdesk expire`)."""
    await sweep_expired(db, clock.now())


FEATURE = Feature(
    name="credits",
    routers=(router,),
    cli=tuple(COMMANDS),
    jobs=(expire_credits,),
    models=(models,),
    events=((EventType.credits_granted, EntryRead), (EventType.credits_expired, EntryRead)),
)
