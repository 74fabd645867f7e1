"""One error shape for every failure: `{"error": {"code", "message"}}`, 4xx for client faults."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from rejoinder.domain import errors as e

log = logging.getLogger("rejoinder.web")

STATUS: dict[type[e.DomainError], int] = {
    e.InvalidInput: 422,
    e.NotFound: 404,
    e.Unauthorized: 401,
    e.Forbidden: 403,
    e.InvalidTransition: 409,
    e.Conflict: 409,
    e.RateLimited: 429,
    e.Unavailable: 503,
}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None
                   ) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers=headers)


def _status_of(exc: e.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def domain_error_parts(exc: e.DomainError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, JSON body and headers for a domain error (the handler, and web/fastpath.py)."""
    headers = {}
    if isinstance(exc, e.RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, e.Unavailable):
        headers["Retry-After"] = "5"
    return _status_of(exc), {"error": {"code": exc.code, "message": exc.message}}, headers


async def domain_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, e.DomainError)
    status, body, headers = domain_error_parts(exc)
    return JSONResponse(body, status_code=status, headers=headers)


INTERNAL_ERROR = {"error": {"code": "internal_error", "message": "something went wrong on our side"}}


async def validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errs = exc.errors()
    first = errs[0] if errs else {}
    if first.get("type") == "json_invalid":
        return error_response(400, "invalid_json", "the request body is not valid JSON (UTF-8)")
    loc = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
    message = f"{loc}: {first.get('msg', 'invalid')}" if loc else str(first.get("msg", "invalid"))
    return error_response(422, "invalid_input", message)


async def http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "unsupported"}
    return error_response(exc.status_code, codes.get(exc.status_code, "http_error"),
                          str(exc.detail), dict(exc.headers or {}))


async def unexpected(_: Request, exc: Exception) -> Response:
    # A bug of ours, never the client's: log it (without request content) and say so plainly.
    log.exception("unhandled error: %s", type(exc).__name__)
    return JSONResponse(INTERNAL_ERROR, status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(e.DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
