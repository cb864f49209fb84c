"""Service levels: targets, calendars, the periodic escalation sweep (`creditdesk
escalate` is the desk's command, app/desk/cli.py)."""

from app.desk.sla import models
from app.desk.sla.endpoints import router
from app.desk.sla.tasks import escalate_tickets
from app.kit.registry import Feature

FEATURE = Feature(
    name="desk.sla",
    routers=(router,),
    jobs=(escalate_tickets,),
    models=(models,),
)
