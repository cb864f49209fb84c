"""Every ORM model, imported once so that Alembic and the drift test see the whole schema."""

import app.desk.models
import app.desk.sla.models
import app.email.models
import app.webhooks.models  # noqa: F401
import billing.models  # noqa: F401
from app.customers.models import Customer
from app.kit.auth import ApiKey
from app.kit.db import Base
from app.kit.events import Event
from app.kit.idempotency import IdempotencyRecord
from credits.models import JournalLine, JournalTransaction, Lot, SpendRecord, Wallet

__all__ = [
    "ApiKey",
    "Base",
    "Customer",
    "Event",
    "IdempotencyRecord",
    "JournalLine",
    "JournalTransaction",
    "Lot",
    "SpendRecord",
    "Wallet",
]
