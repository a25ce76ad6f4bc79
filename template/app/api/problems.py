"""Every error leaves the service as RFC 9457 problem details (`application/problem+json`).

Domain errors raised by services become 404/409/412; database trouble becomes 503 (or 504 for a
statement timeout) with Retry-After; anything unexpected becomes a bare 500. Bodies never carry
tracebacks, SQL, connection strings or exception class names.
"""

import logging
from collections.abc import Callable, Coroutine, Mapping
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from app.api.request_id import REQUEST_ID_HEADER
from app.core.errors import (
    ConflictError,
    DomainError,
    InvalidCursorError,
    InvalidReferenceError,
    NotFoundError,
    VersionMismatchError,
)
from app.db.errors import DATA_EXCEPTION_CLASS, QUERY_CANCELED, sqlstate
from app.schemas.problem import PROBLEM_MEDIA_TYPE, FieldError, Problem

logger = logging.getLogger(__name__)

STATUS_OF_DOMAIN_ERROR: dict[type[DomainError], int] = {
    InvalidCursorError: 400,  # any string is a cursor to the schema; only the API's own are valid
    NotFoundError: 404,
    ConflictError: 409,
    InvalidReferenceError: 409,  # well-formed, but the record it names is not (or no longer) there
    VersionMismatchError: 412,
}
RETRY_AFTER_SECONDS = 5
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

Handler = Callable[[Request, Any], Coroutine[Any, Any, Response]]


def problem(
    instance: str,
    status: int,
    detail: str | None = None,
    *,
    errors: list[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A problem details response about the request for path `instance`."""
    body = Problem(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=instance,
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
    return problem(request.url.path, status, exc.detail)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    detail = exc.detail if exc.detail != HTTPStatus(exc.status_code).phrase else None
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return problem(request.url.path, exc.status_code, detail, headers=headers)


def _allowed_methods(request: Request) -> str:
    """Every method the path supports; Starlette's own 405 lists only the first route's."""
    routes = request.app.router.routes

    def allowed(method: str) -> bool:
        scope = {**request.scope, "method": method}
        return any(route.matches(scope)[0] == Match.FULL for route in routes)

    return ", ".join(filter(allowed, HTTP_METHODS))


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = [
        FieldError(loc=list(error["loc"]), msg=error["msg"], type=error["type"])
        for error in exc.errors()
    ]
    return problem(request.url.path, 422, "The request is invalid; see `errors`.", errors=errors)


async def _database_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, IntegrityError):
        return problem(request.url.path, 409, "The change conflicts with existing data.")
    if isinstance(exc, DBAPIError) and sqlstate(exc).startswith(DATA_EXCEPTION_CLASS):
        detail = "A value does not fit the database column it is stored in."
        return problem(request.url.path, 422, detail)
    if isinstance(exc, DBAPIError) and sqlstate(exc) == QUERY_CANCELED:
        logger.warning("statement timeout on %s %s", request.method, request.url.path)
        return problem(request.url.path, 504, "The database took too long to answer.")
    logger.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
    return problem(
        request.url.path,
        503,
        "The database is unavailable; retry later.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # This runs outside the request middleware (Starlette's outermost layer), so the request
    # id is put back by hand, into the log line and onto the response.
    request_id = getattr(request.state, "request_id", "")
    with structlog.contextvars.bound_contextvars(request_id=request_id):
        logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        request.url.path,
        500,
        "An unexpected error occurred.",
        headers={REQUEST_ID_HEADER: request_id} if request_id else None,
    )


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
