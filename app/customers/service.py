"""Customers, API keys and caller verification."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers.models import Customer
from app.customers.schemas import CustomerCreate, CustomerRead, CustomerUpdate
from app.kit.auth import KEY_PREFIX, ApiKey, Role, generate_secret, hash_secret
from app.kit.errors import Conflict, NotFound, RateLimited, ValidationFailed
from app.kit.events import EventType, record_event
from app.kit.ids import new_id
from billing.hooks import CustomerByExternalRef
from credits import service as ledger

# scrypt parameters: 16 MiB and ~50 ms per check; stored with the hash so they can change.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_code_word(code_word: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        _normalise(code_word), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_code_word(code_word: str, stored: str | None) -> bool:
    """Constant-time comparison; an absent code word still costs one scrypt."""
    if stored is None:
        hash_code_word(code_word)
        return False
    _, n, r, p, salt, expected = stored.split("$")
    digest = hashlib.scrypt(
        _normalise(code_word), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(digest, bytes.fromhex(expected))


def _normalise(code_word: str) -> bytes:
    return " ".join(code_word.split()).casefold().encode()


def to_read(customer: Customer) -> CustomerRead:
    return CustomerRead(
        id=customer.id,
        name=customer.name,
        email=customer.email,
        partner=customer.partner,
        auto_accept_transfers=customer.auto_accept_transfers,
        external_ref=customer.external_ref,
        has_code_word=customer.code_word_hash is not None,
        parent_id=customer.parent_id,
        metadata=dict(customer.metadata_ or {}),
        low_balance_threshold=customer.low_balance_threshold,
        locale=customer.locale,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
    )


async def create_customer(
    session: AsyncSession,
    data: CustomerCreate,
    now: datetime,
    *,
    parent_id: str | None = None,
    visible: Callable[[str], bool] = lambda _: True,
    default_low_balance_threshold: int | None = None,
) -> Customer:
    code_hash = await asyncio.to_thread(hash_code_word, data.code_word) if data.code_word else None
    customer = Customer(
        id=new_id("cus"),
        name=data.name,
        email=str(data.email),
        partner=data.partner,
        auto_accept_transfers=data.auto_accept_transfers,
        external_ref=data.external_ref,
        code_word_hash=code_hash,
        parent_id=parent_id,
        metadata_=data.metadata or None,
        low_balance_threshold=(
            data.low_balance_threshold
            if "low_balance_threshold" in data.model_fields_set
            else default_low_balance_threshold
        ),
        locale=data.locale,
        verify_failures=0,
        created_at=now,
        updated_at=now,
    )
    session.add(customer)
    await _flush_unique(session, customer, visible)
    await ledger.open_wallet(session, customer.id, now)
    record_event(
        session, EventType.customer_created, customer_id=customer.id, obj=to_read(customer),
        now=now,
    )  # fmt: skip
    return customer


async def get_customer(session: AsyncSession, customer_id: str, *, lock: bool = False) -> Customer:
    if lock:
        stmt = select(Customer).where(Customer.id == customer_id).with_for_update()
        customer = (await session.execute(stmt)).scalar_one_or_none()
    else:  # by primary key: the session's identity map first, a cached query otherwise
        customer = await session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("No such customer.")
    return customer


async def update_customer(
    session: AsyncSession,
    customer: Customer,
    data: CustomerUpdate,
    now: datetime,
    *,
    visible: Callable[[str], bool] = lambda _: True,
) -> Customer:
    changes = data.model_dump(exclude_unset=True)
    nullable = ("external_ref", "low_balance_threshold")
    for field in ("name", "partner", "auto_accept_transfers", "locale", *nullable):
        if field in changes:
            if changes[field] is None and field not in nullable:
                raise ValidationFailed(f"`{field}` cannot be null.")
            setattr(customer, field, changes[field])
    if "metadata" in changes:
        customer.metadata_ = changes["metadata"] or None
    if "email" in changes:
        if changes["email"] is None:
            raise ValidationFailed("`email` cannot be null.")
        customer.email = str(changes["email"])
    if "code_word" in changes:
        word = changes["code_word"]
        customer.code_word_hash = await asyncio.to_thread(hash_code_word, word) if word else None
        customer.verify_failures = 0
        customer.verify_locked_until = None
    customer.updated_at = now
    await _flush_unique(session, customer, visible)
    return customer


async def verify_caller(
    session: AsyncSession,
    customer_id: str,
    code_word: str,
    *,
    now: datetime,
    max_attempts: int,
    lockout: timedelta,
) -> bool:
    """Checks a caller's code word; `max_attempts` failures lock the customer for `lockout`.
    The row is locked so that concurrent guesses are all counted."""
    customer = await get_customer(session, customer_id, lock=True)
    if customer.verify_locked_until is not None and now < customer.verify_locked_until:
        retry = int((customer.verify_locked_until - now).total_seconds()) + 1
        raise RateLimited(
            "Too many failed verification attempts for this customer; try again later.",
            retry_after=retry,
        )
    verified = await asyncio.to_thread(check_code_word, code_word, customer.code_word_hash)
    if verified:
        customer.verify_failures = 0
    else:
        customer.verify_failures += 1
        if customer.verify_failures >= max_attempts:
            customer.verify_failures = 0
            customer.verify_locked_until = now + lockout
    await session.flush()
    return verified


async def create_api_key(
    session: AsyncSession,
    *,
    role: Role,
    name: str,
    customer_id: str | None,
    now: datetime,
    secret: str | None = None,
) -> tuple[ApiKey, str]:
    if role is Role.customer and customer_id is None:
        raise ValidationFailed("A customer key needs `customer_id`.")
    if role not in (Role.customer, Role.integration) and customer_id is not None:
        raise ValidationFailed(
            "Only customer keys and (partner-scoped) integration keys name a customer."
        )
    if customer_id is not None:
        await get_customer(session, customer_id)
    secret = secret or generate_secret()
    key = ApiKey(
        id=new_id("key"),
        name=name,
        role=role.value,
        customer_id=customer_id,
        prefix=secret[: len(KEY_PREFIX) + 6],
        secret_hash=hash_secret(secret),
        created_at=now,
    )
    session.add(key)
    await session.flush()
    return key, secret


async def get_api_key(session: AsyncSession, key_id: str) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("No such API key.")
    return key


async def ensure_bootstrap_key(session: AsyncSession, secret: str, now: datetime) -> bool:
    """Registers the bootstrap admin key once; a revoked one stays revoked."""
    exists = await session.execute(
        select(ApiKey.id).where(ApiKey.secret_hash == hash_secret(secret))
    )
    if exists.first() is not None:
        return False
    await create_api_key(
        session, role=Role.admin, name="bootstrap", customer_id=None, now=now, secret=secret
    )
    return True


async def _flush_unique(
    session: AsyncSession,
    customer: Customer,
    visible: Callable[[str], bool] = lambda _: True,
) -> None:
    """Flushes the customer; a taken `external_ref` is 409 `external_ref_taken` naming the
    customer that has it (when `visible` lets the caller see that one)."""
    ref = customer.external_ref
    holder = None
    if ref is not None:
        holder = await session.scalar(
            select(Customer.id).where(Customer.external_ref == ref, Customer.id != customer.id)
        )
    if holder is None:
        try:
            async with session.begin_nested():
                await session.flush()
            return
        except IntegrityError:
            pass  # taken by a concurrent request that committed first
    extra: dict[str, Any] = {"customer_id": holder} if holder and visible(holder) else {}
    raise Conflict(
        f"Another customer already has external_ref {ref!r}.", code="external_ref_taken", **extra
    )


async def answer_external_ref(session: AsyncSession, question: CustomerByExternalRef) -> None:
    """Billing's question (`billing.hooks.FIND_CUSTOMER`): the customer with this
    `external_ref` (unique), if any."""
    found = await session.execute(
        select(Customer.id).where(Customer.external_ref == question.external_ref)
    )
    question.customer_id = found.scalar_one_or_none()


async def revoke_api_key(session: AsyncSession, key: ApiKey, now: datetime) -> None:
    """Revokes a key and every session it opened (console sessions: `parent_key_id`), so
    a member of staff whose key is revoked is signed out everywhere at once. Revoking
    twice changes nothing."""
    key.revoked_at = key.revoked_at or now
    await session.execute(
        update(ApiKey)
        .where(ApiKey.parent_key_id == key.id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await session.flush()
