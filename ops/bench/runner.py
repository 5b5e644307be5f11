"""`python -m ops.bench.runner KIND --port N`: one server process for a benchmark.

KIND: `ours` (the full app, configured from DOCMAN_* as `docman serve` does), `bare` (a bare
Litestar app answering the liveness path with the same body) or `trivial` (a raw asyncio server
answering every request with fixed bytes: the load generator's ceiling). `ours` and `bare` run
under the same uvicorn options, those of `server.serve`: no access log, `log_config=None`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import signal
from typing import Any

import uvicorn
from litestar import Litestar, get

from shared import routes
from shared.models.health import Liveness

_LIVE = Liveness()


def bare_app() -> Litestar:
    @get(routes.HEALTH_LIVE, sync_to_thread=False)
    def live() -> Liveness:
        return _LIVE

    return Litestar(route_handlers=[live], debug=False)


def our_app() -> Litestar:
    from server.app import create_app
    from server.logs import configure_logging
    from server.settings import load_settings

    settings = load_settings()
    ring = configure_logging(settings.log.level, settings.log.json, settings.log.ring_size)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return create_app(settings, ring=ring)


def serve_uvicorn(app: Any, args: argparse.Namespace) -> None:
    config = uvicorn.Config(
        app, host=args.host, port=args.port, loop=args.loop, http=args.http,
        log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    if not args.profile:
        server.run()
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        server.run()
    finally:
        profiler.disable()
        profiler.dump_stats(args.profile)


_BODY = b'{"status":"ok"}'
_RESPONSE = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
             + str(len(_BODY)).encode() + b"\r\n\r\n" + _BODY)


class _Trivial(asyncio.Protocol):
    """Answers each complete request head (GET, no body) with `_RESPONSE`, nothing else."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        count = self.buffer.count(b"\r\n\r\n")
        if count:
            self.buffer = self.buffer[self.buffer.rindex(b"\r\n\r\n") + 4:]
            self.transport.write(_RESPONSE * count)


def serve_trivial(args: argparse.Namespace) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Trivial, args.host, args.port, backlog=1024)
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with server:
            await stop.wait()

    _run(main(), args.loop)


def _run(coro: Any, loop: str) -> None:
    if loop == "uvloop":
        import uvloop

        uvloop.run(coro)
    else:
        asyncio.run(coro)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ops.bench.runner")
    parser.add_argument("kind", choices=["ours", "bare", "trivial"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cpus", default="", help="comma-separated CPUs to pin this process to")
    parser.add_argument("--loop", default="uvloop", choices=["uvloop", "asyncio"])
    parser.add_argument("--http", default="httptools", choices=["httptools", "h11"])
    parser.add_argument("--profile", default="", help="write cProfile stats of the server to this file")
    args = parser.parse_args()
    if args.cpus:
        os.sched_setaffinity(0, {int(c) for c in args.cpus.split(",")})
    if args.kind == "trivial":
        serve_trivial(args)
    else:
        serve_uvicorn(our_app() if args.kind == "ours" else bare_app(), args)


if __name__ == "__main__":
    main()
