from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.routing import APIRoute
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import JSONResponse, Response

from app.kit import idempotency
from app.kit.access import CustomerInReach, authenticate_apart, customer_guard, owned_guard
from app.kit.auth import BACK_OFFICE, STAFF, Principal, Role, authenticate
from app.kit.db import Database
from app.kit.deps import get_now, get_settings
from app.kit.errors import NotFound, problem_responses
from app.kit.pagination import Cursor, Limit, Page
from app.kit.routing import TransactionalRoute, claim_idempotency_key
from app.kit.session import get_session
from app.settings import Settings
from billing import credit_notes, events, receipt_pdf, receipts, service
from billing.models import CreditNote, EventState, Purchase, PurchaseStatus
from billing.runtime import get_gateway
from billing.schemas import (
    CreditNoteRead,
    PurchaseCreate,
    PurchaseRead,
    WebhookAck,
    credit_note_read,
    purchase_read,
)
from billing.stripe_client import PaymentProviderUnavailable, StripeGateway

logger = logging.getLogger("creditdesk.billing")

router = APIRouter(prefix="/v1", route_class=TransactionalRoute, tags=["payments"])

# Buying a pack calls Stripe between two short transactions, so its route manages its own
# (a TransactionalRoute would hold the request's transaction across the network call).
purchase_router = APIRouter(route_class=APIRoute, tags=["payments"])

PurchaseInReach = Annotated[
    str,
    Depends(
        owned_guard(
            select(Purchase.customer_id).where(Purchase.id == bindparam("purchase_id")),
            {"purchase_id": "`pur_…`"},
            noun="purchase",
        )
    ),
]
CreditNoteInReach = Annotated[
    str,
    Depends(
        owned_guard(
            select(CreditNote.customer_id).where(CreditNote.id == bindparam("credit_note_id")),
            {"credit_note_id": "`crn_…`"},
            noun="credit note",
        )
    ),
]
# The purchase route runs its own transactions: its caller is checked in one of its own.
BuyerInReach = Annotated[str, Depends(customer_guard(authenticate_apart))]


@purchase_router.post(
    "/customers/{customer_id}/purchases",
    status_code=201,
    response_model=PurchaseRead,
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def create_purchase(
    body: PurchaseCreate,
    request: Request,
    customer_id: BuyerInReach,
    idempotency_key: str | None = Header(default=None, alias="Idempotency-Key"),
    principal: Principal = Depends(authenticate_apart),
    settings: Settings = Depends(get_settings),
    gateway: StripeGateway | None = Depends(get_gateway),
) -> JSONResponse:
    """Buy a credit pack: returns the Stripe PaymentIntent's `client_secret` to confirm
    the payment with; credits arrive when Stripe reports success. The offline provider
    pays at once."""
    if idempotency_key is not None:
        idempotency.validate_key(idempotency_key)
    db: Database = request.app.state.db
    if not principal.is_customer:
        principal.require(Role.admin)
    async with db.unit_of_work() as session:
        purchase, replayed = await _open_once(
            session, request, idempotency_key, customer_id, body.pack, settings, body.metadata
        )
    if _needs_intent(purchase):
        purchase = await _create_intent(db, gateway, purchase, request, settings)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(purchase_read(purchase).model_dump(mode="json"), 201, headers=headers)


async def _open_once(
    session: AsyncSession,
    request: Request,
    key: str | None,
    customer_id: str,
    pack: str,
    settings: Settings,
    metadata: dict[str, str] | None = None,
) -> tuple[Purchase, bool]:
    """The purchase, made once per `Idempotency-Key` (the kit's, like every POST's), in the
    first transaction. A replay answers the purchase as it is now, not as first answered:
    its PaymentIntent may have been made since (or still needs making)."""
    record = None
    if key is not None:
        claimed = await claim_idempotency_key(session, request, key)
        if isinstance(claimed, idempotency.IdempotencyRecord):
            record = claimed
        else:
            earlier = json.loads(bytes(claimed.body))["id"]
            return await service.get_purchase(session, earlier), True
    purchase = await service.open_purchase(
        session, customer_id=customer_id, pack_code=pack, settings=settings,
        now=request.app.state.clock.now(), metadata=metadata,
    )  # fmt: skip
    if record is not None:
        answer = JSONResponse(purchase_read(purchase).model_dump(mode="json"), 201)
        await idempotency.remember(session, record, answer, redact=("client_secret",))
    return purchase, False


def _needs_intent(purchase: Purchase) -> bool:
    return (
        purchase.provider == "stripe"
        and purchase.status == PurchaseStatus.pending.value
        and purchase.client_secret is None
    )


async def _create_intent(
    db: Database,
    gateway: StripeGateway | None,
    purchase: Purchase,
    request: Request,
    settings: Settings,
) -> Purchase:
    """Outside any transaction. A crash or timeout after Stripe made the intent and before
    we recorded it is harmless: the purchase stays pending without a client secret (no one
    can pay it), and the next attempt (a client retry with the same Idempotency-Key, or
    `creditdesk sync-payments`) gets the same intent back from Stripe, whose idempotency
    key is derived from the purchase id."""
    if gateway is None:  # the key was removed between two requests: say so, change nothing
        raise PaymentProviderUnavailable("Stripe is not configured on this server.")
    intent = await gateway.create_payment_intent(
        purchase_id=purchase.id, customer_id=purchase.customer_id, pack=purchase.pack,
        amount=purchase.amount, currency=purchase.currency,
    )  # fmt: skip
    async with db.unit_of_work() as session:
        outcome = await events.apply_intent_state(
            session, intent, settings=settings, now=request.app.state.clock.now()
        )
        if outcome.state is EventState.rejected:
            logger.error("PaymentIntent %s refused for %s: %s", intent.id, purchase.id,
                         outcome.note)  # fmt: skip
            raise PaymentProviderUnavailable("The payment provider answered inconsistently.")
        return await service.get_purchase(session, purchase.id)


router.include_router(purchase_router)


@router.get(
    "/purchases/{purchase_id}", response_model=PurchaseRead, responses=problem_responses(401, 404)
)
async def get_purchase(
    purchase_id: PurchaseInReach,
    principal: Principal = Depends(authenticate),
    session: AsyncSession = Depends(get_session),
) -> PurchaseRead:
    """A purchase: its status, and while unpaid the `client_secret` to pay it with."""
    if not principal.is_customer:
        principal.require(*STAFF, *BACK_OFFICE)
    return purchase_read(await service.get_purchase(session, purchase_id))


@router.get(
    "/purchases/{purchase_id}/receipt.pdf",
    response_class=Response,
    responses={
        **problem_responses(401, 404),
        200: {"content": {"application/pdf": {}}, "description": "the receipt as PDF"},
    },
)
async def get_receipt(
    purchase_id: PurchaseInReach,
    principal: Principal = Depends(authenticate),
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """The receipt of a paid purchase as PDF (numbered per year, net / VAT / gross); 404
    while the purchase is not paid. A customer reads its own."""
    if not principal.is_customer:
        principal.require(*STAFF, *BACK_OFFICE)
    if await session.get(Purchase, purchase_id) is None:
        raise NotFound("No such purchase.")
    receipt = await receipts.for_purchase(session, purchase_id)
    if receipt is None:
        raise NotFound("This purchase has no receipt: it has not been paid.")
    pdf = await asyncio.to_thread(receipt_pdf.render, receipt, font_path=settings.receipt_font_path)
    return _pdf(pdf, f"receipt-{receipt.number}.pdf")


# The PDF's route comes first: `/credit-notes/{credit_note_id}` would match `crn_….pdf` too.
@router.get(
    "/credit-notes/{credit_note_id}.pdf",
    response_class=Response,
    responses={
        **problem_responses(401, 404, 503),
        200: {"content": {"application/pdf": {}}, "description": "the credit note as PDF"},
    },
)
async def get_credit_note_pdf(
    credit_note_id: CreditNoteInReach,
    principal: Principal = Depends(authenticate),
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """A credit note as PDF (numbered `CN-<year>-<seq>`, net / VAT / gross, the receipt it
    corrects). A customer reads its own."""
    if not principal.is_customer:
        principal.require(*STAFF, *BACK_OFFICE)
    note = await credit_notes.get(session, credit_note_id)
    pdf = await asyncio.to_thread(
        receipt_pdf.render_credit_note, note, font_path=settings.receipt_font_path
    )
    return _pdf(pdf, f"credit-note-{note.number}.pdf")


def _pdf(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.get(
    "/credit-notes/{credit_note_id}",
    response_model=CreditNoteRead,
    responses=problem_responses(401, 404),
)
async def get_credit_note(
    credit_note_id: CreditNoteInReach,
    principal: Principal = Depends(authenticate),
    session: AsyncSession = Depends(get_session),
) -> CreditNoteRead:
    """A credit note: money given back on a purchase (a refund or a lost dispute),
    correcting its receipt. A customer reads its own."""
    if not principal.is_customer:
        principal.require(*STAFF, *BACK_OFFICE)
    return credit_note_read(await credit_notes.get(session, credit_note_id))


@router.get(
    "/customers/{customer_id}/credit-notes",
    response_model=Page[CreditNoteRead],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_credit_notes(
    customer_id: CustomerInReach,
    limit: Limit = 50,
    cursor: Cursor = None,
    principal: Principal = Depends(authenticate),
    session: AsyncSession = Depends(get_session),
) -> Page[CreditNoteRead]:
    """The customer's credit notes, newest first (staff and back office; a customer: its
    own)."""
    if not principal.is_customer:
        principal.require(*STAFF, *BACK_OFFICE)
    await service.require_customer(session, customer_id)
    return await credit_notes.list_for_customer(session, customer_id, limit=limit, cursor=cursor)


@router.get(
    "/customers/{customer_id}/purchases",
    response_model=Page[PurchaseRead],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_purchases(
    customer_id: CustomerInReach,
    limit: Limit = 50,
    cursor: Cursor = None,
    principal: Principal = Depends(authenticate),
    session: AsyncSession = Depends(get_session),
) -> Page[PurchaseRead]:
    """The customer's purchases, newest first (staff and back office; a customer: its own)."""
    if not principal.is_customer:
        principal.require(*STAFF, *BACK_OFFICE)
    await service.require_customer(session, customer_id)
    return await service.list_purchases(session, customer_id, limit=limit, cursor=cursor)


@router.post(
    "/webhooks/stripe",
    response_model=WebhookAck,
    include_in_schema=False,  # called by Stripe, not by partners' generated clients
)
async def stripe_webhook(
    request: Request,
    stripe_signature: str | None = Header(default=None, alias="Stripe-Signature"),
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> WebhookAck:
    """Stripe events, authenticated by their `Stripe-Signature` (no API key). Each event
    is stored once and applied in the same transaction; 400 and nothing changed when the
    signature is missing, wrong or stale."""
    event = events.verify_stripe_event(await request.body(), stripe_signature, settings, now)
    _, outcome = await events.receive(session, event, settings=settings, now=now)
    return WebhookAck(event_id=event.id, outcome=outcome)
