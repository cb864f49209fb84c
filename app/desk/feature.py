"""The desk: tickets, messages, lines, transfers, merges. It publishes
`app.desk.hooks.MESSAGE_ADDED` for other channels to subscribe to."""

from app.desk import models
from app.desk.cli import COMMANDS
from app.desk.endpoints import router
from app.desk.events import record_sla
from app.desk.sla.hooks import SLA_CHANGED
from app.kit.hooks import Subscription
from app.kit.registry import Feature

FEATURE = Feature(
    name="desk",
    routers=(router,),
    cli=tuple(COMMANDS),
    models=(models,),
    # the desk records the SLA's events with the ticket as the API shows it
    subscriptions=(Subscription(SLA_CHANGED, record_sla),),
)
