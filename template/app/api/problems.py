"""Every error leaves the service as RFC 9457 problem details (`application/problem+json`).

Domain errors raised by services become 404/409/412/422; database trouble becomes 503 (or 504 for a
statement timeout) with Retry-After; anything unexpected becomes a bare 500. Bodies never carry
tracebacks, SQL, connection strings or exception class names.
"""

import logging
from collections.abc import Callable, Coroutine, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException

from app.core.errors import (
    ConflictError,
    DomainError,
    InvalidReferenceError,
    NotFoundError,
    VersionMismatchError,
)
from app.db.errors import DATA_EXCEPTION_CLASS, QUERY_CANCELED, sqlstate
from app.schemas.problem import PROBLEM_MEDIA_TYPE, FieldError, Problem

logger = logging.getLogger(__name__)

STATUS_OF_DOMAIN_ERROR: dict[type[DomainError], int] = {
    NotFoundError: 404,
    ConflictError: 409,
    VersionMismatchError: 412,
    InvalidReferenceError: 422,
}
RETRY_AFTER_SECONDS = 5

Handler = Callable[[Request, Any], Coroutine[Any, Any, Response]]


def problem(
    request: Request,
    status: int,
    detail: str | None = None,
    *,
    errors: list[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=errors,
    )
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problem statuses a route can answer with."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


async def _domain_error(request: Request, exc: DomainError) -> Response:
    status = next(code for kind, code in STATUS_OF_DOMAIN_ERROR.items() if isinstance(exc, kind))
    return problem(request, status, exc.detail)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    detail = exc.detail if exc.detail != HTTPStatus(exc.status_code).phrase else None
    return problem(request, exc.status_code, detail, headers=exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = [
        FieldError(loc=list(error["loc"]), msg=error["msg"], type=error["type"])
        for error in exc.errors()
    ]
    return problem(request, 422, "The request is invalid; see `errors`.", errors=errors)


async def _database_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, IntegrityError):
        return problem(request, 409, "The change conflicts with existing data.")
    if isinstance(exc, DBAPIError) and sqlstate(exc).startswith(DATA_EXCEPTION_CLASS):
        return problem(request, 422, "A value does not fit the database column it is stored in.")
    if isinstance(exc, DBAPIError) and sqlstate(exc) == QUERY_CANCELED:
        logger.warning("statement timeout on %s %s", request.method, request.url.path)
        return problem(request, 504, "The database took too long to answer.")
    logger.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
    return problem(
        request,
        503,
        "The database is unavailable; retry later.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(request, 500, "An unexpected error occurred.")


def problem_handlers() -> dict[int | type[Exception], Handler]:
    """The exception handlers to give `FastAPI(exception_handlers=...)`."""
    database_trouble: list[type[Exception]] = [DBAPIError, PoolTimeoutError, OSError, TimeoutError]
    return {
        DomainError: _domain_error,
        HTTPException: _http_error,
        RequestValidationError: _validation_error,
        **dict.fromkeys(database_trouble, _database_error),
        Exception: _unexpected_error,
    }
