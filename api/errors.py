"""The one place where errors become HTTP responses: JSON {"error": {code, message}},
never a traceback, a path or upstream error text.

On the OpenAI-compatible routes (OPENAI_PATHS) errors take OpenAI's shape instead,
{"error": {message, type, param, code}}, and an invalid request is a 400, as OpenAI's
clients expect; the citeqa routes keep their own contract."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException

from citeqa import errors

log = logging.getLogger("citeqa.api")

OPENAI_PATHS = ("/v1/chat/completions", "/v1/models")


class Unauthorized(errors.CiteqaError):
    code = "unauthorized"


class Forbidden(errors.CiteqaError):
    code = "forbidden"


class RateLimited(errors.CiteqaError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Busy(errors.CiteqaError):
    code = "busy"


class ModelNotFound(errors.CiteqaError):
    code = "model_not_found"
    param = "model"


class UnsupportedOption(errors.InvalidInput):
    """An OpenAI option that would change what the reply means (n > 1, tools, ...)."""

    code = "unsupported_option"

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


STATUS: dict[type[errors.CiteqaError], int] = {
    ModelNotFound: 404,
    Unauthorized: 401,
    Forbidden: 403,
    RateLimited: 429,
    Busy: 503,
    errors.InvalidInput: 422,
    errors.DocumentNotFound: 404,
    errors.JobNotFound: 404,
    errors.IngestInProgress: 409,
    errors.UnsupportedDocumentType: 415,
    errors.DocumentTooLarge: 413,
    errors.DocumentUnreadable: 422,
    errors.ArchiveTooLarge: 413,
    errors.ProcessingTimeout: 422,
    errors.StoreUnavailable: 503,
    errors.ShuttingDown: 503,
    errors.EmbedderUnavailable: 503,
    errors.EmbedderMismatch: 503,
    errors.ConfigurationError: 503,
    errors.LLMTimeout: 504,
    errors.LLMUnavailable: 503,
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
    504: "timeout",
}


# FastAPI's detail for a body it cannot decode (bytes that are not UTF-8 JSON)
_FASTAPI_BODY_ERROR = "There was an error parsing the body"


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def is_openai_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in OPENAI_PATHS)


def _openai_type(status: int) -> str:
    if status == 401:
        return "authentication_error"
    if status == 403:
        return "permission_error"
    if status == 429:
        return "rate_limit_error"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


def error_response(
    status: int,
    code: str,
    message: str,
    retry_after: float | None = None,
    *,
    openai: bool = False,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    headers = dict(headers or {})
    if status in (429, 503, 504):
        headers["Retry-After"] = str(max(1, math.ceil(retry_after if retry_after else 5)))
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    content: dict[str, Any] = error_body(code, message)
    if openai:
        status = 400 if status == 422 else status
        content = openai_error_body(status, code, message, param)
    return JSONResponse(status_code=status, content=content, headers=headers)


def openai_error_body(
    status: int, code: str, message: str, param: str | None = None
) -> dict[str, Any]:
    """OpenAI's error shape, its `type` from the HTTP status."""
    return {
        "error": {"message": message, "type": _openai_type(status), "param": param, "code": code}
    }


def _validation_param(found: Sequence[Any]) -> str | None:
    """The request field the first validation error is about ("messages.0.role")."""
    for error in found:
        loc = [str(part) for part in error.get("loc", ()) if part != "body"]
        if loc:
            return ".".join(loc)
    return None


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers at this path (RFC 9110's Allow), not
    only those of the first route that matched it."""
    methods: set[str] = set()
    path = request.scope.get("path", "")
    for route in iter_route_contexts(request.app.routes):
        pattern = getattr(route, "path_regex", None)
        if pattern is not None and pattern.match(path) and route.methods:
            methods.update(route.methods)
    return sorted(methods)


def status_of(exc: errors.CiteqaError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.CiteqaError)
    async def _domain(request: Request, exc: errors.CiteqaError) -> JSONResponse:
        retry_after = getattr(exc, "retry_after", None)
        response = error_response(
            status_of(exc),
            exc.code,
            exc.message,
            retry_after,
            openai=is_openai_path(request.url.path),
            param=getattr(exc, "param", None),
        )
        if exc.documents is not None and not is_openai_path(request.url.path):
            content = {**error_body(exc.code, exc.message), "documents": exc.documents}
            response = JSONResponse(
                status_code=response.status_code,
                content=content,
                headers={k: v for k, v in response.headers.items() if k == "retry-after"},
            )
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(
            422,
            "invalid_request",
            errors.describe_validation(exc.errors(), "request"),
            openai=is_openai_path(request.url.path),
            param=_validation_param(exc.errors()),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = exc.status_code
        headers = dict(exc.headers or {})
        code = _HTTP_CODES.get(status, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if status == 400:
            # an invalid request like any other: 422 (400 on the OpenAI routes), so that
            # each route answers it with one documented status
            status, code = 422, "invalid_request"
            if message == _FASTAPI_BODY_ERROR:
                message = "the body is not valid JSON"
        if status == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return error_response(
            status, code, message, openai=is_openai_path(request.url.path), headers=headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            500, "internal_error", "internal error", openai=is_openai_path(request.url.path)
        )
