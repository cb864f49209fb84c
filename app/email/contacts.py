"""Who may write for a customer: the customer's own e-mail plus extra contacts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers import service as customers
from app.customers.models import Customer
from app.email.models import EmailContact
from app.kit.errors import Conflict, NotFound
from app.kit.ids import new_id


class ContactExists(Conflict):
    code = "contact_exists"


async def resolve_sender(session: AsyncSession, address: str) -> str | None:
    """The customer an address writes for, or None when it is unknown or ambiguous (the
    main e-mail of several customers, and no contact row deciding it)."""
    if not address:
        return None
    contact = await session.scalar(select(EmailContact).where(EmailContact.email == address))
    if contact is not None:
        return contact.customer_id
    ids = list(
        (
            await session.execute(
                select(Customer.id).where(func.lower(Customer.email) == address).limit(2)
            )
        ).scalars()
    )
    return ids[0] if len(ids) == 1 else None


async def add_contact(
    session: AsyncSession, customer_id: str, email: str, name: str | None, now: datetime
) -> EmailContact:
    await customers.get_customer(session, customer_id)
    address = email.strip().lower()
    existing = await session.scalar(select(EmailContact).where(EmailContact.email == address))
    if existing is not None:
        raise ContactExists(
            f"{address} is already a contact"
            + (" of this customer." if existing.customer_id == customer_id else " of a customer."),
            contact_id=existing.id if existing.customer_id == customer_id else None,
        )
    other = await session.scalar(
        select(Customer.id).where(func.lower(Customer.email) == address, Customer.id != customer_id)
    )
    if other is not None:
        raise ContactExists(f"{address} is the main e-mail of another customer.")
    contact = EmailContact(
        id=new_id("ctc"), customer_id=customer_id, email=address, name=name, created_at=now
    )
    session.add(contact)
    await session.flush()
    return contact


async def list_contacts(session: AsyncSession, customer_id: str) -> list[EmailContact]:
    await customers.get_customer(session, customer_id)
    stmt = (
        select(EmailContact)
        .where(EmailContact.customer_id == customer_id)
        .order_by(EmailContact.email)
    )
    return list((await session.execute(stmt)).scalars())


async def remove_contact(session: AsyncSession, customer_id: str, contact_id: str) -> None:
    contact = await session.get(EmailContact, contact_id)
    if contact is None or contact.customer_id != customer_id:
        raise NotFound("No such contact.")
    await session.delete(contact)
    await session.flush()
