"""Health checks: each dependency probed concurrently under its own timeout, so a hung
dependency cannot hang the endpoint. Statuses are "ok" or a precise other word."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

from server.db import migrate
from server.logs import utcnow_iso
from server.runtime import Runtime
from server.version import VERSION
from shared.models.health import ComponentDetail, DependencyHealth, Readiness

# Worse statuses rank higher; not_configured is a healthy choice (e.g. extractive answers).
_RANK = {"ok": 0, "not_configured": 0, "degraded": 1, "rate_limited": 1, "loading": 2,
         "timeout": 3, "unavailable": 3, "auth_failed": 3, "error": 3}


def worst(statuses: list[str]) -> str:
    top = max(statuses, key=lambda s: _RANK.get(s, 3), default="ok")
    return "ok" if top == "not_configured" else top


async def _timed(probe: Awaitable[ComponentDetail], timeout: float, what: str) -> ComponentDetail:
    start = time.perf_counter()
    try:
        result = await asyncio.wait_for(probe, timeout)
    except TimeoutError:
        result = ComponentDetail(status="timeout", detail=f"{what} did not answer within {timeout:g}s")
    except Exception as exc:
        result = ComponentDetail(status="error", detail=f"{what}: {type(exc).__name__}: {exc}")
    result.latency_ms = round((time.perf_counter() - start) * 1000, 2)
    return result


async def _database(rt: Runtime) -> ComponentDetail:
    async with rt.pool.connection(timeout=rt.settings.database.check_timeout) as conn:
        await conn.execute("SELECT 1")
        version = await migrate.current_version(conn)
    latest = migrate.latest_version()
    if version < latest:
        return ComponentDetail(status="degraded", detail=f"schema at version {version}, expected {latest}")
    stats = rt.pool.get_stats()
    return ComponentDetail(status="ok", detail=f"schema {version}; pool {stats.get('pool_size', 0)}/{stats.get('pool_max', 0)}")


async def _storage(rt: Runtime) -> ComponentDetail:
    await rt.store.check()
    return ComponentDetail(status="ok", detail=f"{rt.store.kind} storage writable")


async def _vector_store(rt: Runtime) -> ComponentDetail:
    index = rt.index
    if index is None or not index.loaded:
        return ComponentDetail(status="loading", detail=rt.startup_error or "vector index is loading")
    return ComponentDetail(status=index.status, detail=index.describe())


async def _llm(rt: Runtime) -> ComponentDetail:
    if rt.llm is None:
        return ComponentDetail(status="not_configured", detail="no LLM configured: answers are extractive")
    status, detail = await rt.llm.check()
    return ComponentDetail(status=status, detail=detail)


async def dependencies(rt: Runtime) -> DependencyHealth:
    s = rt.settings
    db, storage, vectors, llm = await asyncio.gather(
        _timed(_database(rt), s.database.check_timeout, "database"),
        _timed(_storage(rt), s.storage.check_timeout, "file storage"),
        _timed(_vector_store(rt), 1.0, "vector store"),
        _timed(_llm(rt), s.llm.check_timeout + 0.5, "LLM service"),
    )
    details = {
        "api": ComponentDetail(status="ok", detail=f"up {int(time.time() - rt.started_at)}s"),
        "database": db,
        "vector_store": vectors,
        "llm_service": llm,
        "file_storage": storage,
    }
    components = {name: d.status for name, d in details.items()}
    return DependencyHealth(
        status=worst(list(components.values())),
        version=VERSION,
        timestamp=utcnow_iso(),
        components=components,
        details=details,
    )


async def readiness(rt: Runtime) -> Readiness:
    s = rt.settings
    db = await _timed(_database(rt), s.database.check_timeout, "database")
    checks = {
        "database": "ok" if db.status in ("ok", "degraded") else db.detail,
        "migrations": "ok" if rt.migrated and db.status == "ok" else (
            db.detail if db.status == "degraded" else "migrations not applied yet"),
        "vector_index": "ok" if rt.index is not None and rt.index.loaded else "vector index not loaded",
    }
    if checks["database"] != "ok":
        checks["migrations"] = "unknown: database unreachable"
    reasons = [f"{k}: {v}" for k, v in checks.items() if v != "ok"]
    return Readiness(status="not_ready" if reasons else "ready", checks=checks, reasons=reasons)
