"""The app served by a real uvicorn on 127.0.0.1 in a background thread, for curl and fuzzing."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from server.app import create_app
from server.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    """A small JSON HTTP call with the standard library (the test's own thread, not the server's)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        raw = err.read()
        return err.code, json.loads(raw) if raw else None


@contextmanager
def live_server(settings: Settings, conninfo: str, timeout: float = 90.0) -> Iterator[str]:
    """Yield the base URL once /health/ready answers 200; stop the server afterwards."""
    port = free_port()
    app = create_app(settings, conninfo=conninfo)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on",
                            timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                if http("GET", f"{base}/api/v1/health/ready")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline or not thread.is_alive():
                raise AssertionError("the live server did not become ready")
            time.sleep(0.2)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=30)
