"""One error shape for every failure: `{"code": ..., "message": ..., "details": [...]}`."""

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException

logger = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    location: list[str | int]
    message: str
    type: str


class ErrorResponse(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = []


# What FastAPI's `responses=` takes: status code -> OpenAPI response description.
Responses = dict[int | str, dict[str, Any]]
# Declared on every router so the OpenAPI schema shows the shape clients really get.
ERROR_RESPONSES: Responses = {
    422: {"model": ErrorResponse, "description": "The request failed validation"},
}


# Stable codes for clients to branch on (HTTP reason phrases change between Python versions).
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def error_response(
    status: int, message: str, details: list[ErrorDetail] | None = None, **kwargs: Any
) -> JSONResponse:
    body = ErrorResponse(
        code=CODES.get(status, f"http_{status}"), message=message, details=details or []
    )
    return JSONResponse(body.model_dump(), status_code=status, **kwargs)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)  # noqa: S101 (registered for this type only)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return error_response(exc.status_code, message, headers=exc.headers)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 (registered for this type only)
    details = [
        ErrorDetail(location=list(error["loc"]), message=error["msg"], type=error["type"])
        for error in exc.errors()
    ]
    return error_response(422, "The request is not valid", details)


# A dependency that is down, refuses the connection or does not answer in time: the request
# cannot be served now and may be retried (503 with Retry-After); that is not a bug (500).
# Drivers raise refused connections and timeouts as OSError (asyncio's "Multiple exceptions"
# is a plain one), the pool as its own TimeoutError.
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeoutError, OSError)
# An OSError from files is a bug of the handler that hit it, not an outage.
FILE_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)
# SQLite reports a missing table or column (a migration not run) as an OperationalError too.
NOT_AN_OUTAGE = ("no such table", "no such column", "syntax error")
# PostgreSQL's own words for "not now": connection exceptions, too many connections or out of
# resources, shutting down or starting up (asyncpg's errors reach SQLAlchemy as DBAPIError).
UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")


def is_outage(exc: Exception) -> bool:
    if isinstance(exc, DBAPIError) and not isinstance(exc, OperationalError | InterfaceError):
        sqlstate = str(getattr(exc.orig, "sqlstate", "") or "")
        return exc.connection_invalidated or sqlstate[:2] in UNAVAILABLE_SQLSTATE_CLASSES
    if isinstance(exc, FILE_ERRORS):
        return False
    return not any(words in str(exc) for words in NOT_AN_OUTAGE)


async def dependency_unavailable(request: Request, exc: Exception) -> JSONResponse:
    if not is_outage(exc):
        raise exc  # on to the 500 handler, which logs the traceback
    logger.error("%s %s: a dependency is unavailable: %r", request.method, request.url.path, exc)
    retry_after = max(1, round(request.app.state.settings.dependency_timeout))
    return error_response(
        503,
        "A service this request needs is not answering; try again shortly",
        headers={"Retry-After": str(retry_after)},
    )


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises the exception after this response, so the server logs the traceback.
    return error_response(500, "Internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    for unavailable in (*UNAVAILABLE, DBAPIError):
        app.add_exception_handler(unavailable, dependency_unavailable)
    app.add_exception_handler(Exception, unexpected_error)
