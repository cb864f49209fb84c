"""One error family, rendered as RFC 9457 problem+json by one set of handlers."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any, ClassVar

import fastapi.routing
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import compile_path

logger = logging.getLogger("creditdesk.errors")

PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    """RFC 9457 problem details. `code` is the stable machine-readable reason; some
    problems carry more members (see the per-error schemas)."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(examples=["urn:creditdesk:problem:not_found"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str = Field(description="for people; may change")
    code: str = Field(description="stable; every code, its status and meaning: docs/errors.md")


class FieldError(BaseModel):
    field: str = Field(description="where: `limit`, `subject`, `lines.0.amount`, …")
    message: str
    type: str | None = None


class ValidationProblem(Problem):
    """422: `validation_error` lists each invalid `field`; other 422 codes
    (`idempotency_key_reused`, `subject_not_specific`, …) have no `errors`."""

    model_config = ConfigDict(title="ValidationProblem")

    errors: list[FieldError] | None = None


# The schema of each status's problem when an operation names nothing more specific.
DEFAULT_SCHEMAS: dict[int, type[Problem]] = {422: ValidationProblem}


class AppError(Exception):
    """A failure the client can act on: `code` is stable, `detail` is for people.
    `schema` is the problem body's OpenAPI schema (a `Problem` subclass naming its extras)."""

    status: int = 400
    code: str = "bad_request"
    schema: ClassVar[type[Problem]] = Problem
    # True: every answer of this status carries this class's `schema` (402: one error).
    owns_status: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("owns_status"):
            DEFAULT_SCHEMAS[cls.status] = cls.schema

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = headers
        self.extra = extra  # untyped members: prefer typed attributes (below) when read back

    def problem_fields(self) -> dict[str, Any]:
        """The members the problem document adds after `code`, in order. A subclass with
        typed attributes (read back as `exc.available`, never by string) renders them here."""
        return dict(self.extra)


class Unauthenticated(AppError):
    status, code = 401, "unauthenticated"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    status, code = 409, "conflict"


class ValidationFailed(AppError):
    """Bad input; `field` names the offending field when there is one."""

    status, code = 422, "validation_error"
    schema = ValidationProblem

    def __init__(self, detail: str, *, field: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.field = field

    def problem_fields(self) -> dict[str, Any]:
        named = {"field": self.field} if self.field is not None else {}
        return named | self.extra


class RateLimited(AppError):
    """Too many attempts; `retry_after` seconds (also sent as `Retry-After`)."""

    status, code = 429, "rate_limited"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after

    def problem_fields(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after}


class ServiceUnavailable(AppError):
    status, code = 503, "service_unavailable"


_CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "service_unavailable",
}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:creditdesk:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update(jsonable_encoder(extra))
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)] or [str(p) for p in loc]
    return ".".join(parts)


async def _app_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return problem(exc.status, exc.code, exc.detail, headers=exc.headers, **exc.problem_fields())


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _location(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type")}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return problem(422, "validation_error", f"The request is invalid: {summary}", errors=errors)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this path (Starlette's 405 names only the first
    route's, e.g. `POST` alone on `/v1/tickets`)."""
    methods: set[str] = set()
    routes = request.app.router.routes
    iter_contexts = getattr(fastapi.routing, "iter_route_contexts", None)  # FastAPI ≥ 0.13x
    for route in iter_contexts(routes) if iter_contexts else routes:
        path_format = getattr(route, "path_format", None)
        if path_format and compile_path(path_format)[0].match(request.scope["path"]):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods | {"OPTIONS"})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        allow = ", ".join(allowed_methods(request))
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": allow})
        return problem(
            405,
            "method_not_allowed",
            "This method is not allowed on this resource.",
            headers={"Allow": allow},
        )
    code = _CODES_BY_STATUS.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = "No such resource."
    if exc.status_code == 405:
        detail = "This method is not allowed on this resource."
    return problem(exc.status_code, code, detail, headers=getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "internal_error", "An unexpected error occurred; it has been logged.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


def schema_ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def database_unavailable() -> JSONResponse:
    """The answer while the database is out of reach (`app.kit.db.is_unavailable`): 503
    `service_unavailable` with `Retry-After`. Routes get it from the app's handler, a fast
    path (app.kit.fastpath) directly."""
    return problem(
        503, "service_unavailable", "The database is unavailable; retry shortly.",
        headers={"Retry-After": "5"},
    )  # fmt: skip


def problem_responses(*answers: int | type[AppError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting problem+json answers: a status, or an
    `AppError` class whose `schema` names the members its body carries. Statuses that
    every operation of a kind can answer (401, 422, 503, …) are added centrally
    (`app.kit.openapi`); name here what only this operation does (402, 403, 409 …)."""
    by_status: dict[int, list[type[Problem]]] = {}
    for answer in answers:
        if isinstance(answer, int):
            by_status.setdefault(answer, []).append(DEFAULT_SCHEMAS.get(answer, Problem))
        else:
            by_status.setdefault(answer.status, []).append(answer.schema)
    responses: dict[int | str, dict[str, Any]] = {}
    for status, models in sorted(by_status.items()):
        unique = list(dict.fromkeys(models))
        if len(unique) > 1 and Problem not in unique:
            unique.append(Problem)  # the status's other codes
        schema = (
            schema_ref(unique[0])
            if len(unique) == 1
            else {
                "anyOf": [schema_ref(m) for m in unique if m is not Problem] + [schema_ref(Problem)]
            }
        )
        responses[status] = {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
    return responses
