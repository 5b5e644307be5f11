"""The resources one server process holds (pool, blob store, embedder, index, LLM client) and the
background tasks that bring them up and keep them in step. Lives on `app.state.rt`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from loguru import logger
from psycopg_pool import AsyncConnectionPool

from server import metrics
from server.db import migrate
from server.db.pool import make_pool, open_pool
from server.settings import Settings
from server.logs import LogRing
from server.storage import BlobStore, make_blob_store


@dataclass
class Runtime:
    settings: Settings
    conninfo: str
    pool: AsyncConnectionPool
    store: BlobStore
    ring: LogRing
    started_at: float = field(default_factory=time.time)
    index: Any = None  # server.rag.index.VectorIndex once loaded
    llm: Any = None  # server.rag.llm.LLMClient when an LLM is configured
    migrated: bool = False
    startup_error: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _startup_steps: list[tuple[str, Callable[[Runtime], Awaitable[None]]]] = field(default_factory=list)
    _shutdown_steps: list[Callable[[Runtime], Awaitable[None]]] = field(default_factory=list)

    @classmethod
    def create(cls, settings: Settings, conninfo: str, ring: LogRing) -> Runtime:
        return cls(
            settings=settings,
            conninfo=conninfo,
            pool=make_pool(conninfo, settings.database),
            store=make_blob_store(settings.storage),
            ring=ring,
        )

    def on_startup(self, name: str, step: Callable[[Runtime], Awaitable[None]]) -> None:
        """Run `step` once the database is migrated (retried until it succeeds)."""
        self._startup_steps.append((name, step))

    def on_shutdown(self, step: Callable[[Runtime], Awaitable[None]]) -> None:
        self._shutdown_steps.append(step)

    def spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.append(task)
        return task

    async def start(self) -> None:
        await open_pool(self.pool)
        metrics.register_callback("db_pool", metrics.pool_metrics(self.pool.get_stats))
        self.spawn(self._bring_up(), "startup")

    async def _bring_up(self) -> None:
        """Migrate, then run the startup steps; retry while the database is unreachable."""
        delay = 0.5
        pending = list(self._startup_steps)
        while True:
            try:
                if not self.migrated:
                    await migrate.migrate(self.conninfo)
                    self.migrated = True
                while pending:
                    name, step = pending[0]
                    await step(self)
                    pending.pop(0)
                self.startup_error = None
                logger.info("startup complete")
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep serving /health while we retry
                self.startup_error = f"{type(exc).__name__}: {exc}"
                logger.error("startup step failed, retrying in {:.1f}s: {}", delay, self.startup_error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        for step in reversed(self._shutdown_steps):
            try:
                await step(self)
            except Exception as exc:
                logger.warning("shutdown step failed: {}", exc)
        metrics.unregister_callback("db_pool")
        await self.store.close()
        await self.pool.close()
