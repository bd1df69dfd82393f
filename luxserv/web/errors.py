"""One mapping from domain errors to HTTP answers: `{"detail": "...", "field": "..."}`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from luxserv.core import errors

log = logging.getLogger(__name__)

_STATUS = {
    errors.NotFound: 404,
    errors.PermissionDenied: 403,
    errors.NotAuthenticated: 401,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.EventRejected: 422,
    errors.InvalidInput: 422,
}


class ErrorDetail(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every error answer of the JSON API: a sentence for people, and the field at fault when there is one."""

    detail: str
    field: str | None = None
    errors: list[ErrorDetail] | None = None  # request validation only: every problem found


# Documented on every operation (FastAPI `responses=`): the answers any route can give besides its own success.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody, "description": description}
    for code, description in {
        400: "Malformed request",
        401: "Not signed in, or a missing or invalid signature",
        403: "Signed in, but not allowed",
        404: "Not found (or not yours)",
        409: "Conflicts with the current state",
        413: "Body too large",
        415: "Unsupported content type",
        422: "Invalid input; `field` names it",
        429: "Too many requests; see Retry-After",
    }.items()
}


def status_for(error: errors.LuxServError) -> int:
    for cls in type(error).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 400


def error_body(message: str, field: str | None = None) -> dict[str, str]:
    body = {"detail": message}
    if field:
        body["field"] = field
    return body


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, errors.LuxServError)
    return JSONResponse(error_body(error.message, error.field), status_code=status_for(error))


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(loc) or None
    message = f"{field}: {first.get('msg')}" if field else str(first.get("msg"))
    details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in error.errors()]
    return JSONResponse({**error_body(message, field), "errors": details}, status_code=422)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    return JSONResponse(error_body(str(error.detail)), status_code=error.status_code, headers=error.headers)


async def _out_of_range(request: Request, error: Exception) -> JSONResponse:
    """A number too large for the database (an id like 99999999999999999999): nothing can have it."""
    return JSONResponse(error_body("a number in the request is out of range (no such record)"), status_code=404)


async def _client_gone(request: Request, error: Exception) -> Response:
    """The sender hung up before its body arrived (it timed out, say): nothing was stored, and no one listens."""
    log.info("client disconnected during %s %s", request.method, request.url.path)
    return Response(status_code=400)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return JSONResponse(error_body("internal error; it has been logged"), status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.LuxServError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OverflowError, _out_of_range)  # SQLite: beyond 64 bits
    app.add_exception_handler(DataError, _out_of_range)
    app.add_exception_handler(ClientDisconnect, _client_gone)  # PostgreSQL: beyond the column's integer type
    app.add_exception_handler(Exception, _unexpected)
