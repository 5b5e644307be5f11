"""The outermost ASGI layer: correlation id, security headers, request metrics and one access log
line per request.

It wraps the whole Litestar handler (router included), so unknown routes and errors raised before
routing are counted, logged and get the headers too. Successful answers to the probes (liveness,
readiness, the Prometheus scrape) are logged at DEBUG: they arrive every few seconds from
orchestrators and scrapers and would bury everything else. Their failures (4xx, 5xx) are logged
as any other, and so is a probe that carries its own X-Correlation-ID: that is someone tracing a
request, not a scraper.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from loguru import logger

from server import security_headers
from server.logs import correlation_id_var, debug_enabled
from server.http_metrics import observe_request, request_started
from shared import routes

_VALID_CID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_HEADER = b"x-correlation-id"
_PROBES = frozenset({routes.HEALTH_LIVE, routes.HEALTH_READY, routes.METRICS})


def _incoming_cid(scope: dict[str, Any]) -> str | None:
    for name, value in scope["headers"]:
        if name == _HEADER:
            text = value.decode("latin-1")
            if _VALID_CID.match(text):
                return text
            break
    return None


_cids: list[str] = []
os.register_at_fork(after_in_child=_cids.clear)  # a forked child must not hand out its parent's ids


def _new_cid() -> str:
    """32 random hex digits, as a uuid4's hex; drawn from the OS 512 at a time (one syscall, not one each)."""
    if not _cids:
        blob = os.urandom(16 * 512).hex()
        _cids.extend(blob[i:i + 32] for i in range(0, len(blob), 32))
    return _cids.pop()


class ObservabilityMiddleware:
    """Pure ASGI middleware; cheap enough to sit in front of every request."""

    def __init__(self, app: Any, docs_path: str = "/schema") -> None:
        self.app = app
        self.docs_path = docs_path.rstrip("/")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        traced = _incoming_cid(scope)
        cid = traced or _new_cid()
        token = correlation_id_var.set(cid)
        extra = security_headers.for_path(scope["path"], self.docs_path)
        cid_header = (_HEADER, cid.encode())
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = security_headers.with_security_headers(message.get("headers", ()), extra)
                headers.append(cid_header)
                message["headers"] = headers
            await send(message)

        request_started()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("path_template") or "unmatched"
            method = scope["method"]
            observe_request(method, route, status, elapsed)
            if status >= 500 and status != 503:
                logger.error("{} {} -> {} in {:.1f} ms", method, scope["path"], status, elapsed * 1000)
            elif status >= 400:
                logger.warning("{} {} -> {} in {:.1f} ms", method, scope["path"], status, elapsed * 1000)
            elif route in _PROBES and traced is None:
                if debug_enabled():
                    logger.debug("{} {} -> {} in {:.1f} ms", method, scope["path"], status, elapsed * 1000)
            else:
                logger.info("{} {} -> {} in {:.1f} ms", method, scope["path"], status, elapsed * 1000)
            correlation_id_var.reset(token)
