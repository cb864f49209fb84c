"""Property-based fuzzing of the whole HTTP surface with schemathesis, against the app's
own OpenAPI document, over real HTTP (uvicorn on a free port), as every
kind of caller (issues 12, 25): an admin key, a customer key, a partner's scoped
integration key (`integration` bound to a `partner: true` customer) and a cabinet portal
session (the `cdp_…` token of `POST /v1/customers/{id}/portal-sessions`).

Every answer must be below 500 (or a declared 503: Stripe is not configured here) and
conform to the declared responses: status code, content type and body schema, every
status included (422s are declared as problem+json `ValidationProblem` since issue 18).
Random ids only ever find 404s, so every other request names the caller's own customer
in `{customer_id}` (the admin's: the fuzz customer), and the handlers behind the 404 are
fuzzed too.

Per caller, the requests sent, the 5xx answers and the schema violations are printed when
the run ends (`-s`) and kept in pytest's cache under `creditdesk/fuzz_figures/postgresql`
(`.pytest_cache/v/creditdesk/fuzz_figures/`).

Derandomized (hypothesis `derandomize=True`), `MAX_EXAMPLES` per operation and caller, so
the run is the same every time and stays within about a minute."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.kit.auth import Role
from app.kit.db import Database
from app.main import create_app
from app.settings import Settings
from tests.conftest import _truncate_pg, served_in_thread
from tests.waiting import REQUEST_TIMEOUT

MAX_EXAMPLES = 3
CALLERS = ["admin", "customer", "partner", "cabinet"]
ENGINE = "postgresql"  # the figures' key (the runs once had an SQLite twin)
FIGURES: dict[str, dict[str, Counter[str]]] = {}  # engine -> caller -> figures


@dataclass(frozen=True)
class Caller:
    headers: dict[str, str]
    customer_id: str  # put in `{customer_id}` on every other request


@dataclass(frozen=True)
class Served:
    base_url: str
    engine: str
    callers: dict[str, Caller]


schema = schemathesis.openapi.from_dict(create_app(Settings(_env_file=None)).openapi())  # type: ignore[call-arg]


async def _keys(database_url: str) -> dict[str, Caller]:
    """Admin, customer and partner-integration keys, minted in the database."""
    from app.customers import service
    from app.customers.schemas import CustomerCreate
    from app.kit.clock import Clock

    db = Database(database_url, pool_size=2)
    try:
        async with db.unit_of_work() as session:
            now = Clock().now()
            data = CustomerCreate(name="Fuzz Hosting", email="fuzz@acme.example")
            customer = await service.create_customer(session, data, now)
            data = CustomerCreate(name="Fuzz Reseller", email="fuzz@reseller.example", partner=True)
            partner = await service.create_customer(session, data, now)
            minted = {}
            for name, role, bound in [
                ("admin", Role.admin, None), ("customer", Role.customer, customer.id),
                ("partner", Role.integration, partner.id),
            ]:  # fmt: skip
                _, secret = await service.create_api_key(
                    session, role=role, name=f"fuzz {name}", customer_id=bound, now=now
                )
                minted[name] = Caller({"Authorization": f"Bearer {secret}"}, bound or customer.id)
    finally:
        await db.dispose()
    return minted


def _portal_session(base_url: str, admin: Caller) -> Caller:
    """The cabinet's credential, minted as a partner's back end would, over HTTP."""
    minted = httpx.post(
        f"{base_url}/v1/customers/{admin.customer_id}/portal-sessions",
        headers=admin.headers, timeout=30,
    )  # fmt: skip
    assert minted.status_code == 201, minted.text
    token = minted.json()["token"]
    assert token.startswith("cdp_")
    return Caller({"Authorization": f"Bearer {token}"}, admin.customer_id)


def _report(engine: str, cache: Any) -> None:
    figures = {caller: dict(counts) for caller, counts in FIGURES.get(engine, {}).items()}
    for caller, counts in figures.items():
        print(
            f"fuzz [{engine}] {caller}: {counts.get('requests', 0)} requests, "
            f"{counts.get('5xx', 0)} 5xx (besides {counts.get('503', 0)} declared 503), "
            f"{counts.get('violations', 0)} schema violations"
        )
    if cache is not None:
        cache.set(f"creditdesk/fuzz_figures/{engine}", figures)


@pytest.fixture(scope="module")
def served(request: pytest.FixtureRequest, pg_database: str) -> Iterator[Served]:
    url = pg_database
    asyncio.run(_truncate_pg(url))
    callers = asyncio.run(_keys(url))
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test", database_url=url, periodic_tasks_enabled=False, log_json=False,
        log_level="CRITICAL",
    )  # fmt: skip
    app = create_app(settings)
    with served_in_thread(app, log_level="critical", access_log=False) as port:
        base_url = f"http://127.0.0.1:{port}"
        callers["cabinet"] = _portal_session(base_url, callers["admin"])
        try:
            yield Served(base_url, ENGINE, callers)
        finally:
            _report(ENGINE, getattr(request.config, "cache", None))  # None: -p no:cacheprovider


@schemathesis.serializer("message/rfc822")
def _raw_mail(ctx: Any, value: Any) -> bytes:
    """`POST /v1/inbound/email` takes a raw message: send what was generated as bytes."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "replace")


CONFORMANCE = (status_code_conformance, content_type_conformance, response_schema_conformance)


@schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.generate],  # no shrinking, no coverage phase: CI time
)
@pytest.mark.parametrize("role", CALLERS)
def test_the_http_surface(case: Any, role: str, served: Served) -> None:
    caller = served.callers[role]
    figures = FIGURES.setdefault(served.engine, {}).setdefault(role, Counter())
    if "customer_id" in (case.path_parameters or {}) and figures["requests"] % 2:
        case.path_parameters["customer_id"] = caller.customer_id
    response = case.call(base_url=served.base_url, headers=caller.headers, timeout=REQUEST_TIMEOUT)
    figures["requests"] += 1
    if response.status_code == 503:
        figures["503"] += 1  # declared: no Stripe here, or the database is busy
    elif response.status_code >= 500:
        figures["5xx"] += 1
        case.validate_response(response, checks=(not_a_server_error,))  # fails, with a curl
    try:
        case.validate_response(response, checks=CONFORMANCE)
    except Exception:
        figures["violations"] += 1
        raise
