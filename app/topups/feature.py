"""Low-balance alerts, auto top-up and receipt mails: a subscription to the ledger's
balance drops, the top-up and receipt-mail jobs, the settings endpoints."""

from __future__ import annotations

from app.kit.clock import Clock
from app.kit.db import Database
from app.kit.events import EventType
from app.kit.hooks import Subscription
from app.kit.registry import Feature
from app.settings import Settings
from app.topups import models, service
from app.topups.endpoints import router
from app.topups.receipts import mail_credit_notes, mail_receipts
from app.topups.schemas import (
    AutoTopUpFailedEventObject,
    BalanceEventObject,
    LowBalanceEventObject,
)
from app.topups.tasks import run_top_ups
from credits.hooks import BALANCE_DROPPED


async def top_ups(db: Database, clock: Clock, settings: Settings) -> None:
    """Buys the packs that crossings claimed (off-session, after commit)."""
    await run_top_ups(db, settings, clock.now())


async def receipt_mails(db: Database, clock: Clock, settings: Settings) -> None:
    """Queues one mail per new receipt and per new credit note."""
    await mail_receipts(db, settings, clock.now())
    await mail_credit_notes(db, settings, clock.now())


FEATURE = Feature(
    name="topups",
    routers=(router,),
    jobs=(top_ups, receipt_mails),
    models=(models,),
    subscriptions=(
        Subscription(BALANCE_DROPPED, service.on_balance_drop, sql=service.DROP_PREDICATE),
    ),
    lifespan=service.lifespan,
    events=(
        (EventType.balance_low, LowBalanceEventObject),
        (EventType.balance_depleted, BalanceEventObject),
        (EventType.auto_top_up_failed, AutoTopUpFailedEventObject),
    ),
)
