"""The service levels' hook points: features that add to a customer's extensions (phone
calls) or to the report subscribe through their `Feature` declaration, so the clock never
imports them; the desk records `sla.*` events through a subscription to `SLA_CHANGED` (the
SLA does not import the desk's event module: see the acyclic contract)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.desk.models import Ticket
from app.desk.sla.models import UrgentPeriod
from app.desk.sla.schemas import SlaReport
from app.kit.events import EventType
from app.kit.hooks import Hook
from app.settings import Settings


@dataclass
class ExtensionSpans:
    """Collects the closed spans that extend a customer's tickets like a most-urgent
    ticket does (seed 000). Each span extends every ticket of the customer except the
    one it names; transient `UrgentPeriod`s, never added to the session."""

    customer_id: str
    spans: list[UrgentPeriod] = field(default_factory=list)


@dataclass
class ReportBuilt:
    """The SLA report for `[since, until)`, before it is answered: subscribers fill in
    their part."""

    report: SlaReport
    since: datetime
    until: datetime
    now: datetime
    settings: Settings


@dataclass(frozen=True)
class SlaChanged:
    """A first response was missed (`sla.breached`) or a level reached (`sla.escalated`)."""

    ticket: Ticket
    type: EventType
    now: datetime
    previous: dict[str, Any] | None = None


# Published whenever a clock reads a customer's extensions (the `sla` block, sync, sweep).
EXTENSION_SPANS: Hook[ExtensionSpans] = Hook("desk.sla.extension_spans")
# Published once per report.
REPORT_BUILT: Hook[ReportBuilt] = Hook("desk.sla.report_built")
# Published in the transaction of the change, after its rows are flushed.
SLA_CHANGED: Hook[SlaChanged] = Hook("desk.sla.changed")
