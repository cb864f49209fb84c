"""Property-based fuzzing of the whole HTTP surface with schemathesis, against the app's
own OpenAPI document, over real HTTP (uvicorn on a free port), with an admin key and a
customer key (issue 12).

Every answer must be below 500 and conform to the declared responses: status code,
content type and body schema, every status included (422s are declared as problem+json
`ValidationProblem` since issue 18).

Derandomized (hypothesis `derandomize=True`), `MAX_EXAMPLES` per operation and key, so
the run is the same every time and stays within about a minute."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

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

MAX_EXAMPLES = 5
FIGURES: Counter[str] = Counter()

schema = schemathesis.openapi.from_dict(create_app(Settings(_env_file=None)).openapi())  # type: ignore[call-arg]


async def _keys(database_url: str) -> dict[str, dict[str, str]]:
    from app.customers import service
    from app.customers.schemas import CustomerCreate
    from app.kit.clock import Clock

    db = Database(database_url, pool_size=2)
    try:
        async with db.unit_of_work() as session:
            now = Clock().now()
            data = CustomerCreate(name="Fuzz Hosting", email="fuzz@acme.example")
            customer = await service.create_customer(session, data, now)
            _, admin = await service.create_api_key(
                session, role=Role.admin, name="fuzz admin", customer_id=None, now=now
            )
            _, own = await service.create_api_key(
                session, role=Role.customer, name="fuzz customer", customer_id=customer.id,
                now=now,
            )  # fmt: skip
    finally:
        await db.dispose()
    return {
        "admin": {"Authorization": f"Bearer {admin}"},
        "customer": {"Authorization": f"Bearer {own}"},
    }


@pytest.fixture(scope="module")
def served(pg_database: str) -> Iterator[tuple[str, dict[str, dict[str, str]]]]:
    url = pg_database
    asyncio.run(_truncate_pg(url))
    keys = asyncio.run(_keys(url))
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test", database_url=url, periodic_tasks_enabled=False, log_json=False,
        log_level="CRITICAL",
    )  # fmt: skip
    app = create_app(settings)
    with served_in_thread(app, log_level="critical", access_log=False) as port:
        try:
            yield f"http://127.0.0.1:{port}", keys
        finally:
            print(f"\nfuzz figures: {dict(FIGURES)}")


@schemathesis.serializer("message/rfc822")
def _raw_mail(ctx: Any, value: Any) -> bytes:
    """`POST /v1/inbound/email` takes a raw message: send what was generated as bytes."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "replace")


SCHEMA_CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)


@schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.generate],  # no shrinking, no coverage phase: CI time
)
@pytest.mark.parametrize("role", ["admin", "customer"])
def test_the_http_surface(
    case: Any, role: str, served: tuple[str, dict[str, dict[str, str]]]
) -> None:
    base_url, keys = served
    response = case.call(base_url=base_url, headers=keys[role], timeout=30)
    FIGURES["cases"] += 1
    if response.status_code >= 500:
        FIGURES["5xx"] += 1
    try:
        case.validate_response(response, checks=SCHEMA_CHECKS)
    except Exception:
        FIGURES["violations"] += 1
        raise
