"""The desk: tickets, messages, lines, transfers, merges. It publishes
`app.desk.hooks.MESSAGE_ADDED` for other channels to subscribe to."""

from app.desk import models
from app.desk.cli import COMMANDS
from app.desk.endpoints import router
from app.desk.events import record_sla
from app.desk.fast_submit import lifespan as fast_submit_lifespan
from app.desk.fast_submit import try_submit
from app.desk.schemas import MessageRead, TicketRead
from app.desk.sla import models as sla_models
from app.desk.sla.hooks import SLA_CHANGED
from app.desk.sla_endpoints import router as sla_router
from app.desk.sla_sweep import escalate_tickets
from app.kit.events import EventType
from app.kit.fastpath import FastPath
from app.kit.hooks import Subscription
from app.kit.registry import Feature

# ticket objects: `sla` is null in `ticket.*` events, set in `sla.*` events
TICKET_EVENTS = (
    EventType.ticket_created, EventType.ticket_status_changed,
    EventType.ticket_transfer_requested, EventType.ticket_charged, EventType.ticket_refunded,
    EventType.sla_breached, EventType.sla_escalated,
)  # fmt: skip

FEATURE = Feature(
    name="desk",
    routers=(router,),
    cli=tuple(COMMANDS),
    models=(models,),
    # PostgreSQL: a submission's common case in one statement, before routing
    fast_paths=(FastPath("POST", "/v1/tickets", try_submit),),
    lifespan=fast_submit_lifespan,  # its per-process caches
    # the desk records the SLA's events with the ticket as the API shows it
    subscriptions=(Subscription(SLA_CHANGED, record_sla),),
    events=(
        *((t, TicketRead) for t in TICKET_EVENTS),
        (EventType.ticket_message_added, MessageRead),
    ),
)

# Service levels: targets, calendars, the periodic escalation sweep (`creditdesk escalate`
# is the desk's command). Declared here, not in app/desk/sla/: its HTTP handlers and sweep
# orchestrate the desk's service, so they live above both (sla_endpoints, sla_sweep).
SLA_FEATURE = Feature(
    name="desk.sla",
    routers=(sla_router,),
    jobs=(escalate_tickets,),
    models=(sla_models,),
)
