"""A partner's integration, written only against the client generated from
openapi/openapi.json (package `creditdesk_client`), run against a live server.

Usage: CREDITDESK_URL=http://127.0.0.1:PORT CREDITDESK_ADMIN_KEY=… python partner_flow.py
Type-checked with `mypy --strict` together with the generated package: a change to the
document that breaks this code fails the check before it fails a partner."""

from __future__ import annotations

import os
import uuid

from creditdesk_client import AuthenticatedClient
from creditdesk_client.api.api_keys import create_api_key
from creditdesk_client.api.credits_ import get_balance, list_entries, list_packs, report_spend
from creditdesk_client.api.customers import create_customer, list_customers
from creditdesk_client.api.events import list_events
from creditdesk_client.api.payments import create_purchase, get_receipt
from creditdesk_client.api.tickets import get_ticket, submit_ticket
from creditdesk_client.models import (
    ApiKeyCreate,
    ApiKeyCreated,
    BalanceRead,
    CustomerCreate,
    CustomerRead,
    DuplicateTicketProblem,
    EntryKind,
    InsufficientCreditsProblem,
    Line,
    PackList,
    PageEntryRead,
    PageEventRead,
    PurchaseCreate,
    PurchaseRead,
    PurchaseReadStatus,
    Role,
    SpendAmount,
    SpendCreate,
    SpendOut,
    TicketCreate,
    TicketRead,
    ValidationProblem,
)
from creditdesk_client.types import File


def step(text: str) -> None:
    print(f"partner flow: {text}", flush=True)


def main() -> None:
    base_url = os.environ["CREDITDESK_URL"]
    admin = AuthenticatedClient(base_url=base_url, token=os.environ["CREDITDESK_ADMIN_KEY"])
    run = uuid.uuid4().hex[:8]

    # A 422 is a typed problem with field errors (it crashed the client when the document
    # declared FastAPI's HTTPValidationError).
    invalid = list_customers.sync(client=admin, limit=500)
    assert isinstance(invalid, ValidationProblem), invalid
    assert invalid.code == "validation_error"
    assert invalid.errors and invalid.errors[0].field == "query.limit", invalid.errors
    step(f"422 read as ValidationProblem: {invalid.errors[0].field}: {invalid.errors[0].message}")

    customer = create_customer.sync(
        client=admin,
        body=CustomerCreate(name=f"Partner Co {run}", email=f"ops-{run}@partner.example"),
        idempotency_key=f"customer-{run}",
    )
    assert isinstance(customer, CustomerRead), customer
    key = create_api_key.sync(
        client=admin,
        body=ApiKeyCreate(role=Role.CUSTOMER, name="partner integration", customer_id=customer.id),
        idempotency_key=f"key-{run}",
    )
    assert isinstance(key, ApiKeyCreated) and key.key, key
    partner = AuthenticatedClient(base_url=base_url, token=key.key)
    step(f"customer {customer.id} with its own API key")

    ticket_body = TicketCreate(
        line=Line.TECHNICAL,
        subject="Export to S3 fails with a timeout",
        body="Since this morning every nightly export stops after 30 seconds.",
    )
    no_credit = submit_ticket.sync(client=partner, body=ticket_body, idempotency_key=f"t0-{run}")
    assert isinstance(no_credit, InsufficientCreditsProblem), no_credit
    assert no_credit.available == 0 and no_credit.packs, no_credit
    step(f"402 read as InsufficientCreditsProblem: {len(no_credit.packs)} packs on offer")

    packs = list_packs.sync(client=partner)
    assert isinstance(packs, PackList) and packs.data, packs
    pack = packs.data[0]
    purchase_key = f"purchase-{run}"
    purchase = create_purchase.sync(
        customer.id,
        client=partner,
        body=PurchaseCreate(pack=pack.code),
        idempotency_key=purchase_key,
    )
    assert isinstance(purchase, PurchaseRead), purchase
    assert purchase.status == PurchaseReadStatus.SUCCEEDED, purchase.status  # offline provider
    again = create_purchase.sync_detailed(
        customer.id,
        client=partner,
        body=PurchaseCreate(pack=pack.code),
        idempotency_key=purchase_key,
    )
    assert isinstance(again.parsed, PurchaseRead) and again.parsed.id == purchase.id
    # The receipt is a binary answer (`format: binary`): the generator gives a File.
    receipt = get_receipt.sync(purchase.id, client=partner)
    assert isinstance(receipt, File), receipt
    assert receipt.payload.read(5) == b"%PDF-", "not a PDF"
    step(
        f"bought {pack.code} ({pack.credits_} credits for {pack.price.amount} {pack.price.currency})"
    )

    ticket_key = f"ticket-{run}"
    first = submit_ticket.sync_detailed(
        client=partner, body=ticket_body, idempotency_key=ticket_key
    )
    ticket = first.parsed
    assert isinstance(ticket, TicketRead), ticket
    assert ticket.charge is not None and ticket.charge.credits_ == 1
    retried = submit_ticket.sync_detailed(
        client=partner, body=ticket_body, idempotency_key=ticket_key
    )
    assert retried.headers.get("idempotent-replayed") == "true", retried.headers
    assert isinstance(retried.parsed, TicketRead) and retried.parsed.id == ticket.id
    step(f"ticket #{ticket.number} submitted; the retry with its Idempotency-Key replayed it")

    duplicate = submit_ticket.sync(client=partner, body=ticket_body, idempotency_key=f"dup-{run}")
    assert isinstance(duplicate, DuplicateTicketProblem), duplicate
    assert (duplicate.ticket_id, duplicate.number) == (ticket.id, ticket.number)
    step(f"409 read as DuplicateTicketProblem: ticket #{duplicate.number}")

    fetched = get_ticket.sync(ticket.id, client=partner)
    assert isinstance(fetched, TicketRead) and fetched.id == ticket.id

    balance = get_balance.sync(customer.id, client=partner)
    assert isinstance(balance, BalanceRead), balance
    assert balance.available == pack.credits_ - 1, balance.available
    assert balance.spend.total.currency == pack.price.currency
    entries = list_entries.sync(customer.id, client=partner)
    assert isinstance(entries, PageEntryRead)
    assert [e.kind for e in entries.data] == [EntryKind.CHARGE, EntryKind.GRANT]
    step(f"balance: {balance.available} credits available")

    spent = report_spend.sync(
        customer.id,
        client=admin,
        body=SpendCreate(
            amount=SpendAmount(amount=12_500, currency=pack.price.currency), reference=f"inv-{run}"
        ),
        idempotency_key=f"spend-{run}",
    )
    assert isinstance(spent, SpendOut), spent
    assert (spent.total.amount, spent.total.currency) == (12_500, pack.price.currency)
    step(f"spend reported: total {spent.total.amount} {spent.total.currency} (Money)")

    # Catching up with GET /v1/events: oldest first, page by page from `next_cursor` (a
    # customer key reads its own events; each was written in its change's transaction).
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = list_events.sync(client=partner, limit=2, cursor=cursor)
        assert isinstance(page, PageEventRead), page
        assert all(e.customer_id == customer.id for e in page.data)
        seen += [e.type_ for e in page.data]
        if not isinstance(page.next_cursor, str):
            break
        cursor = page.next_cursor
    assert seen[0] == "customer.created", seen
    wanted = {"purchase.succeeded", "credits.granted", "ticket.created", "ticket.charged"}
    assert wanted <= set(seen), seen
    step(f"events caught up: {len(seen)} ({', '.join(seen)})")
    print("partner flow: OK")


if __name__ == "__main__":
    main()
