"""Standard security headers on every HTTP response (errors and unknown routes included).

API responses get a Content-Security-Policy that allows nothing (`default-src 'none'`): they are
data, never pages. The interactive docs under /schema load Swagger UI's scripts and styles from
its CDN, so they get a policy allowing exactly that instead.
"""

from __future__ import annotations

from typing import Any

API_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_CSP = (
    b"default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"img-src 'self' data: https://cdn.jsdelivr.net https://validator.swagger.io; "
    b"font-src 'self' data: https://cdn.jsdelivr.net; connect-src 'self'; "
    b"frame-ancestors 'none'; base-uri 'none'"
)
_COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_API_HEADERS = (*_COMMON, (b"content-security-policy", API_CSP))
_DOCS_HEADERS = (*_COMMON, (b"content-security-policy", DOCS_CSP))
_NAMES = frozenset(name for name, _ in _API_HEADERS)


def with_security_headers(headers: Any, extra: tuple[tuple[bytes, bytes], ...]) -> list[tuple[bytes, bytes]]:
    """`headers` plus those of `extra` it does not already have (names compared case-insensitively)."""
    if not any(name.lower() in _NAMES for name, _ in headers):  # the usual case: append all, no set
        return [*headers, *extra]
    present = {name.lower() for name, _ in headers}
    return [*headers, *(item for item in extra if item[0] not in present)]


class SecurityHeadersMiddleware:
    """Pure ASGI middleware; headers the app set itself are left as they are."""

    def __init__(self, app: Any, docs_path: str = "/schema") -> None:
        self.app = app
        self.docs_path = docs_path.rstrip("/")
        self.docs_prefix = self.docs_path + "/"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = _DOCS_HEADERS if path == self.docs_path or path.startswith(self.docs_prefix) else _API_HEADERS

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_security_headers(message.get("headers", ()), extra)
            await send(message)

        await self.app(scope, receive, send_wrapper)
