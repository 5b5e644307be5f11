"""Ingestion workers: claim jobs from PostgreSQL and run the pipeline, `concurrency` at a time.

They run inside `docman serve` on embedded defaults and as separate `docman worker` processes.
A worker killed at any instant loses nothing: its lease expires and another worker starts the
job again from a clean slate. Attempts are bounded; the final failure keeps its error.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

from loguru import logger
from psycopg_pool import AsyncConnectionPool

from server.db import documents as docs_db
from server.db import jobs as jobs_db
from server.logs import document_id_var, service_var
from server.rag import ingest_metrics as m
from server.rag.embed import Embedder
from server.rag.extract import ExtractError
from server.rag.ingest import Fence, LeaseLost, Pipeline
from server.settings import IngestSettings
from server.storage import BlobStore, StorageError


class Worker:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        store: BlobStore,
        embedder: Embedder,
        cfg: IngestSettings,
        scratch: Path,
        *,
        on_ready: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.pool = pool
        self.cfg = cfg
        self.pipeline = Pipeline(pool, store, embedder, cfg, scratch)
        self.on_ready = on_ready
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.wakeup = asyncio.Event()
        scratch.mkdir(parents=True, exist_ok=True)

    async def run(self, concurrency: int) -> None:
        service_var.set("document_processor")
        logger.info("ingestion worker {} started with concurrency {}", self.name, concurrency)
        await asyncio.gather(*(self._slot(i) for i in range(concurrency)))

    def poke(self) -> None:
        """Wake idle slots now (a document was just queued in this process)."""
        self.wakeup.set()

    async def _slot(self, slot: int) -> None:
        worker = f"{self.name}:{slot}"
        backoff = self.cfg.poll_interval
        while True:
            try:
                async with self.pool.connection() as conn:
                    job = await jobs_db.claim(conn, worker, self.cfg.lease_seconds)
                backoff = self.cfg.poll_interval
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("could not claim a job ({}); retrying in {:.1f}s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if job is None:
                self.wakeup.clear()
                try:
                    await asyncio.wait_for(self.wakeup.wait(), self.cfg.poll_interval)
                except TimeoutError:
                    pass
                continue
            await self._process(job, worker)

    async def _process(self, job: jobs_db.Job, worker: str) -> None:
        doc_id = str(job.document_id)
        token = document_id_var.set(doc_id)
        fence = Fence(self.pool, job, worker, self.cfg.lease_seconds)
        try:
            if job.attempts > job.max_attempts:
                reason = job.last_error or "the worker processing it stopped"
                await self._fail(fence, "worker_lost",
                                 f"Processing was interrupted {job.max_attempts} times ({reason}); "
                                 "the document may be too large for the worker's memory.")
                return
            logger.info("processing document (attempt {}/{})", job.attempts, job.max_attempts)
            heartbeat = asyncio.ensure_future(self._heartbeat(fence, asyncio.current_task()))
            try:
                await self.pipeline.run(fence)
            finally:
                heartbeat.cancel()
            m.JOB_ATTEMPTS.labels("done").inc()
            m.DOCUMENTS_FINISHED.labels("ready").inc()
            logger.info("document ready")
            if self.on_ready is not None:
                await self.on_ready(doc_id)
        except LeaseLost as exc:
            m.JOB_ATTEMPTS.labels("lease_lost").inc()
            logger.warning("stopped processing: {}", exc)
        except ExtractError as exc:
            await self._fail(fence, exc.code, exc.message)
        except asyncio.CancelledError:
            await self._release(fence, "worker shut down")
            raise
        except Exception as exc:
            await self._retry_or_fail(fence, exc)
        finally:
            document_id_var.reset(token)

    async def _heartbeat(self, fence: Fence, task: asyncio.Task[object] | None) -> None:
        while True:
            await asyncio.sleep(self.cfg.lease_seconds / 3)
            try:
                async with self.pool.connection() as conn:
                    held = await jobs_db.renew(conn, fence.job.id, fence.worker, self.cfg.lease_seconds)
            except Exception as exc:  # the next fenced write will tell for sure
                logger.warning("lease renewal failed: {}", exc)
                continue
            if not held and task is not None:
                logger.warning("lease lost; abandoning this attempt")
                task.cancel()
                return

    async def _retry_or_fail(self, fence: Fence, exc: Exception) -> None:
        code = exc.code if isinstance(exc, StorageError) else "processing_error"
        message = f"{type(exc).__name__}: {exc}"
        job = fence.job
        if job.attempts >= job.max_attempts:
            logger.opt(exception=exc).error("document processing error, giving up after {} attempts: {}", job.attempts, message)
            await self._fail(fence, code, f"Processing failed after {job.attempts} attempts: {message}")
            return
        delay = min(60.0, 2.0 ** job.attempts) * (0.5 + random.random() / 2)
        logger.warning("document processing error (attempt {}/{}), retrying in {:.1f}s: {}",
                       job.attempts, job.max_attempts, delay, message)
        m.JOB_ATTEMPTS.labels("retry").inc()
        try:
            async with self.pool.connection() as conn:
                if await jobs_db.retry_later(conn, job.id, fence.worker, message, delay):
                    await docs_db.set_progress(conn, job.document_id, status="queued", error=message,
                                               error_code=code)
        except Exception as db_exc:
            logger.warning("could not requeue the job ({}); its lease will expire", db_exc)

    async def _fail(self, fence: Fence, code: str, message: str) -> None:
        logger.error("document processing error [{}]: {}", code, message)
        m.JOB_ATTEMPTS.labels("failed").inc()
        try:
            async with self.pool.connection() as conn:
                if await jobs_db.finish(conn, fence.job.id, fence.worker, "failed", message):
                    await docs_db.set_progress(conn, fence.job.document_id, status="failed", error=message,
                                               error_code=code)
                    m.DOCUMENTS_FINISHED.labels("failed").inc()
        except Exception as exc:
            logger.warning("could not record the failure ({}); its lease will expire", exc)

    async def _release(self, fence: Fence, reason: str) -> None:
        """Give the job back at once (graceful shutdown) instead of waiting for the lease to expire."""
        try:
            async with self.pool.connection() as conn:
                await jobs_db.retry_later(conn, fence.job.id, fence.worker, reason, 0)
                await conn.execute(
                    "UPDATE ingest_jobs SET attempts = greatest(attempts - 1, 0) WHERE id = %s", (fence.job.id,)
                )
                await docs_db.set_progress(conn, fence.job.document_id, status="queued")
        except Exception:
            pass
