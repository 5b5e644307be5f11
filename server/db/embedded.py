"""The embedded PostgreSQL of the default setup: a private server from the `pgserver` package,
kept under the data directory, started by `docman serve` and stopped when it exits."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from loguru import logger

DATABASE = "docman"


@contextlib.contextmanager
def embedded_postgres(directory: Path) -> Iterator[str]:
    """Start (or join) the embedded server under `directory`; yield a conninfo for its database."""
    import pgserver  # imported lazily: only the embedded default needs it

    directory.mkdir(parents=True, exist_ok=True)
    logger.info("starting embedded PostgreSQL under {}", directory)
    server = pgserver.get_server(directory, cleanup_mode="stop")
    try:
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")
        if "(0 rows)" in exists:
            server.psql(f"CREATE DATABASE {DATABASE};")
        uri = server.get_uri(DATABASE)
        logger.info("embedded PostgreSQL ready")
        yield uri
    finally:
        logger.info("stopping embedded PostgreSQL")
        server.cleanup()


def scratch_directory() -> Path:
    return Path(tempfile.mkdtemp(prefix="docman-pg-"))
