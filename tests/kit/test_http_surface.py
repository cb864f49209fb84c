"""The HTTP surface every endpoint shares: problem+json, request ids, body limit, 405,
500 without a trace, health, readiness and metrics."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Depends
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers.models import Customer
from app.kit.observability import RequestIdFilter
from app.kit.routing import TransactionalRoute
from app.kit.session import get_session
from tests.conftest import Api
from tests.kit.conftest import AppFactory

PROBLEM = "application/problem+json"
TRACE_MARKERS = ("Traceback", 'File "', "RuntimeError", "line ")


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert {"type", "title", "detail"} <= set(body)
    assert not any(marker in response.text for marker in TRACE_MARKERS)
    return body


async def test_malformed_json_is_a_422_problem(api: Api) -> None:
    response = await api.client.post(
        "/v1/customers",
        content=b'{"name": "Acme", "email": ',
        headers={**api.admin, "content-type": "application/json"},
    )
    assert_problem(response, 422, "validation_error")


async def test_invalid_fields_are_listed_without_echoing_input(api: Api) -> None:
    response = await api.client.post(
        "/v1/customers",
        json={"name": "", "email": "not-an-email", "colour": "red"},
        headers=api.admin,
    )
    body = assert_problem(response, 422, "validation_error")
    errors = body["errors"]
    assert isinstance(errors, list)
    assert {e["field"] for e in errors} == {"name", "email", "colour"}
    assert "not-an-email" not in response.text  # the input is not echoed back


async def test_unknown_path_is_a_404_problem(api: Api) -> None:
    response = await api.client.get("/v1/nothing-here", headers=api.admin)
    assert_problem(response, 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/v1/api-keys"),
        ("PATCH", "/v1/api-keys/key_x"),
        ("DELETE", "/v1/customers"),
        ("DELETE", "/v1/customers/cus_x"),
        ("GET", "/v1/customers/cus_x/verify-caller"),
        ("POST", "/healthz"),
        ("POST", "/readyz"),
        ("POST", "/metrics"),
    ],
)
async def test_wrong_method_is_a_405_problem(api: Api, method: str, path: str) -> None:
    response = await api.client.request(method, path, headers=api.admin)
    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"]


async def test_body_over_the_limit_is_refused_with_413(api: Api, app_with: AppFactory) -> None:
    async with app_with(max_body_bytes=1024) as (app, client):
        big = {"name": "A" * 2000, "email": "big@acme.example"}
        response = await client.post("/v1/customers", json=big, headers=api.admin)
        assert_problem(response, 413, "payload_too_large")
        assert response.headers["x-request-id"]

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            for _ in range(5):
                yield b" " * 400

        streamed = await client.post(
            "/v1/customers",
            content=chunks(),
            headers={**api.admin, "content-type": "application/json"},
        )
        assert "content-length" not in streamed.request.headers
        assert_problem(streamed, 413, "payload_too_large")

        small = await client.post(
            "/v1/customers", json={"name": "A", "email": "small@acme.example"}, headers=api.admin
        )
        assert small.status_code == 201, small.text
        async with app.state.db.unit_of_work() as session:
            emails = (await session.execute(select(Customer.email))).scalars().all()
        assert emails == ["small@acme.example"]


async def test_unexpected_error_is_a_bare_500_with_request_id_and_no_effect(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    async def writes_then_fails(session: AsyncSession = Depends(get_session)) -> dict[str, str]:
        session.add(
            Customer(
                id="cus_boom",
                name="Boom",
                email="boom@acme.example",
                partner=False,
                auto_accept_transfers=False,
                verify_failures=0,
                created_at=api.clock.now(),
                updated_at=api.clock.now(),
            )
        )
        await session.flush()
        raise RuntimeError("secret internals: /srv/creditdesk/app.py line 42")

    api.app.router.routes.append(
        TransactionalRoute("/v1/test-boom", writes_then_fails, methods=["POST"])
    )
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.ERROR, logger="creditdesk.errors"):
        response = await api.client.post(
            "/v1/test-boom", headers={**api.admin, "X-Request-ID": "trace-me-500"}
        )
    body = assert_problem(response, 500, "internal_error")
    assert "secret internals" not in response.text
    assert body["detail"] == "An unexpected error occurred; it has been logged."
    assert response.headers["x-request-id"] == "trace-me-500"
    logged = [r for r in caplog.records if r.name == "creditdesk.errors"]
    assert logged, "the error was not logged"
    assert logged[0].exc_info is not None  # the trace goes to the log, not the client
    assert getattr(logged[0], "request_id", None) == "trace-me-500"
    async with api.db.unit_of_work() as session:
        count = await session.scalar(select(func.count()).where(Customer.id == "cus_boom"))
    assert count == 0  # the transaction was rolled back


async def test_request_id_is_echoed_when_safe_and_generated_otherwise(api: Api) -> None:
    echoed = await api.client.get("/healthz", headers={"X-Request-ID": "abc-123.DEF:9_z"})
    assert echoed.headers["x-request-id"] == "abc-123.DEF:9_z"

    generated = await api.client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])

    unsafe = await api.client.get("/healthz", headers={"X-Request-ID": "evil\tinjected value"})
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe.headers["x-request-id"])

    too_long = await api.client.get("/healthz", headers={"X-Request-ID": "a" * 129})
    assert re.fullmatch(r"[0-9a-f]{32}", too_long.headers["x-request-id"])

    other = await api.client.get("/healthz")
    assert other.headers["x-request-id"] != generated.headers["x-request-id"]

    problem = await api.client.get("/v1/customers")
    assert problem.status_code == 401
    assert re.fullmatch(r"[0-9a-f]{32}", problem.headers["x-request-id"])


async def test_healthz_and_readyz_answer_when_the_database_is_up(api: Api) -> None:
    health = await api.client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


async def test_readyz_is_503_and_api_is_503_when_the_database_is_down(
    app_with: AppFactory,
) -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:1/creditdesk"  # nothing listens on port 1
    async with app_with(database_url=url) as (_app, client):
        health = await client.get("/healthz")
        assert health.status_code == 200  # liveness does not depend on the database
        ready = await client.get("/readyz")
        assert_problem(ready, 503, "service_unavailable")
        api_call = await client.get("/v1/customers", headers={"Authorization": "Bearer cdk_x"})
        assert_problem(api_call, 503, "service_unavailable")
        assert api_call.headers["retry-after"]


async def test_metrics_count_requests_by_route_template(api: Api) -> None:
    customer = await api.customer()
    await api.client.get(f"/v1/customers/{customer['id']}", headers=api.admin)
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'creditdesk_http_requests_total{method="GET",route="/v1/customers/{customer_id}",'
        'status="200"} 1.0' in text
    )
    assert 'route="/v1/customers",status="201"} 1.0' in text
    assert "creditdesk_http_request_duration_seconds_bucket" in text
    assert customer["id"] not in text  # ids never become label values


async def test_metrics_token_when_configured(api: Api, app_with: AppFactory) -> None:
    async with app_with(metrics_token=SecretStr("metrics-token-for-tests")) as (_app, client):
        assert_problem(await client.get("/metrics"), 401, "unauthenticated")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert_problem(wrong, 401, "unauthenticated")
        right = await client.get(
            "/metrics", headers={"Authorization": "Bearer metrics-token-for-tests"}
        )
        assert right.status_code == 200
        assert "creditdesk_http_requests_total" in right.text


async def test_405_and_options_name_every_method_of_the_path(api: Api) -> None:
    """`/v1/tickets` has a GET and a POST route: both are allowed, whichever matched first."""
    response = await api.client.request("DELETE", "/v1/tickets", headers=api.admin)
    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, OPTIONS, POST"
    options = await api.client.options("/v1/tickets", headers=api.admin)
    assert options.status_code == 204
    assert options.headers["allow"] == "GET, OPTIONS, POST"
    single = await api.client.options("/v1/customers/cus_x/verify-caller")
    assert single.headers["allow"] == "OPTIONS, POST"
