"""taskline's errors as HTTP answers: one status per kind, the CLI's one-line message as detail.

NotFoundError                                   404
AlreadyExistsError, IllegalTransitionError,
ConflictError, DependenciesNotMetError          409
InvalidValueError, ConfigError, invalid body    422
ProviderError                                   502
StoreError                                      503
any other TasklineError                         400
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from taskline.api.views import ErrorBody
from taskline.errors import (
    AlreadyExistsError,
    ConfigError,
    ConflictError,
    DependenciesNotMetError,
    IllegalTransitionError,
    InvalidValueError,
    NotFoundError,
    ProviderError,
    StoreError,
    TasklineError,
)

log = logging.getLogger(__name__)

STATUS_OF: tuple[tuple[type[TasklineError], int], ...] = (
    (NotFoundError, 404),
    (AlreadyExistsError, 409),
    (IllegalTransitionError, 409),
    (ConflictError, 409),
    (DependenciesNotMetError, 409),
    (InvalidValueError, 422),
    (ConfigError, 422),
    (ProviderError, 502),
    (StoreError, 503),
)

Responses = dict[int | str, dict[str, Any]]
"""Extra responses of an endpoint, for its OpenAPI description."""

NOT_FOUND: Responses = {404: {"model": ErrorBody, "description": "No such id."}}
REFUSED: Responses = {
    **NOT_FOUND,
    409: {"model": ErrorBody, "description": "Illegal move, conflict, or name taken."},
}
COMMON: Responses = {
    401: {"model": ErrorBody, "description": "Missing or wrong API token."},
    422: {"model": ErrorBody, "description": "Invalid value or request body."},
}


def status_of(error: TasklineError) -> int:
    """The HTTP status for one of taskline's errors."""
    for kind, code in STATUS_OF:
        if isinstance(error, kind):
            return code
    return 400


def one_line(text: str) -> str:
    """`text` with its line breaks turned into spaces: a detail is one line."""
    return " ".join(text.split("\n")).replace("\r", " ")


def describe_request_errors(errors: Any) -> str:
    """`body.title: Field required; query.limit: ...` from FastAPI's validation errors."""
    parts = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ()))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return one_line("invalid request: " + "; ".join(parts))


async def _taskline_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TasklineError)
    return JSONResponse({"detail": one_line(str(exc))}, status_code=status_of(exc))


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": describe_request_errors(exc.errors())}, status_code=422)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # FastAPI's "error parsing the body": not JSON, not UTF-8
        detail = one_line(f"invalid request: body: {str(exc.detail).lower()}")
        return JSONResponse({"detail": detail}, status_code=422)
    return await http_exception_handler(request, exc)


async def _refused_by_database(_request: Request, exc: Exception) -> JSONResponse:
    # The bodies keep out what a database cannot store; this is the net under them.
    log.warning("the database refused a value: %s", exc)
    detail = "invalid value: the database cannot store it"
    return JSONResponse({"detail": detail}, status_code=422)


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""
    app.add_exception_handler(TasklineError, _taskline_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _refused_by_database)
