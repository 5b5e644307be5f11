"""`docman worker`: a process that only runs ingestion jobs (scale these out)."""

from __future__ import annotations

import asyncio
import faulthandler
import os
import signal
import threading
import time

from loguru import logger

from server.db import migrate
from server.db.pool import make_pool, open_pool
from server.logs import configure_logging, service_var
from server.rag.embed import make_embedder
from server.serve import database
from server.settings import Settings
from server.storage import make_blob_store
from server.worker import Worker

# A stop signal cancels the work and gives claimed jobs back; if that has not finished within this
# many seconds the process exits anyway (inside the pod's grace period, ops/k8s/worker-deployment.yaml),
# after writing
# every thread's stack to stderr so the hang can be diagnosed.
SHUTDOWN_GRACE_SECONDS = 20.0


async def _wait_for_schema(pool, interval: float = 1.0) -> None:  # type: ignore[no-untyped-def]
    """Workers never migrate: wait until an API process has brought the schema up to date."""
    latest = migrate.latest_version()
    while True:
        try:
            async with pool.connection() as conn:
                if await migrate.current_version(conn) >= latest:
                    return
        except Exception as exc:
            logger.info("waiting for the database schema ({})", exc)
        await asyncio.sleep(interval)


async def _run(settings: Settings, conninfo: str, concurrency: int) -> None:
    pool = make_pool(conninfo, settings.database, name="worker")
    store = make_blob_store(settings.storage)
    await open_pool(pool)
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    stopping = threading.Event()

    def stop() -> None:
        if stopping.is_set():  # a second signal: the operator wants it gone now
            os._exit(1)
        stopping.set()
        threading.Thread(target=_exit_after_grace, name="shutdown-deadline", daemon=True).start()
        if main is not None:
            main.cancel()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    try:
        await _wait_for_schema(pool)
        embedder = await asyncio.to_thread(make_embedder, settings.embedding)
        worker = Worker(pool, store, embedder, settings.ingest, settings.data_dir / "tmp" / "work")
        await worker.run(concurrency)
    except asyncio.CancelledError:
        logger.info("worker stopping")
    finally:
        await store.close()
        await pool.close()


def _exit_after_grace() -> None:
    time.sleep(SHUTDOWN_GRACE_SECONDS)
    logger.error("worker did not stop within {:.0f}s of the stop signal; exiting now "
                 "(jobs it held return to the queue when their leases expire)", SHUTDOWN_GRACE_SECONDS)
    faulthandler.dump_traceback(all_threads=True)
    os._exit(1)


def run_worker(settings: Settings, *, concurrency: int | None = None) -> int:
    configure_logging(settings.log.level, settings.log.json, settings.log.ring_size)
    service_var.set("document_processor")
    if settings.ingest.worker_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.ingest.worker_metrics_port, addr=settings.server.host)
        logger.info("worker metrics on http://{}:{}/metrics", settings.server.host, settings.ingest.worker_metrics_port)
    with database(settings) as conninfo:
        asyncio.run(_run(settings, conninfo, concurrency or settings.ingest.worker_concurrency))
    return 0
