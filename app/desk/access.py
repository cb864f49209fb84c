"""The desk's objects resolved through the access rule (`app.kit.access`): a ticket, and a
message on one, exist for a caller only if it reaches the ticket's customer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy import bindparam, select

from app.desk.models import Ticket, TicketMessage
from app.kit.access import owned_guard

TicketInReach = Annotated[
    str,
    Depends(
        owned_guard(
            select(Ticket.customer_id).where(Ticket.id == bindparam("ticket_id")),
            {"ticket_id": "`tkt_…`"},
            noun="ticket",
        )
    ),
]
# A message of that ticket (the route resolves the ticket first, with TicketInReach).
MessageInReach = Annotated[
    str,
    Depends(
        owned_guard(
            select(Ticket.customer_id)
            .join(TicketMessage, TicketMessage.ticket_id == Ticket.id)
            .where(
                Ticket.id == bindparam("ticket_id"), TicketMessage.id == bindparam("message_id")
            ),
            {"ticket_id": "`tkt_…`", "message_id": "`msg_…`"},
            noun="message",
        )
    ),
]
