"""The customers feature: customers, API keys, caller verification."""

from app.customers import models
from app.customers.cli import COMMANDS
from app.customers.endpoints import router
from app.customers.schemas import CustomerRead
from app.customers.service import answer_external_ref
from app.kit.events import EventType
from app.kit.hooks import Subscription
from app.kit.registry import Feature
from billing.hooks import FIND_CUSTOMER

FEATURE = Feature(
    name="customers",
    routers=(router,),
    cli=tuple(COMMANDS),
    models=(models,),
    # which customer a Stripe customer is, for billing's invoices
    subscriptions=(Subscription(FIND_CUSTOMER, answer_external_ref),),
    events=((EventType.customer_created, CustomerRead),),
)
