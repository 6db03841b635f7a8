"""One error shape for every failure: `{"code": ..., "message": ..., "details": [...]}`."""

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5


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
# cannot be served now, and may be retried (503 with Retry-After), which is not a bug (500).
# OSError covers refused and reset connections as the drivers raise them, and timeouts
# (TimeoutError is an OSError).
UNAVAILABLE = (OperationalError, InterfaceError, OSError)


async def dependency_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.error("%s %s: a dependency is unavailable: %r", request.method, request.url.path, exc)
    return error_response(
        503,
        "A service this request needs is not answering; try again shortly",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises the exception after this response, so the server logs the traceback.
    return error_response(500, "Internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    for unavailable in UNAVAILABLE:
        app.add_exception_handler(unavailable, dependency_unavailable)
    app.add_exception_handler(Exception, unexpected_error)
