"""`docman serve`: the embedded database when no URL is set, then uvicorn on the app."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

import uvicorn
from loguru import logger

from server.app import create_app
from server.logs import configure_logging
from server.settings import Settings


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[str]:
    """Yield the conninfo to use: the configured server, or a private embedded one."""
    if settings.database.url:
        yield settings.database.url
        return
    from server.db.embedded import embedded_postgres

    with embedded_postgres(settings.embedded_database_dir) as uri:
        yield uri


def _exit_on_sigterm() -> None:
    """uvicorn re-raises the signal it caught once it has shut down; turning SIGTERM into SystemExit
    lets the embedded database (and anything else in a `with`) stop cleanly instead of dying with us."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, handler)


def serve(settings: Settings, *, host: str | None = None, port: int | None = None) -> int:
    ring = configure_logging(settings.log.level, settings.log.json, settings.log.ring_size)
    _exit_on_sigterm()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with database(settings) as conninfo:
        app = create_app(settings, conninfo=conninfo, ring=ring)
        config = uvicorn.Config(
            app,
            host=host or settings.server.host,
            port=port if port is not None else settings.server.port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=10,
        )
        logger.info("serving on http://{}:{}", config.host, config.port)
        server = uvicorn.Server(config)
        try:
            server.run()
        except SystemExit:
            pass
    return 0 if server.started else 1
