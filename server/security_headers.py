"""Standard security headers on every HTTP response (errors and unknown routes included); the
outermost middleware (`server.middleware`) adds them, so one layer wraps each response.

API responses get `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` and a
Content-Security-Policy that allows nothing (`default-src 'none'`): they are data (JSON, event
streams, originals sent as attachments), never pages. The interactive docs under /schema are the
only pages this server renders: they also get `Referrer-Policy` and `Cross-Origin-Opener-Policy`,
which act on documents only, and a policy allowing Swagger UI's scripts and styles from its CDN.
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
_EVERY = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"))
_PAGES = ((b"referrer-policy", b"no-referrer"), (b"cross-origin-opener-policy", b"same-origin"))
_API_HEADERS = (*_EVERY, (b"content-security-policy", API_CSP))
_DOCS_HEADERS = (*_EVERY, *_PAGES, (b"content-security-policy", DOCS_CSP))
_NAMES = frozenset(name for name, _ in _DOCS_HEADERS)


def for_path(path: str, docs_path: str = "/schema") -> tuple[tuple[bytes, bytes], ...]:
    """The headers a response to `path` gets: the docs' policy under `docs_path`, the API's elsewhere."""
    if path.startswith(docs_path) and (len(path) == len(docs_path) or path[len(docs_path)] == "/"):
        return _DOCS_HEADERS
    return _API_HEADERS


def with_security_headers(headers: Any, extra: tuple[tuple[bytes, bytes], ...]) -> list[tuple[bytes, bytes]]:
    """`headers` plus those of `extra` it does not already have (names compared case-insensitively):
    a header the app set itself is left as it is."""
    for name, _ in headers:
        if name.lower() in _NAMES:
            break
    else:  # the usual case: none of ours is there, append them all
        return [*headers, *extra]
    present = {name.lower() for name, _ in headers}
    return [*headers, *(item for item in extra if item[0] not in present)]
