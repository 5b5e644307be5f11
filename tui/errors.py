"""Client errors with messages meant for people: every HTTP failure becomes one of these."""

from __future__ import annotations

import msgspec

from shared.models.errors import ErrorBody


class ClientError(Exception):
    """A request that did not succeed; `str(exc)` is a sentence to show the user."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "client_error",
        correlation_id: str | None = None,
        body: ErrorBody | None = None,
        raw: bytes = b"",
    ) -> None:
        super().__init__(message)
        self.raw = raw
        self.message = message
        self.status = status
        self.code = code
        self.correlation_id = correlation_id
        self.body = body


class Unreachable(ClientError):
    """No HTTP answer at all: connection refused, DNS failure, timeout."""

    def __init__(self, url: str, reason: str = "") -> None:
        text = f"Cannot reach the server at {url}: is `docman serve` running?"
        super().__init__(f"{text} ({reason})" if reason else text, code="unreachable")
        self.url = url


class NotSignedIn(ClientError):
    """401: no session, or it expired and could not be refreshed."""


class Forbidden(ClientError):
    """403: typically an operator endpoint called by a plain user."""


class NotFound(ClientError):
    """404."""


class RateLimited(ClientError):
    """429; `retry_after` is the wait the server asked for, in seconds."""

    retry_after: float | None = None


class ServerError(ClientError):
    """5xx: quote `correlation_id` when reporting it."""


class ApiError(ClientError):
    """Any other 4xx (validation errors, conflicts, unsupported files...)."""


def _body(content: bytes) -> ErrorBody | None:
    try:
        return msgspec.json.decode(content, type=ErrorBody)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def error_for(status: int, content: bytes, headers: dict[str, str], url: str) -> ClientError:
    """The exception for an error response (`content` is its body, `headers` lower-cased names)."""
    body = _body(content)
    code = body.code if body else f"http_{status}"
    cid = (body.correlation_id if body else None) or headers.get("x-correlation-id")
    detail = body.message if body else (content[:200].decode("utf-8", "replace").strip() or f"HTTP {status}")

    def make(kind: type[ClientError], message: str) -> ClientError:
        return kind(message, status=status, code=code, correlation_id=cid, body=body, raw=content)

    if status == 401:
        return make(NotSignedIn, f"Not signed in ({code}): {detail} Sign in again (`docman login`).")
    if status == 403:
        role = " This needs the operator role." if code == "insufficient_role" else ""
        return make(Forbidden, f"Not allowed: {detail}{role}")
    if status == 404:
        return make(NotFound, detail)
    if status == 429:
        wait = _retry_after(headers.get("retry-after"))
        when = f" Try again in {wait:g} s." if wait is not None else " Try again later."
        limited = make(RateLimited, f"Too many requests: {detail}{when}")
        assert isinstance(limited, RateLimited)
        limited.retry_after = wait
        return limited
    if status >= 500:
        quote = f" (correlation id {cid})" if cid else ""
        return make(ServerError, f"The server failed ({status} {code}): {detail}{quote}")
    return make(ApiError, detail)
