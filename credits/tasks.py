"""Scheduled ledger work: the expiry sweep (also `creditdesk expire`)."""

from __future__ import annotations

import logging
from datetime import datetime

from app.kit.db import Database
from credits import lots

logger = logging.getLogger("creditdesk.credits")


async def sweep_expired(db: Database, now: datetime) -> int:
    """Writes off lapsed lots, one customer per transaction. Safe to run any number of
    times, concurrently too: each customer's wallet is locked and expiry is idempotent."""
    async with db.unit_of_work() as session:
        customers = await lots.customers_with_lapsed_lots(session, now)
    expired = 0
    for customer_id in customers:
        async with db.unit_of_work() as session:
            expired += await lots.expire_customer(session, customer_id, now)
    if expired:
        logger.info("expired %d credit(s) of %d customer(s)", expired, len(customers))
    return expired
