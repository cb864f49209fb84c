"""Service levels: targets, calendars, the escalation sweep (periodic and `creditdesk
escalate`)."""

from app.desk.cli import COMMANDS
from app.desk.sla import models
from app.desk.sla.endpoints import router
from app.desk.sla.tasks import escalate_tickets
from app.kit.registry import Feature

FEATURE = Feature(
    name="desk.sla",
    routers=(router,),
    cli=tuple(COMMANDS),
    jobs=(escalate_tickets,),
    models=(models,),
)
