"""Gauges read from the database every few seconds: documents by status and queue depth."""

from __future__ import annotations

import asyncio

from prometheus_client import Gauge

from server.db import documents as docs_db
from server.db import jobs as jobs_db
from server.runtime import Runtime
from shared.models.documents import STATUSES

DOCUMENTS = Gauge("documents_total", "Documents by status.", ["status"])
QUEUE_DEPTH = Gauge("ingest_queue_depth", "Ingestion jobs waiting or running.", ["state"])
QUEUE_OLDEST = Gauge("ingest_queue_oldest_job_age_seconds", "Age of the oldest job not yet finished.")

INTERVAL = 5.0


async def refresh(rt: Runtime) -> None:
    async with rt.pool.connection() as conn:
        counts = await docs_db.counts_by_status(conn)
        q = await jobs_db.stats(conn)
    for status in STATUSES:
        DOCUMENTS.labels(status).set(counts.get(status, 0))
    QUEUE_DEPTH.labels("queued").set(q.queued)
    QUEUE_DEPTH.labels("running").set(q.running)
    QUEUE_OLDEST.set(q.oldest_queued_seconds)


async def keep_fresh(rt: Runtime) -> None:
    while True:
        try:
            await refresh(rt)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database may be down; /health says so
            pass
        await asyncio.sleep(INTERVAL)


async def start(rt: Runtime) -> None:
    rt.spawn(keep_fresh(rt), "gauges")
