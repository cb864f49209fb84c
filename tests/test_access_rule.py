"""One access rule for every route that names a customer (issue 25), checked from the app's
route table, not from a hand-made list of routes.

- `test_every_route_resolves_what_it_names_through_the_rule`: every route is either marked
  (a dependency from `app.kit.access` in its `dependant` that resolves each customer or
  owned object the route names: path `{customer_id}`, `{ticket_id}`, …, query or body
  `customer_id`) or listed in `NO_CUSTOMER_REACH` with a reason; a route added without
  either fails by name, and so does a listed route that no longer exists.
- `test_nothing_out_of_reach_answers_or_changes`: every route that names a customer or an
  owned object, called by each kind of caller on another customer's objects (with a valid
  body), answers 404 `not_found` — or, for a role the route does not admit, exactly what a
  nonexistent id gets — shows none of that customer's data and changes no row.
- `test_lists_show_only_what_is_in_reach`: every list route without such a path parameter,
  called by each kind of caller without a filter, shows none of another customer's ids.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, get_args

import fastapi.routing
import pytest
from fastapi.dependencies.models import Dependant
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import select, text

from app.kit.auth import Role
from app.main import create_app
from app.settings import Settings
from app.webhooks import delivery
from tests.conftest import Api

# Path parameters that name a customer or something one owns: a route with one of them
# must resolve it through the rule; it cannot be allow-listed.
OWNED = {
    "customer_id": "cus",
    "ticket_id": "tkt",
    "message_id": "msg",
    "purchase_id": "pur",
    "attachment_id": "att",
    "contact_id": "ctc",
    "endpoint_id": "whe",
    "delivery_id": "whd",
    "session_id": "key",  # a portal session
    "credit_note_id": "crn",
}
# Path parameters that name no customer's data (anything else must be resolved).
NOT_OWNED = {
    "key_id": "API keys: admin only, over every customer",
    "line": "a support line's calendar",
    "product_id": "the product catalogue",
    "level_id": "contract level definitions (which customer is on one is per customer)",
    "name": "a static file of the cabinet",
    "path": "a static file of the documentation",
}

# Routes that need no customer reach, each with the reason. A route named here that does not
# exist fails the test; so does one that names a customer or an owned object.
NO_CUSTOMER_REACH: dict[str, str] = {
    "GET /healthz": "liveness: no data",
    "GET /readyz": "readiness: no data",
    "GET /metrics": "process metrics: counts, no customer's data (token in production)",
    "GET,HEAD /openapi.json": "the API description",
    "GET /docs": "the API documentation",
    "GET /redoc": "the API documentation",
    "GET /": "the documentation's home page",
    "MOUNT /docs/assets/{path}": "the documentation's static files",
    "GET /cabinet": "redirect to the cabinet's static files",
    "GET /cabinet/": "the cabinet's static files (its data comes from the API)",
    "GET /cabinet/{name}": "the cabinet's static files (its data comes from the API)",
    "GET /cabinet/config.json": "the payment provider's public settings",
    "POST /v1/webhooks/stripe": "Stripe, authenticated by its signature, not a caller's key",
    "DELETE /v1/portal-sessions/current": "sign-out: the caller's own portal session",
    "POST /v1/console-sessions": "staff sign-in to the console: the caller's own session",
    "GET /v1/console-sessions/current": "the caller's own console session",
    "DELETE /v1/console-sessions/current": "sign-out: the caller's own console session",
    "GET /console": "redirect to the console's static files",
    "GET /console/": "the console's static files (its data comes from the API)",
    "GET /console/{name}": "the console's static files (its data comes from the API)",
    "GET /console/config.json": "the console's public settings",
    "GET /v1/packs": "the pack catalogue",
    "POST /v1/customers": "creates a customer: a scoped key's becomes its partner's "
    "(parent_id); a taken external_ref names its holder only within reach",
    "GET /v1/api-keys": "admin only: key management over every customer",
    "DELETE /v1/api-keys/{key_id}": "admin only: key management over every customer",
    "GET /v1/exports/journal": "finance and admin: the books of every customer",
    "GET /v1/exports/account-map": "finance and admin: the chart of accounts",
    "GET /v1/exports/deferred-revenue": "finance and admin: the books of every customer",
    "GET /v1/exports/lot-aging": "finance and admin: the books of every customer",
    "GET /v1/email/inbound": "staff only: received mail of every customer",
    "GET /v1/email/outbox": "admin only: outgoing mail of every customer",
    "GET /v1/sla/calendars": "the desk's calendars",
    "PUT /v1/sla/calendars/{line}": "the desk's calendars (admin)",
    "GET /v1/sla/targets": "the desk's targets",
    "PUT /v1/sla/targets": "the desk's targets (admin)",
    "GET /v1/reports/sla": "staff and finance: every customer's tickets in figures",
    "GET /v1/reports/usage": "finance, admin, cr_agent: every customer's usage",
    "POST /v1/products": "the product catalogue (admin)",
    "GET /v1/products": "the product catalogue",
    "GET /v1/products/{product_id}": "the product catalogue",
    "POST /v1/products/{product_id}/versions": "the product catalogue (admin)",
    "POST /v1/contract-levels": "contract level definitions (admin)",
    "GET /v1/contract-levels": "contract level definitions",
    "GET /v1/contract-levels/{level_id}": "contract level definitions",
    "PUT /v1/contract-levels/{level_id}": "contract level definitions (admin)",
    "DELETE /v1/contract-levels/{level_id}": "contract level definitions (admin)",
    "POST /v1/webhook-endpoints": "creates an endpoint owned by the caller's partner (or none)",
    "GET /v1/webhook-endpoints": "lists the caller's own endpoints (the endpoint owner rule)",
}


# ---------------------------------------------------------------- the route table


@dataclass(frozen=True)
class Route:
    name: str  # "METHOD /path"
    methods: tuple[str, ...]
    path: str
    dependant: Dependant | None

    def params(self, kind: str) -> set[str]:
        return {p.name for d in _walk(self.dependant) for p in getattr(d, f"{kind}_params")}

    def body_model(self) -> Any:
        for d in _walk(self.dependant):
            for p in d.body_params:
                return p.field_info.annotation
        return None

    def named(self) -> set[str]:
        """What the request names that belongs to a customer: `path:ticket_id`, …"""
        found = {f"path:{p}" for p in self.params("path") if p not in NOT_OWNED}
        if "customer_id" in self.params("query"):
            found.add("query:customer_id")
        model = _model(self.body_model())
        if model is not None and "customer_id" in model.model_fields:
            found.add("body:customer_id")
        return found

    def covered(self) -> set[str]:
        """What the route's reach dependencies resolve (`app.kit.access`)."""
        from app.kit.access import covers

        return {c for d in _walk(self.dependant) for c in covers(d.call)}

    def roles(self) -> set[Role] | None:
        """The roles the route admits, if it declares them (`require_roles`)."""
        declared = [
            set(r) for d in _walk(self.dependant) if (r := getattr(d.call, "required_roles", None))
        ]
        return set.intersection(*declared) if declared else None


def _walk(dependant: Dependant | None) -> Iterator[Dependant]:
    if dependant is None:
        return
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def _model(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def route_table(app: Any) -> list[Route]:
    """Every route the app answers, as mounted (included routers are mounted lazily)."""
    routes = []
    for mounted in fastapi.routing.iter_route_contexts(app.routes):
        path = getattr(mounted, "path_format", None) or mounted.path
        methods = tuple(sorted(getattr(mounted, "methods", None) or ()))
        name = f"{','.join(methods)} {path}" if methods else f"MOUNT {path}"
        routes.append(Route(name, methods, path, getattr(mounted, "dependant", None)))
    return routes


def test_every_route_resolves_what_it_names_through_the_rule() -> None:
    app = create_app(Settings(_env_file=None, periodic_tasks_enabled=False))  # type: ignore[call-arg]
    table = route_table(app)
    failures = []
    for route in table:
        named, covered = route.named(), route.covered()
        if unresolved := sorted(named - covered):
            failures.append(f"{route.name}: names {unresolved} without a reach dependency")
        elif route.name in NO_CUSTOMER_REACH and (named or covered):
            failures.append(f"{route.name}: resolves customers, so it cannot be allow-listed")
        elif not covered and route.name not in NO_CUSTOMER_REACH:
            failures.append(f"{route.name}: no reach dependency and not in NO_CUSTOMER_REACH")
    names = {r.name for r in table}
    failures += [
        f"{n}: allow-listed but no such route" for n in NO_CUSTOMER_REACH if n not in names
    ]
    assert not failures, "\n".join(failures)
    print(f"\naccess rule: {len(table)} routes, {len(NO_CUSTOMER_REACH)} allow-listed")


# ---------------------------------------------------------------- the world


@dataclass
class World:
    """Customer A (the customer callers' own), partner P with end customer E (the scoped
    key's reach), and the objects out of reach: customer B's and partner Q's."""

    pack: str
    own: dict[str, str]  # in reach of the customer callers: A's customer id
    other: dict[str, str] = field(default_factory=dict)  # B's objects and Q's endpoint, by param
    callers: dict[str, dict[str, str]] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)  # text of B's that must never show


CALLERS = {  # caller kind → its role and what is out of its reach
    "customer key": (Role.customer, "all"),
    "cabinet session": (Role.customer, "all"),
    "partner key": (Role.integration, "all"),
    # an unscoped integration key reaches every customer; not another partner's endpoints
    "integration key": (Role.integration, "endpoints"),
}


async def _post(api: Api, path: str, headers: dict[str, str], **kw: Any) -> dict[str, Any]:
    response = await api.client.post(path, headers=headers, **kw)
    assert response.status_code in (200, 201), (path, response.text)
    body: dict[str, Any] = response.json()
    return body


async def _partner_key(api: Api, partner_id: str) -> dict[str, str]:
    created = await _post(
        api, "/v1/api-keys", api.admin,
        json={"role": "integration", "name": "partner CRM", "customer_id": partner_id},
    )  # fmt: skip
    return {"Authorization": f"Bearer {created['key']}"}


async def _refunded(api: Api, purchase_id: str) -> str:
    """Part of a purchase refunded (as a Stripe refund would be): its credit note's id."""
    from billing import service as billing
    from billing.models import CreditNote

    async with api.db.unit_of_work() as session:
        purchase = await billing.get_purchase(session, purchase_id)
        await billing.refund_purchase(session, purchase, total=100, delta=100, reference=None,
                                      now=api.clock.now())  # fmt: skip
        note = (await session.execute(select(CreditNote.id))).scalar_one()
    return str(note)


async def build_world(api: Api) -> World:
    admin = api.admin
    pack = api.app.state.settings.packs[0].code
    a = await api.customer(name="Alpha Direct", email="alpha@direct.example")
    b = await api.customer(
        name="Bravo Secretname", email="bravo@secret.example", code_word="blue falcon"
    )
    p = await api.customer(name="Papa Partner", email="p@partners.example", partner=True)
    q = await api.customer(name="Quebec Partner", email="q@partners.example", partner=True)
    world = World(pack=pack, own={"customer_id": a["id"]})
    world.callers["customer key"] = await api.key(Role.customer, a["id"])
    session = await _post(api, f"/v1/customers/{a['id']}/portal-sessions", admin)
    assert session["token"].startswith("cdp_")
    world.callers["cabinet session"] = {"Authorization": f"Bearer {session['token']}"}
    world.callers["partner key"] = p_key = await _partner_key(api, p["id"])
    world.callers["integration key"] = await api.key(Role.integration)
    q_key = await _partner_key(api, q["id"])
    end = await _post(api, "/v1/customers", p_key, json={"name": "End", "email": "e@end.example"})
    world.own["end_customer_id"] = end["id"]

    # B's objects: a ticket with a message and an attachment, a paid purchase (a receipt),
    # a call, a contact; Q's webhook endpoint with a delivery.
    await api.grant(b["id"], 5)
    ticket = await _post(
        api, "/v1/tickets", admin,
        json={"customer_id": b["id"], "line": "customer_relations",
              "subject": "Bravo secret subject", "body": "Bravo secret body"},
    )  # fmt: skip
    message = await _post(
        api, f"/v1/tickets/{ticket['id']}/messages", admin, json={"body": "Bravo secret reply"}
    )
    attached = await _post(
        api, f"/v1/tickets/{ticket['id']}/attachments", admin,
        files=[("files", ("bravo-secret.txt", b"bravo secret file", "text/plain"))],
    )  # fmt: skip
    purchase = await _post(api, f"/v1/customers/{b['id']}/purchases", admin, json={"pack": pack})
    assert purchase["status"] == "succeeded", purchase
    credit_note = await _refunded(api, purchase["id"])
    now = api.clock.now()
    call = await _post(
        api, f"/v1/customers/{b['id']}/calls", await api.key(Role.cr_agent),
        json={"started_at": (now - timedelta(minutes=5)).isoformat(), "duration_minutes": 5,
              "topic": "Bravo secret call", "verified": True},
    )  # fmt: skip
    b_session = await _post(api, f"/v1/customers/{b['id']}/portal-sessions", admin)
    contact = await _post(
        api, f"/v1/customers/{b['id']}/contacts", admin, json={"email": "other@secret.example"}
    )
    api.clock.advance(timedelta(seconds=1))  # an endpoint hears what happens from its creation
    hook = await _post(
        api, "/v1/webhook-endpoints", q_key,
        json={"url": "http://127.0.0.1:9/hooks", "events": ["*"], "description": "Quebec"},
    )  # fmt: skip
    api.clock.advance(timedelta(seconds=1))
    await _post(api, "/v1/customers", q_key, json={"name": "Q end", "email": "qe@end.example"})
    await delivery.fan_out(api.db, api.clock.now(), api.app.state.settings)
    deliveries = await api.client.get(
        f"/v1/webhook-endpoints/{hook['id']}/deliveries", headers=q_key
    )
    assert deliveries.status_code == 200 and deliveries.json()["data"], deliveries.text
    world.other = {
        "customer_id": b["id"],
        "ticket_id": ticket["id"],
        "message_id": message["id"],
        "attachment_id": attached["data"][0]["id"],
        "purchase_id": purchase["id"],
        "call_id": call["id"],
        "contact_id": contact["id"],
        "endpoint_id": hook["id"],
        "delivery_id": deliveries.json()["data"][0]["id"],
        "session_id": b_session["id"],
        "credit_note_id": credit_note,
    }
    world.secrets = {*world.other.values(), "Bravo", "bravo", "Quebec"}
    return world


# ---------------------------------------------------------------- requests


def _examples(world: World, targets: dict[str, str], now: str) -> dict[str, Any]:
    """A valid body per body model (by class name); a new model without one fails."""
    return {
        "CustomerUpdate": {"auto_accept_transfers": True, "low_balance_threshold": 3},
        "VerifyCallerIn": {"code_word": "blue falcon"},
        "ApiKeyCreate": {
            "role": "customer",
            "name": "probe",
            "customer_id": targets["customer_id"],
        },
        "SpendCreate": {"amount": {"amount": 1_000_000, "currency": "EUR"}, "reference": "probe"},
        "AdjustmentCreate": {"credits": 5, "reason": "probe"},
        "PurchaseCreate": {"pack": world.pack},
        "TicketCreate": {
            "customer_id": targets["customer_id"],
            "line": "customer_relations",
            "subject": "Probe subject",
            "body": "Probe body",
        },
        "MessageCreate": {"body": "probe"},
        "TransferCreate": {"to_line": "technical"},
        "MergeCreate": {"into": targets["ticket_id"]},
        "OutOfScopeCreate": {"reason": "probe"},
        "BugConfirmationCreate": {"bug_reference": "BUG-1"},
        "StatusChange": {"status": "closed"},
        "ContactCreate": {"email": "probe@probe.example"},
        "AssignmentCreate": {"assignee": "probe"},
        "LevelAssignment": {"level_id": None},
        "CallCreate": {
            "started_at": now,
            "duration_minutes": 5,
            "topic": "probe",
            "verified": True,
        },
        "WorkLogCreate": {"minutes": 30, "note": "probe"},
        "AllowanceWrite": {"hours_per_month": 9},
        "PlanWrite": {"expected_completion_at": now},
        "AutoTopUpUpdate": {"enabled": False, "pack": world.pack, "threshold": 1},
        "SetupCreate": {"offline_card": "ok"},
        "SetupComplete": {"setup_intent_id": "seti_probe"},
        "EndpointUpdate": {"description": "probe", "status": "disabled"},
    }


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    kwargs: dict[str, Any]


def request_for(
    route: Route, method: str, targets: dict[str, str], examples: dict[str, Any]
) -> Request:
    path = route.path.format(**{p: targets[p] for p in route.params("path")})
    kwargs: dict[str, Any] = {}
    if "customer_id" in route.params("query"):
        kwargs["params"] = {"customer_id": targets["customer_id"]}
    annotation = route.body_model()
    model = _model(annotation)
    if model is not None:
        assert model.__name__ in examples, f"{route.name}: add a valid {model.__name__} example"
        body = examples[model.__name__]
        TypeAdapter(annotation).validate_python(body)  # valid, so only the rule can refuse it
        kwargs["json"] = body
    elif annotation is not None:  # multipart uploads
        kwargs["files"] = [("files", ("probe.txt", b"probe", "text/plain"))]
    return Request(method, path, kwargs)


def _problem(response: Any) -> tuple[Any, ...]:
    body = response.json() if response.headers.get("content-type", "").endswith("json") else {}
    return response.status_code, body.get("code"), body.get("title"), body.get("detail")


async def snapshot(api: Api) -> dict[str, list[str]]:
    """Every row of every table (an API key's `last_used_at` aside: a refused call through
    a route that authenticates in a transaction of its own may record it)."""
    async with api.db.engine.connect() as conn:
        query = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        tables = sorted(
            t for t in (await conn.execute(text(query))).scalars() if t != "alembic_version"
        )
        rows = {}
        for table in tables:
            result = await conn.execute(text(f'SELECT * FROM "{table}"'))  # catalogue names
            keys = [k for k in result.keys() if (table, k) != ("api_keys", "last_used_at")]  # noqa: SIM118
            rows[table] = sorted(repr(tuple(r[k] for k in keys)) for r in result.mappings())
        return rows


def _changes(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    return [t for t in before if before[t] != after.get(t)]


def _out_of_reach(kind: str, route: Route) -> bool:
    """Does this route name something out of this caller's reach?"""
    if CALLERS[kind][1] == "endpoints":
        return bool(route.named()) and route.named() <= {"path:endpoint_id", "path:delivery_id"}
    return bool(route.named())


@pytest.fixture
async def world(api: Api) -> World:
    return await build_world(api)


async def test_nothing_out_of_reach_answers_or_changes(api: Api, world: World) -> None:
    # The callers work: each reads what is in its reach.
    for kind, customer in (("customer key", "customer_id"), ("cabinet session", "customer_id"),
                           ("partner key", "end_customer_id")):  # fmt: skip
        own = await api.client.get(
            f"/v1/customers/{world.own[customer]}/balance", headers=world.callers[kind]
        )
        assert own.status_code == 200, (kind, own.text)
    routes = [r for r in route_table(api.app) if r.named()]
    now = (api.clock.now() - timedelta(minutes=1)).isoformat()
    missing = {p: f"{prefix}_missing00000000" for p, prefix in OWNED.items()}
    failures: list[str] = []
    calls = 0
    baseline = await snapshot(api)
    for route in routes:
        for method in route.methods:
            for kind, (role, _) in CALLERS.items():
                if not _out_of_reach(kind, route):
                    continue
                headers = world.callers[kind]
                out = request_for(route, method, world.other, _examples(world, world.other, now))
                nobody = request_for(route, method, missing, _examples(world, missing, now))
                absent = await api.client.request(
                    nobody.method, nobody.path, headers=headers, **nobody.kwargs
                )
                answer = await api.client.request(
                    out.method, out.path, headers=headers, **out.kwargs
                )
                calls += 1
                after = await snapshot(api)
                label = f"{method} {route.path} as {kind}"
                if changed := _changes(baseline, after):
                    failures.append(f"{label}: {answer.status_code}, changed {changed}")
                    baseline = after
                admitted = route.roles() is None or role in route.roles()  # type: ignore[operator]
                if admitted and answer.status_code != 404:
                    failures.append(f"{label}: {answer.status_code} {answer.text[:160]}")
                elif _problem(answer) != _problem(absent):
                    failures.append(
                        f"{label}: {_problem(answer)} but a nonexistent id gets {_problem(absent)}"
                    )
                elif leaked := [s for s in world.secrets if s in answer.text]:
                    failures.append(f"{label}: the answer shows {leaked}")
    print(
        f"\naccess rule: {len(routes)} routes naming a customer × {len(CALLERS)} caller kinds"
        f" ({', '.join(CALLERS)}): {calls} calls out of reach"
    )
    assert not failures, "\n".join(failures)


async def test_lists_show_only_what_is_in_reach(api: Api, world: World) -> None:
    lists = [
        r for r in route_table(api.app)
        if "GET" in r.methods and r.path.startswith("/v1/") and not r.params("path")
        and r.dependant is not None
    ]  # fmt: skip
    # What is to hide is there to see: the admin lists B's objects (on PostgreSQL an event
    # is listed once every older transaction of the cluster has ended).
    for _ in range(300):
        events = await api.client.get(
            "/v1/events", params={"customer_id": world.other["customer_id"]}, headers=api.admin
        )
        if events.json()["data"]:
            break
        await asyncio.sleep(0.1)
    assert events.json()["data"], "the admin sees B's events"
    failures = []
    for route in lists:
        for kind, (_, reach) in CALLERS.items():
            response = await api.client.get(route.path, headers=world.callers[kind])
            if response.status_code == 403 or (
                reach == "endpoints" and "webhook" not in route.path
            ):
                continue
            assert response.status_code == 200, (route.name, kind, response.text)
            text_ = (
                json.dumps(response.json())
                if "json" in response.headers["content-type"]
                else response.text
            )
            if leaked := [s for s in world.secrets if s in text_]:
                failures.append(f"{route.name} as {kind} shows {leaked}")
    assert not failures, "\n".join(failures)


async def test_a_partner_key_cannot_relay_mail_as_another_customer(api: Api, world: World) -> None:
    """The mail relay route names no customer: the mail's sender picks one. A partner's key
    reaches only its tree, so it may not relay (403); the relay is an unscoped key's."""
    raw = (
        b"From: Bravo <bravo@secret.example>\r\nTo: support@desk.test\r\n"
        b"Subject: Please refund everything\r\nMessage-ID: <probe-1@secret.example>\r\n"
        b"\r\nA ticket opened by someone else.\r\n"
    )
    before = await snapshot(api)
    for kind in ("partner key", "customer key", "cabinet session"):
        response = await api.client.post(
            "/v1/inbound/email", content=raw, headers=world.callers[kind]
        )
        assert response.status_code == 403, (kind, response.text)
        assert response.json()["code"] == "forbidden"
    assert _changes(before, await snapshot(api)) == []
    relayed = await api.client.post(
        "/v1/inbound/email", content=raw, headers=world.callers["integration key"]
    )
    assert relayed.status_code == 200 and relayed.json()["outcome"] == "created", relayed.text
