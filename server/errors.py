"""One error hierarchy and one mapper: services raise `AppError`s, clients get `ErrorBody`.

No stack trace ever reaches a client; unexpected exceptions are logged with theirs and answered
with a 500 `internal_error` carrying the correlation id to quote.
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
import psycopg
from loguru import logger
from psycopg_pool import PoolTimeout

from server.logs import correlation_id_var
from server.storage.base import StorageError
from shared.models.errors import ErrorBody


class AppError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        detail: Any = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.detail = detail
        self.headers = headers or {}


class BadRequest(AppError):
    status_code, code = 400, "bad_request"


class Unauthorized(AppError):
    status_code, code = 401, "unauthorized"


class Forbidden(AppError):
    status_code, code = 403, "forbidden"


class NotFound(AppError):
    status_code, code = 404, "not_found"


class Conflict(AppError):
    status_code, code = 409, "conflict"


class PayloadTooLarge(AppError):
    status_code, code = 413, "payload_too_large"


class UnsupportedMedia(AppError):
    status_code, code = 415, "unsupported_type"


class Unprocessable(AppError):
    status_code, code = 422, "unprocessable"


class RateLimited(AppError):
    status_code, code = 429, "rate_limited"


class ServiceUnavailable(AppError):
    status_code, code = 503, "service_unavailable"


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_type",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


def _response(status: int, body: ErrorBody, headers: dict[str, str] | None = None) -> Response[ErrorBody]:
    return Response(content=body, status_code=status, media_type=MediaType.JSON, headers=headers)


def handle_app_error(_: Request[Any, Any, Any], exc: AppError) -> Response[ErrorBody]:
    body = ErrorBody(code=exc.code, message=exc.message, detail=exc.detail, correlation_id=correlation_id_var.get())
    return _response(exc.status_code, body, exc.headers)


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    status = exc.status_code
    if isinstance(exc, ValidationException):
        code, message = "validation_error", "The request is not valid."
        detail: Any = exc.extra if exc.extra else exc.detail
    elif status == 404 and exc.detail in ("Not Found", ""):
        code, message, detail = "not_found", f"No route matches {request.method} {request.url.path}.", None
    else:
        code = _HTTP_CODES.get(status, "http_error")
        message, detail = str(exc.detail), exc.extra or None
    if status == 413 and code == "payload_too_large":
        message, detail = _too_large(request)
    body = ErrorBody(code=code, message=message, detail=detail, correlation_id=correlation_id_var.get())
    return _response(status, body, exc.headers)


def _too_large(request: Request[Any, Any, Any]) -> tuple[str, dict[str, Any]]:
    """Litestar's own 413 (before the handler runs), named after the limit and its setting."""
    rt = getattr(request.app.state, "rt", None)
    limit = rt.settings.server.max_request_bytes if rt is not None else request.app.request_max_body_size
    detail: dict[str, Any] = {"limit_bytes": limit, "setting": "DOCMAN_MAX_REQUEST_BYTES"}
    return f"The request body exceeds the limit of {limit} bytes (DOCMAN_MAX_REQUEST_BYTES).", detail


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    logger.opt(exception=exc).error("unhandled error serving {} {}: {}", request.method, request.url.path, exc)
    body = ErrorBody(
        code="internal_error",
        message="An unexpected error occurred; quote the correlation id when reporting it.",
        correlation_id=correlation_id_var.get(),
    )
    return _response(500, body)


_STORAGE_STATUS = {"storage_unavailable": (503, "File storage is unavailable; try again shortly."),
                   "object_not_found": (404, "The stored file is missing."),
                   "invalid_key": (400, "Invalid storage key.")}


def handle_storage_error(request: Request[Any, Any, Any], exc: StorageError) -> Response[ErrorBody]:
    """File storage failures: a dependency problem (503), not a bug (500); details go to the log."""
    status, message = _STORAGE_STATUS.get(exc.code, (503, "File storage failed."))
    logger.error("file storage error serving {} {}: {}", request.method, request.url.path, exc.message)
    body = ErrorBody(code=exc.code, message=message, correlation_id=correlation_id_var.get())
    return _response(status, body, {"Retry-After": "5"} if status == 503 else None)


def handle_database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    """An exhausted pool or an unreachable database is a dependency problem: 503, not a bug."""
    busy = isinstance(exc, PoolTimeout)
    logger.error("database {} serving {} {}: {}", "pool exhausted" if busy else "unavailable",
                 request.method, request.url.path, exc)
    body = ErrorBody(
        code="database_busy" if busy else "database_unavailable",
        message="The database is too busy to answer now; try again shortly." if busy
        else "The database is unavailable; try again shortly.",
        correlation_id=correlation_id_var.get(),
    )
    return _response(503, body, {"Retry-After": "2"})


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    AppError: handle_app_error,
    PoolTimeout: handle_database_error,
    psycopg.OperationalError: handle_database_error,
    StorageError: handle_storage_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
