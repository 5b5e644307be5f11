"""Startup and upkeep of the process's vector index: load the embedder, reconcile the stored
embedding model with the configured one, open the index, then replay the log every interval."""

from __future__ import annotations

import asyncio
import time

from loguru import logger

from server import metrics
from server.db import vectors as vdb
from server.rag.embed import Embedder, make_embedder
from server.rag.index import VectorIndex
from server.runtime import Runtime

_LOCK_KEY = 727_274_003
SAVE_EVERY = 30.0
COUNT_CHECK_EVERY = 60.0


async def load_embedder(rt: Runtime) -> Embedder:
    embedder = rt.extras.get("embedder")
    if embedder is None:
        embedder = await asyncio.to_thread(make_embedder, rt.settings.embedding)
        rt.extras["embedder"] = embedder
    return embedder


async def reconcile_embedding_model(rt: Runtime, embedder: Embedder) -> None:
    """If the stored embeddings came from another model or dimension, re-embed everything."""
    wanted = f"{embedder.name}:{embedder.dim}"
    async with rt.pool.connection() as conn:
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        cur = await conn.execute("SELECT value FROM system_state WHERE key = 'embedding'")
        row = await cur.fetchone()
        if row is not None and row[0] == wanted:
            return
        if row is not None:
            cur = await conn.execute(
                "WITH requeued AS (UPDATE documents SET status = 'queued', stage = 'queued', error = NULL,"
                " error_code = NULL, ready_at = NULL, updated_at = now() WHERE status <> 'failed' RETURNING id)"
                " INSERT INTO ingest_jobs (document_id, max_attempts) SELECT id, %s FROM requeued"
                " ON CONFLICT (document_id) WHERE state IN ('queued', 'running') DO NOTHING",
                (rt.settings.ingest.max_attempts,),
            )
            await conn.execute("UPDATE document_chunks SET embedding = NULL, embedding_model = NULL")
            await vdb.append(conn, "reset", None)
            logger.warning("embedding model changed from {} to {}: every document is queued for re-embedding",
                           row[0], wanted)
        await conn.execute(
            "INSERT INTO system_state (key, value) VALUES ('embedding', %s)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()",
            (wanted,),
        )


async def open_index(rt: Runtime) -> None:
    embedder = await load_embedder(rt)
    await reconcile_embedding_model(rt, embedder)
    index = VectorIndex(rt.settings.index.dir, embedder.dim, embedder.name)
    await index.open(rt.pool)
    rt.index = index
    metrics.VECTOR_INDEX_LOADED.set(1)
    metrics.VECTOR_INDEX_SIZE.set(index.ntotal)
    rt.spawn(keep_in_step(rt, index), "index-sync")
    rt.on_shutdown(save_index)


async def count_check(rt: Runtime, index: VectorIndex) -> None:
    """A cheap consistency signal for alerting: vector count against stored embeddings."""
    await index.sync(rt.pool)
    async with rt.pool.connection() as conn:
        rows = await vdb.indexed_count(conn)
    metrics.VECTOR_INDEX_CONSISTENT.set(1 if rows == index.ntotal else 0)


async def keep_in_step(rt: Runtime, index: VectorIndex) -> None:
    last_save = time.monotonic()
    last_count = 0.0
    while True:
        await asyncio.sleep(rt.settings.index.sync_interval)
        try:
            await index.sync(rt.pool)
            index.status, index.last_error = "ok", None
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if index.status == "ok":
                logger.warning("vector index could not catch up with the database: {}", exc)
            index.status, index.last_error = "degraded", str(exc)
        metrics.VECTOR_INDEX_SIZE.set(index.ntotal)
        if time.monotonic() - last_count > COUNT_CHECK_EVERY:
            try:
                await count_check(rt, index)
            except Exception:  # the database may be away; the next round retries
                pass
            last_count = time.monotonic()
        if index.dirty and time.monotonic() - last_save > SAVE_EVERY:
            try:
                await asyncio.to_thread(index.save)
                last_save = time.monotonic()
            except Exception as exc:
                logger.error("vector index save failed: {}", exc)


async def save_index(rt: Runtime) -> None:
    if rt.index is not None and rt.index.loaded and rt.index.dirty:
        await asyncio.to_thread(rt.index.save)
        logger.info("vector index saved: {}", rt.index.describe())
    metrics.VECTOR_INDEX_LOADED.set(0)
