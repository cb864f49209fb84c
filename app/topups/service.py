"""Low-balance alerts and auto top-up.

`on_balance_drop` subscribes to the ledger's `BALANCE_DROPPED` hook (credits.hooks): it runs inside the debit's
transaction with the customer's wallet locked, so it sees each drop once and in order:
- the balance crossing the customer's `low_balance_threshold` downwards (before > T >= after)
  emits `balance.low` and queues a mail; reaching 0 emits `balance.depleted`;
- crossing the auto top-up threshold claims one `top_ups` row, keyed by the debit's journal
  entry. The payment itself happens later, after commit, in `tasks.run_top_ups`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers.models import Customer
from app.email import outbox
from app.email.models import OutboxKind
from app.kit.errors import AppError, NotFound
from app.kit.events import EventType, record_event
from app.kit.ids import new_id
from app.settings import Settings
from app.topups.models import AutoTopUp, TopUp, TopUpStatus
from app.topups.schemas import AutoTopUpRead, PaymentMethodRead
from credits.hooks import BalanceDrop

MAX_FAILURES = 3
OFFLINE_CARD_OK = "pm_offline_ok"
OFFLINE_CARD_DECLINE = "pm_offline_decline"


class PaymentMethodRequired(AppError):
    status, code = 422, "payment_method_required"


# The rule of which debits concern this feature, written once, in SQL: the handler below
# reads it, and the desk's one-call submission asks the predicate before it debits (it hands
# the submission over to the general path, which publishes BALANCE_DROPPED, when the
# predicate says the debit concerns us). A threshold T is crossed downwards when
# before > T >= after; reaching 0 empties the wallet. Released SQL is frozen: migration 0018
# holds these texts; tests/test_rendered_sql.py checks they still render so. PL/pgSQL, so that
# each connection plans their queries once (a SQL function called from PL/pgSQL is planned
# at every call).
CROSSINGS_V1 = """
CREATE OR REPLACE FUNCTION topups_balance_crossings_v1(
    p_customer_id text, p_before integer, p_after integer,
    OUT low_threshold integer, OUT low boolean, OUT depleted boolean,
    OUT auto_pack text, OUT auto boolean
) LANGUAGE plpgsql STABLE AS $fn$
BEGIN
    SELECT c.low_balance_threshold,
           COALESCE(p_before > c.low_balance_threshold
                    AND c.low_balance_threshold >= p_after, false),
           p_before > 0 AND p_after = 0,
           a.pack,
           COALESCE(a.enabled AND a.pack IS NOT NULL
                    AND p_before > a.threshold AND a.threshold >= p_after, false)
      INTO low_threshold, low, depleted, auto_pack, auto
      FROM customers c
      LEFT JOIN auto_top_ups a ON a.customer_id = c.id
     WHERE c.id = p_customer_id;
END
$fn$;
"""

# The subscription's predicate (credits.hooks.BALANCE_DROPPED): (customer, before, after).
DROP_PREDICATE = "topups_balance_drop_concerns_v1"
CONCERNS_V1 = f"""
CREATE OR REPLACE FUNCTION {DROP_PREDICATE}(
    p_customer_id text, p_before integer, p_after integer
) RETURNS boolean LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    v record;
BEGIN
    SELECT * INTO v FROM topups_balance_crossings_v1(p_customer_id, p_before, p_after);
    RETURN COALESCE(v.low OR v.depleted OR v.auto, false);
END
$fn$;
"""

# What migration 0018 installs (and drops on downgrade), by name.
FUNCTIONS = {"topups_balance_crossings_v1": CROSSINGS_V1, DROP_PREDICATE: CONCERNS_V1}

_CROSSINGS = text(
    "SELECT low_threshold, low, depleted, auto_pack, auto "
    "FROM topups_balance_crossings_v1(:customer_id, :before, :after)"
)


SETTINGS_KEY = "creditdesk.topups.settings"


@asynccontextmanager
async def lifespan(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """Binds the app's settings to its database sessions, for the balance subscriber (whose
    hook payload comes from the ledger, which knows no settings)."""
    sessionmaker = app.state.db.sessionmaker
    sessionmaker.configure(info={**(sessionmaker.kw.get("info") or {}), SETTINGS_KEY: settings})
    yield


@lru_cache(maxsize=1)
def _environment_settings() -> Settings:
    return Settings()


def settings_of(session: AsyncSession) -> Settings:
    """The app's settings; in a `creditdesk` command (no app), the environment's, which are
    the ones the command itself runs with."""
    bound: Settings | None = session.info.get(SETTINGS_KEY)
    return bound if bound is not None else _environment_settings()


async def on_balance_drop(session: AsyncSession, drop: BalanceDrop) -> None:
    """Subscribed to the ledger's `BALANCE_DROPPED` (see the module docstring), with the
    predicate `DROP_PREDICATE`."""
    params = {"customer_id": drop.customer_id, "before": drop.before, "after": drop.after}
    row = (await session.execute(_CROSSINGS, params)).one_or_none()
    if row is None or row.low is None:  # no such customer
        return
    balance = {"customer_id": drop.customer_id, "available": drop.after, "entry_id": drop.entry_id}
    if row.low:
        customer = await session.get(Customer, drop.customer_id)
        assert customer is not None
        settings = settings_of(session)
        record_event(
            session, EventType.balance_low, customer_id=drop.customer_id,
            obj={**balance, "threshold": row.low_threshold}, now=drop.now,
            previous={"available": drop.before},
        )  # fmt: skip
        await outbox.enqueue(
            session, kind=OutboxKind.low_balance, recipient=customer.email,
            subject=f"Your support balance is low: {drop.after} credit(s) left",
            body=_low_balance_body(customer.name, drop.after, row.low_threshold, settings),
            settings=settings, now=drop.now,
        )  # fmt: skip
    if row.depleted:
        record_event(
            session, EventType.balance_depleted, customer_id=drop.customer_id, obj=balance,
            now=drop.now, previous={"available": drop.before},
        )  # fmt: skip
    if row.auto:
        session.add(
            TopUp(
                id=new_id("tup"), customer_id=drop.customer_id, crossing_entry=drop.entry_id,
                pack=row.auto_pack, status=TopUpStatus.pending.value, created_at=drop.now,
                updated_at=drop.now,
            )
        )  # fmt: skip
    if row.low or row.auto:
        await session.flush()


def _low_balance_body(name: str, available: int, threshold: int | None, settings: Settings) -> str:
    link = (
        f"\n\nBuy credits in your cabinet: {settings.cabinet_url}" if settings.cabinet_url else ""
    )
    return (
        f"Hello {name},\n\nyour prepaid support balance has fallen to {available} credit(s) "
        f"(your alert is set at {threshold}). Technical-support tickets need 1 credit each; "
        f"customer-relations requests stay free.{link}\n\nYou can change or turn off this "
        "alert in the cabinet's settings."
    )


# ---------------------------------------------------------------- settings


async def get_config(
    session: AsyncSession, customer_id: str, *, lock: bool = False, now: datetime | None = None
) -> AutoTopUp:
    """The customer's auto top-up row. Without one: a new disabled row, stored when `now`
    is given (a write), a transient one otherwise (a read)."""
    stmt = select(AutoTopUp).where(AutoTopUp.customer_id == customer_id)
    if lock:
        stmt = stmt.with_for_update()
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is not None:
        return found
    if await session.get(Customer, customer_id) is None:
        raise NotFound("No such customer.")
    config = AutoTopUp(customer_id=customer_id, enabled=False, failures=0, updated_at=now)
    if now is not None:
        session.add(config)
        await session.flush()
    return config


def to_read(config: AutoTopUp) -> AutoTopUpRead:
    method = None
    if config.payment_method_id is not None:
        method = PaymentMethodRead(
            brand=config.payment_method_brand or "card", last4=config.payment_method_last4 or ""
        )
    return AutoTopUpRead(
        customer_id=config.customer_id,
        enabled=bool(config.enabled),
        pack=config.pack,
        threshold=config.threshold,
        payment_method=method,
        failures=config.failures or 0,
        disabled_reason=config.disabled_reason,
    )


def save_offline_card(config: AutoTopUp, card: str, now: datetime) -> None:
    declines = card == "decline"
    config.provider = "offline"
    config.payment_method_id = OFFLINE_CARD_DECLINE if declines else OFFLINE_CARD_OK
    config.payment_method_brand = "Test card"
    config.payment_method_last4 = "0002" if declines else "4242"
    config.updated_at = now


def save_stripe_card(config: AutoTopUp, method: dict[str, Any], now: datetime) -> None:
    card = method.get("card") or {}
    config.provider = "stripe"
    config.payment_method_id = str(method["id"])
    config.payment_method_brand = str(card.get("brand") or "card")[:40]
    config.payment_method_last4 = str(card.get("last4") or "")[:4]
    config.updated_at = now


async def record_failure(
    session: AsyncSession, top_up: TopUp, config: AutoTopUp, reason: str, *,
    settings: Settings, now: datetime,
) -> None:  # fmt: skip
    """A declined card: `auto_top_up.failed`, a mail, and after 3 in a row auto top-up off."""
    top_up.status = TopUpStatus.failed.value
    top_up.failure_reason = reason[:500]
    top_up.updated_at = now
    config.failures = (config.failures or 0) + 1
    disabled = config.failures >= MAX_FAILURES
    if disabled:
        config.enabled = False
        config.disabled_reason = f"{MAX_FAILURES} payments in a row were declined"
    config.updated_at = now
    customer = await session.get(Customer, top_up.customer_id)
    assert customer is not None
    record_event(
        session, EventType.auto_top_up_failed, customer_id=top_up.customer_id,
        obj={"id": top_up.id, "customer_id": top_up.customer_id, "pack": top_up.pack,
             "purchase_id": top_up.purchase_id, "reason": top_up.failure_reason,
             "failures": config.failures, "auto_top_up_disabled": disabled},
        now=now,
    )  # fmt: skip
    off = (
        f"\n\nAfter {MAX_FAILURES} declined payments in a row, automatic top-up is now off; "
        "turn it on again in the cabinet once the card works."
        if disabled
        else ""
    )
    await outbox.enqueue(
        session, kind=OutboxKind.auto_top_up_failed, recipient=customer.email,
        subject="Automatic top-up failed: your card was declined",
        body=(f"Hello {customer.name},\n\nwe tried to buy the '{top_up.pack}' credit pack with "
              f"your saved card, and the payment was declined ({top_up.failure_reason}).{off}"),
        settings=settings, now=now,
    )  # fmt: skip
    await session.flush()
