"""The ingestion pipeline for one claimed job: extract -> chunk -> embed -> index.

Each stage reads its input from PostgreSQL and writes its output there in small transactions,
so memory stays bounded whatever the document's size (pages and vectors are never all held at
once) and the document's status always says honestly where it is. Every write transaction also
renews the job's lease (`Fence`); a worker that lost its lease stops at its next write.
An attempt starts from a clean slate, so a retried job never duplicates a chunk, and the document
becomes `ready` in the same transaction that appends it to the vector log.
"""

from __future__ import annotations

import asyncio
import queue
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from loguru import logger
from psycopg_pool import AsyncConnectionPool

from server.db import documents as docs_db
from server.db import jobs as jobs_db
from server.db import vectors as vdb
from server.rag import ingest_metrics as m
from server.rag.chunk import chunk_pages
from server.rag.embed import Embedder
from server.rag.extract import ExtractError, Page, open_document
from server.settings import IngestSettings
from server.storage import BlobStore

PAGE_BATCH = 16
CHUNK_INSERT_BATCH = 64


class LeaseLost(Exception):
    """Another worker holds this job now; stop without writing anything more."""


@dataclass
class Fence:
    pool: AsyncConnectionPool
    job: jobs_db.Job
    worker: str
    lease_seconds: float

    def transaction(self) -> Any:
        return _FencedTransaction(self)


class _FencedTransaction:
    def __init__(self, fence: Fence) -> None:
        self.fence = fence
        self._cm: Any = None

    async def __aenter__(self) -> Any:
        self._cm = self.fence.pool.connection()
        conn = await self._cm.__aenter__()
        try:
            ok = await jobs_db.renew(conn, self.fence.job.id, self.fence.worker, self.fence.lease_seconds)
        except BaseException as exc:
            await self._cm.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        if not ok:
            err = LeaseLost(f"job {self.fence.job.id} is no longer held by {self.fence.worker}")
            await self._cm.__aexit__(LeaseLost, err, None)
            raise err
        return conn

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._cm.__aexit__(*exc)


@dataclass
class Pipeline:
    pool: AsyncConnectionPool
    store: BlobStore
    embedder: Embedder
    cfg: IngestSettings
    scratch: Path

    async def run(self, fence: Fence) -> None:
        document_id = str(fence.job.document_id)
        async with fence.transaction() as conn:
            doc = await docs_db.get(conn, document_id)
            if doc is None:
                raise LeaseLost(f"document {document_id} no longer exists")
            await conn.execute("DELETE FROM document_chunks WHERE document_id = %s", (document_id,))
            await conn.execute("DELETE FROM document_pages WHERE document_id = %s", (document_id,))
            await docs_db.set_progress(conn, document_id, status="extracting", stage="extracting", error=None,
                                       error_code=None, notes=[], pages_done=0, chunk_count=0, ready_at=None)
        with tempfile.TemporaryDirectory(dir=self.scratch) as tmp, ThreadPoolExecutor(1, "extract") as pdf_thread:
            local = Path(tmp) / "original"
            await self.store.get_file(doc.storage_key, local)
            with m.stage_timer("extracting"):
                await self._extract(fence, document_id, local, doc.content_type, pdf_thread)
        with m.stage_timer("chunking"):
            chunks = await self._chunk(fence, document_id)
        with m.stage_timer("embedding"):
            await self._embed(fence, document_id, chunks)
        with m.stage_timer("indexing"):
            await self._index(fence, document_id, chunks)

    async def _extract(self, fence: Fence, document_id: str, path: Path, content_type: str, thread: ThreadPoolExecutor) -> None:
        loop = asyncio.get_running_loop()
        opened = await loop.run_in_executor(thread, lambda: open_document(path, content_type, max_pages=self.cfg.max_pages))
        try:
            async with fence.transaction() as conn:
                await docs_db.set_progress(conn, document_id, page_count=opened.page_count, notes=list(opened.notes))
            if opened.repaired:
                logger.warning("document was damaged and repaired by PyMuPDF; processing the repaired text")
            pages = opened.pages()
            done = 0
            while batch := await loop.run_in_executor(thread, lambda: list(islice(pages, PAGE_BATCH))):
                done += len(batch)
                async with fence.transaction() as conn:
                    async with conn.cursor() as cur:
                        await cur.executemany(
                            "INSERT INTO document_pages (document_id, page_no, text) VALUES (%s, %s, %s)",
                            [(document_id, p.number, p.text) for p in batch],
                        )
                    await docs_db.set_progress(conn, document_id, pages_done=done)
                m.PAGES.inc(len(batch))
            if opened.text_pages == 0:
                raise ExtractError("no_text_layer", "No extractable text: the PDF looks scanned (images only); OCR is not enabled.")
        finally:
            await loop.run_in_executor(thread, opened.close)

    async def _chunk(self, fence: Fence, document_id: str) -> int:
        """Chunk the stored pages: a DB reader feeds the (synchronous, lazy) chunker in a thread."""
        async with fence.transaction() as conn:
            await docs_db.set_progress(conn, document_id, status="chunking", stage="chunking")
        feed: queue.Queue[Page | None] = queue.Queue()

        async def read_pages() -> None:
            try:
                async with self.pool.connection() as reader, reader.cursor(name="pages_for_chunking") as cur:
                    cur.itersize = PAGE_BATCH
                    await cur.execute(
                        "SELECT page_no, text FROM document_pages WHERE document_id = %s ORDER BY page_no",
                        (document_id,),
                    )
                    async for page_no, text in cur:
                        while feed.qsize() >= 4 * PAGE_BATCH:
                            await asyncio.sleep(0.005)
                        feed.put(Page(page_no, text))
            finally:
                feed.put(None)

        def pages() -> Iterator[Page]:
            while (page := feed.get()) is not None:
                yield page

        chunks = chunk_pages(pages(), self.embedder.count_tokens,
                             target_tokens=self.cfg.chunk_tokens, overlap_tokens=self.cfg.chunk_overlap)
        reader = asyncio.ensure_future(read_pages())
        stored = 0
        try:
            while batch := await asyncio.to_thread(lambda: list(islice(chunks, CHUNK_INSERT_BATCH))):
                stored = await self._store_chunks(fence, document_id, batch, stored)
            await reader  # surfaces a read error instead of a silently short document
        finally:
            reader.cancel()
        return stored

    async def _store_chunks(self, fence: Fence, document_id: str, batch: list[Any], stored: int) -> int:
        async with fence.transaction() as conn:
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO document_chunks (document_id, ordinal, page_start, page_end, text, token_count)"
                    " VALUES (%s, %s, %s, %s, %s, %s)",
                    [(document_id, c.ordinal, c.page_start, c.page_end, c.text, c.token_count) for c in batch],
                )
            await docs_db.set_progress(conn, document_id, chunk_count=stored + len(batch))
        m.CHUNKS.inc(len(batch))
        return stored + len(batch)

    async def _embed(self, fence: Fence, document_id: str, total: int) -> None:
        async with fence.transaction() as conn:
            await docs_db.set_progress(conn, document_id, status="embedding", stage="embedding",
                                       embedding_model=self.embedder.name)
        batch = max(1, getattr(self.embedder, "batch_size", 32)) * 2
        last = -1
        while True:
            async with self.pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT id, ordinal, text FROM document_chunks WHERE document_id = %s AND ordinal > %s"
                    " ORDER BY ordinal LIMIT %s",
                    (document_id, last, batch),
                )
                rows = await cur.fetchall()
            if not rows:
                break
            started = time.perf_counter()
            vectors = await asyncio.to_thread(self.embedder.embed, [r[2] for r in rows])
            m.EMBED_BATCH.observe(time.perf_counter() - started)
            async with fence.transaction() as conn:
                async with conn.cursor() as cur:
                    await cur.executemany(
                        "UPDATE document_chunks SET embedding = %s, embedding_model = %s WHERE id = %s",
                        [(vdb.encode(v), self.embedder.name, r[0]) for r, v in zip(rows, vectors, strict=True)],
                    )
            last = rows[-1][1]

    async def _index(self, fence: Fence, document_id: str, total: int) -> None:
        async with fence.transaction() as conn:
            await docs_db.set_progress(conn, document_id, status="indexing", stage="indexing")
        async with fence.transaction() as conn:
            cur = await conn.execute(
                "SELECT count(*) FROM document_chunks WHERE document_id = %s AND embedding IS NULL", (document_id,)
            )
            missing = (await cur.fetchone())[0]  # type: ignore[index]
            if missing:
                raise RuntimeError(f"{missing} chunks have no embedding")
            await docs_db.set_progress(conn, document_id, status="ready", stage="ready", chunk_count=total,
                                       ready_at=datetime.now(UTC))
            await vdb.append(conn, "add", document_id)
            if not await jobs_db.finish(conn, fence.job.id, fence.worker, "done"):
                raise LeaseLost(f"job {fence.job.id} was taken over before it could finish")

