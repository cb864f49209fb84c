"""The one place that talks to Stripe: the official SDK's `StripeClient`, built in the
lifespan (or by a CLI command), never at import.

Every call is made outside any database transaction: a slow or failing Stripe must never
hold a row lock."""

from __future__ import annotations

import logging
from typing import Any

import stripe

from app.kit.errors import AppError
from app.settings import Settings
from billing.stripe_objects import PaymentIntent

logger = logging.getLogger("creditdesk.billing.stripe")

REQUEST_TIMEOUT_SECONDS = 20.0
MAX_NETWORK_RETRIES = 2


class PaymentProviderUnavailable(AppError):
    status, code = 503, "payment_provider_unavailable"


class CardDeclined(Exception):
    """The saved card was refused (Stripe `card_error`)."""

    def __init__(self, reason: str, *, intent: dict[str, Any] | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.intent = intent


def idempotency_key_for(purchase_id: str) -> str:
    """One PaymentIntent per purchase, whoever asks and however often (within Stripe's
    24-hour idempotency window): a retry after a crash gets the same intent back."""
    return f"creditdesk-purchase-{purchase_id}"


class StripeGateway:
    """PaymentIntents through the official SDK. Objects come back as plain dicts, the
    same shape a webhook's `data.object` has, so that one code path applies both."""

    def __init__(self, secret_key: str, *, api_base: str | None = None) -> None:
        self._http = stripe.HTTPXClient(timeout=REQUEST_TIMEOUT_SECONDS)
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            http_client=self._http,
            max_network_retries=MAX_NETWORK_RETRIES,
        )

    async def create_payment_intent(
        self, *, purchase_id: str, customer_id: str, pack: str, amount: int, currency: str
    ) -> PaymentIntent:
        try:
            intent = await self.client.v1.payment_intents.create_async(
                params={
                    "amount": amount,
                    "currency": currency.lower(),
                    "metadata": {
                        "purchase_id": purchase_id,
                        "customer_id": customer_id,
                        "pack": pack,
                    },
                },
                options={"idempotency_key": idempotency_key_for(purchase_id)},
            )
        except stripe.StripeError as exc:
            raise self._unavailable("create a payment", exc) from exc
        return PaymentIntent.parse(intent.to_dict())

    async def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntent:
        try:
            intent = await self.client.v1.payment_intents.retrieve_async(payment_intent_id)
        except stripe.StripeError as exc:
            raise self._unavailable("look up a payment", exc) from exc
        return PaymentIntent.parse(intent.to_dict())

    # ------------------------------------------------------------ saved cards (auto top-up)

    async def ensure_customer(self, *, customer_id: str, email: str, name: str) -> str:
        """The Stripe Customer for a CreditDesk customer (one per customer, whoever asks)."""
        try:
            customer = await self.client.v1.customers.create_async(
                params={"email": email, "name": name,
                        "metadata": {"creditdesk_customer_id": customer_id}},
                options={"idempotency_key": f"creditdesk-customer-{customer_id}"},
            )  # fmt: skip
        except stripe.StripeError as exc:
            raise self._unavailable("register the customer", exc) from exc
        return str(customer.id)

    async def create_setup_intent(
        self, *, stripe_customer: str, customer_id: str, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        try:
            intent = await self.client.v1.setup_intents.create_async(
                params={"customer": stripe_customer, "usage": "off_session",
                        "metadata": {"creditdesk_customer_id": customer_id}},
                options={"idempotency_key": idempotency_key} if idempotency_key else {},
            )  # fmt: skip
        except stripe.StripeError as exc:
            raise self._unavailable("prepare saving a card", exc) from exc
        return intent.to_dict()

    async def retrieve_setup_intent(self, setup_intent_id: str) -> dict[str, Any]:
        try:
            intent = await self.client.v1.setup_intents.retrieve_async(setup_intent_id)
        except stripe.StripeError as exc:
            raise self._unavailable("look up the saved card", exc) from exc
        return intent.to_dict()

    async def retrieve_payment_method(self, payment_method_id: str) -> dict[str, Any]:
        try:
            method = await self.client.v1.payment_methods.retrieve_async(payment_method_id)
        except stripe.StripeError as exc:
            raise self._unavailable("look up the saved card", exc) from exc
        return method.to_dict()

    async def charge_off_session(
        self, *, purchase_id: str, customer_id: str, pack: str, amount: int, currency: str,
        stripe_customer: str, payment_method: str, idempotency_key: str,
    ) -> dict[str, Any]:  # fmt: skip
        """An off-session PaymentIntent, confirmed at once. A declined card raises
        `CardDeclined` carrying the intent Stripe made (if any)."""
        try:
            intent = await self.client.v1.payment_intents.create_async(
                params={
                    "amount": amount, "currency": currency.lower(), "customer": stripe_customer,
                    "payment_method": payment_method, "off_session": True, "confirm": True,
                    "metadata": {"purchase_id": purchase_id, "customer_id": customer_id,
                                 "pack": pack, "auto_top_up": "true"},
                },
                options={"idempotency_key": idempotency_key},
            )  # fmt: skip
        except stripe.CardError as exc:
            error = exc.error
            declined = getattr(error, "payment_intent", None) if error is not None else None
            raise CardDeclined(
                str(getattr(error, "message", None) or exc.user_message or "card declined"),
                intent=declined.to_dict() if declined is not None else None,
            ) from exc
        except stripe.StripeError as exc:
            raise self._unavailable("charge the saved card", exc) from exc
        return intent.to_dict()

    async def list_refunds(self, payment_intent_id: str) -> list[dict[str, Any]]:
        """Every refund of the PaymentIntent's charge (all pages)."""
        try:
            page = await self.client.v1.refunds.list_async(
                params={"payment_intent": payment_intent_id, "limit": 100}
            )
            return [refund.to_dict() async for refund in page.auto_paging_iter()]
        except stripe.StripeError as exc:
            raise self._unavailable("list a payment's refunds", exc) from exc

    async def list_disputes(self, payment_intent_id: str) -> list[dict[str, Any]]:
        """Every dispute of the PaymentIntent (all pages). A Stripe stand-in without the
        disputes API (localstripe answers 404) has none."""
        try:
            page = await self.client.v1.disputes.list_async(
                params={"payment_intent": payment_intent_id, "limit": 100}
            )
            return [dispute.to_dict() async for dispute in page.auto_paging_iter()]
        except stripe.StripeError as exc:
            if exc.http_status == 404 and not exc.code:  # no such API at all
                logger.warning("the payment provider has no disputes API: %s", exc)
                return []
            raise self._unavailable("list a payment's disputes", exc) from exc

    async def aclose(self) -> None:
        await self._http.close_async()

    @staticmethod
    def _unavailable(what: str, exc: stripe.StripeError) -> PaymentProviderUnavailable:
        logger.warning("Stripe refused or failed to %s: %s", what, exc)
        return PaymentProviderUnavailable(
            f"The payment provider could not {what} just now; retry shortly "
            "(with the same Idempotency-Key).",
            headers={"Retry-After": "5"},
        )


def build_gateway(settings: Settings) -> StripeGateway | None:
    """None means the offline provider (no Stripe key configured)."""
    if settings.stripe_secret_key is None:
        return None
    return StripeGateway(
        settings.stripe_secret_key.get_secret_value(), api_base=settings.stripe_api_base
    )
