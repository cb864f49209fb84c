"""The service levels' hook point: the desk records `sla.*` events through a subscription
(the SLA does not import the desk's event module: see the acyclic contract)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.desk.models import Ticket
from app.kit.events import EventType
from app.kit.hooks import Hook


@dataclass(frozen=True)
class SlaChanged:
    """A first response was missed (`sla.breached`) or a level reached (`sla.escalated`)."""

    ticket: Ticket
    type: EventType
    now: datetime
    previous: dict[str, Any] | None = None


# Published in the transaction of the change, after its rows are flushed.
SLA_CHANGED: Hook[SlaChanged] = Hook("desk.sla.changed")
