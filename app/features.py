"""THE list of features. Adding a feature is one line here plus its own `feature.py`
declaration (`app.kit.registry.Feature`); `app.main`, `app.cli`, `app.tasks` and
`app.models` iterate this list and nothing else.

The order is the order routers are mounted (a path matched by two routers goes to the
first), lifespans are entered, jobs run and subscriptions are connected."""

from __future__ import annotations

from app.cabinet.feature import FEATURE as cabinet
from app.console.feature import FEATURE as console
from app.customers.feature import FEATURE as customers
from app.desk.calls.feature import FEATURE as desk_calls
from app.desk.changes.feature import FEATURE as desk_changes
from app.desk.feature import FEATURE as desk
from app.desk.feature import SLA_FEATURE as desk_sla
from app.desk.plans.feature import FEATURE as desk_plans
from app.desk.sla.levels.feature import FEATURE as desk_sla_levels
from app.email.feature import FEATURE as email
from app.kit.registry import Feature, wire
from app.notices.feature import FEATURE as notices
from app.products.feature import FEATURE as products
from app.reports.feature import FEATURE as reports
from app.topups.feature import FEATURE as topups
from app.webhooks.feature import FEATURE as webhooks
from billing.exports.feature import FEATURE as billing_exports
from billing.feature import FEATURE as billing
from credits.feature import FEATURE as credits

FEATURES: tuple[Feature, ...] = (
    customers,
    credits,
    billing,
    desk,
    billing_exports,
    email,
    desk_sla,
    products,
    desk_sla_levels,
    desk_calls,
    desk_changes,
    desk_plans,
    topups,
    notices,
    cabinet,
    console,
    webhooks,
    reports,
)


def wire_subscriptions() -> None:
    """Connects every feature's subscriptions to their hook points (idempotent); called by
    create_app and the `creditdesk` command before any work."""
    wire(FEATURES)
