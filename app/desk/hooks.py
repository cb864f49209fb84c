"""The desk's hook points: other features (the e-mail channel) react to them through a
subscription in their `Feature` declaration, so the desk never imports them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.desk.models import Ticket, TicketMessage
from app.kit.auth import Principal
from app.kit.hooks import Hook
from app.settings import Settings


@dataclass(frozen=True)
class MessageAdded:
    """A message was added to a ticket (flushed, not yet committed)."""

    ticket: Ticket
    message: TicketMessage
    author: Principal
    settings: Settings
    now: datetime


# Published after every added message, in its transaction.
MESSAGE_ADDED: Hook[MessageAdded] = Hook("desk.message_added")
