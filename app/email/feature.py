"""The e-mail channel: inbound mail into tickets, the outbox, `creditdesk smtp`. Staff
replies are mailed through a subscription to the desk's `MESSAGE_ADDED`."""

from app.desk.hooks import MESSAGE_ADDED
from app.email import models
from app.email.cli import COMMANDS
from app.email.endpoints import router
from app.email.service import mail_staff_reply
from app.email.tasks import send_outbox
from app.email.uploads import router as uploads
from app.kit.hooks import Subscription
from app.kit.registry import Feature

FEATURE = Feature(
    name="email",
    routers=(router, uploads),
    cli=tuple(COMMANDS),
    jobs=(send_outbox,),
    models=(models,),
    subscriptions=(Subscription(MESSAGE_ADDED, mail_staff_reply),),
)
