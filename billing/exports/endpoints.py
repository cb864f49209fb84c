"""Finance exports over HTTP.

A plain APIRouter, not TransactionalRoute: a streamed body outlives the request's
transaction, so each export reads through its own connections (see repository.py), and the
caller's key is checked in a short session of its own.

The journal, the books, deferred revenue and lot aging read from the read replica when one
is configured (`CREDITDESK_READ_REPLICA_URL`, `get_reader`): long reads for finance, which
tolerate missing the last seconds of postings. The key check stays on the primary (it
records the key's use), and so does a customer's statement: a customer who just bought
credits expects to see them on it."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from typing import IO, Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response, StreamingResponse

from app.kit.access import authenticate_apart, customer_guard
from app.kit.auth import STAFF, Principal, Role
from app.kit.clock import Clock
from app.kit.db import Database
from app.kit.deps import get_settings
from app.kit.errors import NotFound, ValidationFailed, problem_responses
from app.settings import Settings
from billing.exports import service
from billing.exports.account_map import AccountMapRead, load_account_map
from billing.exports.aging import LotAgingRead, lot_aging, lot_aging_csv
from billing.exports.books import Summary
from billing.exports.periods import Period, parse_moment, parse_period
from billing.exports.schemas import DeferredRevenueRead
from billing.exports.writers import BOOKS_FORMATS, CONTENT_TYPES, BooksFormat, Format

router = APIRouter(prefix="/v1", tags=["finance exports"])

From = Annotated[
    str | None,
    Query(alias="from", max_length=40, description="start, inclusive: `2026-11-01` or RFC 3339"),
]
To = Annotated[
    str | None, Query(max_length=40, description="end, exclusive: `2026-12-01` or RFC 3339")
]
FILE_CHUNK = 1 << 20


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_reader(request: Request) -> Database:
    """The read replica if configured, else the primary (`Database.reader`)."""
    db: Database = request.app.state.db
    return db.reader


# The caller's key, checked in a short transaction of its own.
export_principal = authenticate_apart
StatementCustomer = Annotated[str, Depends(customer_guard(export_principal))]


async def finance_principal(principal: Principal = Depends(export_principal)) -> Principal:
    principal.require(Role.finance, Role.admin)
    return principal


async def _primed(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Runs the export up to its first chunk before the response starts, so that a
    database that does not answer is a 503 problem rather than a cut-off 200; a failure
    later can only cut the (chunked) body short, which clients see as an error."""
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        first = b""

    async def body() -> AsyncIterator[bytes]:
        try:
            yield first
            async for chunk in chunks:
                yield chunk
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]

    return body()


async def _file_chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(file.read, FILE_CHUNK):
            yield chunk
    finally:
        file.close()


def _attachment(filename: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    }


def _file_response(content_type: str) -> dict[int | str, dict[str, object]]:
    return {200: {"description": "the export, streamed", "content": {content_type: {}}}}


@router.get(
    "/exports/journal",
    response_class=Response,
    responses={
        200: {
            "description": "one row per journal line (or journal line in the books), streamed",
            "content": {t: {} for t in CONTENT_TYPES.values()},
        },
        **problem_responses(401, 403, 422, 503),
    },
)
async def export_journal(
    request: Request,
    from_: From = None,
    to: To = None,
    format: Format | BooksFormat = Query(
        "csv", description="csv, jsonl, xlsx (the journal) or xero, quickbooks, datev (the books)"
    ),
    summary: Summary = Query(
        "none",
        description="books formats: one journal per transaction (`none`), or per day or "
        "month and account pair",
    ),
    _: Principal = Depends(finance_principal),
    db: Database = Depends(get_reader),
    settings: Settings = Depends(get_settings),
) -> Response:
    """The journal of `[from, to)`, streamed: one row per line, in posting order (csv,
    jsonl, xlsx); or its money lines as the books import them (xero: one CSV, or a ZIP of
    CSV files of at most 300 lines each when the period needs more; quickbooks; datev),
    dated and bounded in the books' time zone."""
    if format in BOOKS_FORMATS:
        return await _books_response(request, db, settings, from_, to, format, summary)
    if summary != "none":
        raise ValidationFailed("`summary` applies to xero, quickbooks and datev.", field="summary")
    period = parse_period(from_, to, max_days=settings.export_max_days)
    headers = _attachment(service.journal_filename(period, format))
    if format == "xlsx":
        return await _xlsx_response(db, period, headers)
    chunks = await _primed(service.journal_text(db, period, format))  # type: ignore[arg-type]
    return StreamingResponse(chunks, media_type=CONTENT_TYPES[format], headers=headers)


async def _books_response(
    request: Request,
    db: Database,
    settings: Settings,
    from_: str | None,
    to: str | None,
    fmt: BooksFormat,
    summary: Summary,
) -> Response:
    zone = settings.books_zone
    period = parse_period(from_, to, max_days=settings.export_max_days, zone=zone)
    account_map = await service.books_account_map(db, period, settings, fmt)
    if fmt == "xero":
        file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _file_chunks
        try:
            kind, _ = await service.journal_xero(db, period, settings, account_map, summary, file)
            size = file.tell()
            file.seek(0)
        except BaseException:
            file.close()
            raise
        headers = _attachment(service.journal_filename(period, fmt, kind))
        return StreamingResponse(
            _file_chunks(file),
            media_type=CONTENT_TYPES[kind],
            headers={**headers, "Content-Length": str(size)},
        )
    chunks = await _primed(
        service.journal_books_text(db, period, fmt, settings, account_map, summary)
    )
    headers = _attachment(service.journal_filename(period, fmt))
    return StreamingResponse(chunks, media_type=CONTENT_TYPES[fmt], headers=headers)


@router.get(
    "/exports/account-map",
    response_model=AccountMapRead,
    responses={**problem_responses(401, 403)},
)
async def read_account_map(
    _: Principal = Depends(finance_principal),
    settings: Settings = Depends(get_settings),
) -> AccountMapRead:
    """The account map in force: each CreditDesk money account → its code and name in the
    books (the default chart, with the file's accounts over it)."""
    return load_account_map(settings).read()


async def _xlsx_response(db: Database, period: Period, headers: dict[str, str]) -> Response:
    # A zip is finished only at its end: the workbook is built in a temporary file first
    # (rows stream into it, memory stays flat), then sent from there.
    file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _file_chunks
    try:
        await service.journal_xlsx(db, period, file)
        size = file.tell()
        file.seek(0)
    except BaseException:
        file.close()
        raise
    return StreamingResponse(
        _file_chunks(file),
        media_type=CONTENT_TYPES["xlsx"],
        headers={**headers, "Content-Length": str(size)},
    )


@router.get(
    "/exports/deferred-revenue",
    response_model=DeferredRevenueRead,
    responses={
        200: {"content": {"text/csv": {}}, "description": "the roll-forward"},
        **problem_responses(401, 403, 422, 503),
    },
)
async def export_deferred_revenue(
    from_: From = None,
    to: To = None,
    format: Literal["json", "csv"] = Query("json", description="json or csv"),
    _: Principal = Depends(finance_principal),
    db: Database = Depends(get_reader),
    settings: Settings = Depends(get_settings),
) -> DeferredRevenueRead | Response:
    """Deferred revenue roll-forward of `[from, to)` in money and in credits."""
    period = parse_period(from_, to, max_days=settings.export_max_days)
    report = await service.deferred_revenue(db, period, currencies=[settings.currency])
    if format == "csv":
        return Response(
            service.deferred_revenue_csv(report),
            media_type=CONTENT_TYPES["csv"],
            headers=_attachment(f"deferred_revenue_{period.slug()}.csv"),
        )
    return report


@router.get(
    "/exports/lot-aging",
    response_model=LotAgingRead,
    responses={
        200: {"content": {"text/csv": {}}, "description": "the liability by lot age"},
        **problem_responses(401, 403, 422, 503),
    },
)
async def export_lot_aging(
    request: Request,
    at: str | None = Query(
        None, max_length=40, description="the moment (date or RFC 3339); default: now"
    ),
    format: Literal["json", "csv"] = Query("json", description="json or csv"),
    _: Principal = Depends(finance_principal),
    db: Database = Depends(get_reader),
    settings: Settings = Depends(get_settings),
) -> LotAgingRead | Response:
    """The contract liability at `at` by the age of the lots holding it (0–30, 31–90,
    91–180, 181–365, > 365 days), by source and by time to expiry, in money (net of VAT)
    and credits."""
    clock: Clock = request.app.state.clock
    moment = clock.now() if at is None else parse_moment(at, "at", settings.books_zone)
    report = await lot_aging(db, moment, settings.currency)
    if format == "csv":
        return Response(
            lot_aging_csv(report),
            media_type=CONTENT_TYPES["csv"],
            headers=_attachment(f"lot_aging_{moment:%Y-%m-%dT%H%M%SZ}.csv"),
        )
    return report


@router.get(
    "/customers/{customer_id}/statement.csv",
    response_class=Response,
    responses={**_file_response(CONTENT_TYPES["csv"]), **problem_responses(401, 403, 404, 422)},
)
async def export_statement(
    customer_id: StatementCustomer,
    from_: From = None,
    to: To = None,
    principal: Principal = Depends(export_principal),
    db: Database = Depends(get_db),
    settings: Settings = Depends(get_settings),
) -> Response:
    """The customer's credit statement as CSV, oldest first (the whole history unless
    `from` and `to` are given)."""
    if not principal.is_customer:
        principal.require(*STAFF, Role.finance)
    period = None
    if from_ is not None or to is not None:
        period = parse_period(from_, to, max_days=settings.export_max_days)
    if not await service.customer_exists(db, customer_id):
        raise NotFound("No such customer.")
    chunks = await _primed(service.statement_csv(db, customer_id, period))
    name = f"statement_{customer_id}" + (f"_{period.slug()}" if period else "") + ".csv"
    return StreamingResponse(chunks, media_type=CONTENT_TYPES["csv"], headers=_attachment(name))
