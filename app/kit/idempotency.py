"""`Idempotency-Key`: the key, a hash of the request and the response, stored in the same
transaction as the effect. A retry replays; a concurrent duplicate waits for the first one
(Postgres blocks on the key's unique index) and replays its answer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, Text, delete, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, make_transient_to_detached, mapped_column
from sqlalchemy.orm.attributes import set_committed_value
from starlette.responses import Response

from app.kit.db import Base
from app.kit.errors import AppError, Conflict, ValidationFailed
from app.kit.types import UTCDateTime

MAX_KEY_LENGTH = 255
IN_FLIGHT_WAIT = "10s"  # how long a duplicate waits for the first request to finish


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    media_type: Mapped[str | None] = mapped_column(String(100))
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


def validate_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed(f"Idempotency-Key must be 1–{MAX_KEY_LENGTH} printable characters.")
    return key


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """Equal for the same JSON whatever its whitespace or key order."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def replay(record: IdempotencyRecord) -> Response:
    return Response(
        content=record.response_body or "",
        status_code=record.status_code or 200,
        media_type=record.media_type,
        headers={"Idempotent-Replayed": "true"},
    )


class IdempotencyKeyReused(AppError):
    """The Idempotency-Key was used before with another request (method, path or body)."""

    status, code = 422, "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was already used with a different request.")


class IdempotencyInProgress(Conflict):
    """The one place `idempotency_in_progress` is made: the key's first request has not
    finished (or has just rolled back); retrying later gets its answer or runs it anew."""

    code = "idempotency_in_progress"

    def __init__(self) -> None:
        super().__init__(
            "A request with this Idempotency-Key is still being processed; retry later."
        )


async def claim(
    session: AsyncSession,
    *,
    scope: str,
    key: str,
    fingerprint: str,
    now: datetime,
    retention: timedelta,
) -> IdempotencyRecord | Response:
    """Reserve `key` for this request, or return the stored response to replay.

    The key is taken with one `INSERT … ON CONFLICT DO NOTHING`; a concurrent duplicate
    blocks on the key's unique index until the first request commits or rolls back
    (bounded by `IN_FLIGHT_WAIT`)."""
    return await _claim_postgres(
        session, scope=scope, key=key, fingerprint=fingerprint, now=now, retention=retention
    )


# The claim and the store, in SQL: one text each, run by `claim`/`remember` here and by the
# desk's one-call submission (`desk_submit_ticket_v3`). The claim waits `IN_FLIGHT_WAIT` at
# most for a duplicate in flight (`lock_timeout`, then restored), and says whether it took
# the key. Released SQL is frozen: migration 0018 holds these texts as rendered here, and
# tests/test_rendered_sql.py checks that they still render so.
CLAIM_V1 = f"""
CREATE OR REPLACE FUNCTION kit_idempotency_claim_v1(
    p_scope text, p_key text, p_request_hash text, p_now timestamptz
) RETURNS boolean LANGUAGE plpgsql AS $fn$
DECLARE
    v_saved_lock_timeout text := current_setting('lock_timeout');
    v_claimed boolean;
BEGIN
    PERFORM set_config('lock_timeout', '{IN_FLIGHT_WAIT}', true);
    INSERT INTO {IdempotencyRecord.__tablename__} (scope, key, request_hash, created_at)
    VALUES (p_scope, p_key, p_request_hash, p_now)
    ON CONFLICT (scope, key) DO NOTHING;
    v_claimed := FOUND;
    PERFORM set_config('lock_timeout', v_saved_lock_timeout, true);
    RETURN v_claimed;
END
$fn$;
"""

STORE_V1 = f"""
CREATE OR REPLACE FUNCTION kit_idempotency_store_v1(
    p_scope text, p_key text, p_status_code integer, p_media_type text, p_body text
) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE {IdempotencyRecord.__tablename__}
       SET status_code = p_status_code, media_type = p_media_type, response_body = p_body
     WHERE scope = p_scope AND key = p_key;
END
$fn$;
"""

# What migration 0018 installs (and drops on downgrade), by name.
FUNCTIONS = {"kit_idempotency_claim_v1": CLAIM_V1, "kit_idempotency_store_v1": STORE_V1}

_CLAIM = text("SELECT kit_idempotency_claim_v1(:scope, :key, :request_hash, :created_at)")
_STORE = text("SELECT kit_idempotency_store_v1(:scope, :key, :status_code, :media_type, :body)")


async def _claim_postgres(
    session: AsyncSession,
    *,
    scope: str,
    key: str,
    fingerprint: str,
    now: datetime,
    retention: timedelta,
) -> IdempotencyRecord | Response:
    params = {"scope": scope, "key": key, "request_hash": fingerprint, "created_at": now}
    for _ in range(2):
        try:
            claimed = bool((await session.execute(_CLAIM, params)).scalar_one())
        except DBAPIError as exc:
            if _is_lock_timeout(exc):
                raise IdempotencyInProgress() from exc
            raise
        if claimed:
            record = IdempotencyRecord(
                scope=scope, key=key, request_hash=fingerprint, status_code=None,
                media_type=None, response_body=None, created_at=now,
            )  # fmt: skip
            make_transient_to_detached(record)  # the row exists: track it without a query
            session.add(record)
            return record
        found = await _load(session, scope, key)
        if found is None:  # purged meanwhile: the key is free again
            continue
        if found.created_at < now - retention:
            await session.delete(found)
            await session.flush()
            continue
        return _answer(found, fingerprint)
    raise IdempotencyInProgress()


def _answer(found: IdempotencyRecord, fingerprint: str) -> Response:
    if found.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    if found.status_code is None:
        raise IdempotencyInProgress()
    return replay(found)


async def remember(
    session: AsyncSession,
    record: IdempotencyRecord,
    response: Response,
    *,
    redact: Sequence[str] = (),
) -> None:
    """Stores the answer for replay; `redact` names top-level fields (secrets) stored as null."""
    body = bytes(response.body).decode()
    if redact:
        document = json.loads(body)
        for name in redact:
            if name in document:
                document[name] = None
        body = json.dumps(document, separators=(",", ":"))
    await session.execute(
        _STORE,
        {"scope": record.scope, "key": record.key, "status_code": response.status_code,
         "media_type": response.media_type, "body": body},
    )  # fmt: skip
    for name, value in (
        ("status_code", response.status_code), ("media_type", response.media_type),
        ("response_body", body),
    ):  # fmt: skip
        set_committed_value(record, name, value)  # as stored: nothing left to flush


async def purge_expired(session: AsyncSession, *, now: datetime, retention: timedelta) -> int:
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - retention)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def _load(session: AsyncSession, scope: str, key: str) -> IdempotencyRecord | None:
    stmt = (
        select(IdempotencyRecord)
        .where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


def _is_lock_timeout(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "55P03" or "lock timeout" in str(exc).lower()
