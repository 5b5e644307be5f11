"""`docman serve`: the embedded database when no URL is set, then uvicorn on the app."""

from __future__ import annotations

import contextlib
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


def serve(settings: Settings, *, host: str | None = None, port: int | None = None) -> int:
    ring = configure_logging(settings.log.level, settings.log.json, settings.log.ring_size)
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
        server.run()
    return 0 if server.started else 1
