"""The psycopg 3 async connection pool: opened in the lifespan, closed on shutdown."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from server.settings import DatabaseSettings


def make_pool(conninfo: str, cfg: DatabaseSettings, *, name: str = "docman") -> AsyncConnectionPool:
    return AsyncConnectionPool(
        conninfo,
        min_size=cfg.pool_min,
        max_size=cfg.pool_max,
        timeout=cfg.connect_timeout,
        open=False,
        check=AsyncConnectionPool.check_connection,
        name=name,
        kwargs={"connect_timeout": max(1, int(cfg.connect_timeout))},
    )


async def open_pool(pool: AsyncConnectionPool) -> None:
    """Open without waiting for min_size connections: a dead database shows up in /ready, not as a crash."""
    await pool.open(wait=False)
