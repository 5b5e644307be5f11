"""Retrieval: dense (FAISS), lexical (PostgreSQL full text) and hybrid (reciprocal rank fusion),
always restricted to documents the caller may read."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from server import metrics
from server.auth.access import readable_document_ids
from server.auth.caller import Caller
from server.db import search as search_db
from server.errors import ServiceUnavailable
from server.rag.embed import Embedder
from server.runtime import Runtime

RRF_K = 60
CANDIDATES = 50  # per retriever, before fusion


@dataclass
class Retrieved:
    chunk_id: int
    document_id: str
    title: str
    filename: str
    page_start: int
    page_end: int
    snippet: str
    score: float
    dense_score: float | None = None
    lexical_score: float | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None
    text: str = ""


def rrf(rankings: list[list[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of several ranked id lists (best first)."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking, start=1):
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


async def embed_query(embedder: Embedder, query: str) -> object:
    return (await asyncio.to_thread(embedder.embed, [query]))[0]


@dataclass
class QueryVector:
    """A query's embedding, begun ahead of `search` (see `start_embedding`)."""

    query: str
    embedder: Embedder
    task: asyncio.Future[object]

    def serves(self, query: str, embedder: Embedder | None) -> bool:
        return self.query == query and self.embedder is embedder


def start_embedding(rt: Runtime, query: str) -> QueryVector | None:
    """Begin embedding `query` now, in a thread, so that the work overlaps what precedes the search;
    `search(..., vector=)` uses it when it searches the same query (None: no embedder yet)."""
    embedder = rt.extras.get("embedder")
    return None if embedder is None else QueryVector(query, embedder, _begin_embedding(embedder, query))


def _begin_embedding(embedder: Embedder, query: str) -> asyncio.Future[object]:
    task = asyncio.ensure_future(embed_query(embedder, query))
    task.add_done_callback(_retrieve_exception)  # an unused vector's failure is not an error
    return task


def _retrieve_exception(task: asyncio.Future[object]) -> None:
    if not task.cancelled():
        task.exception()


async def search(
    rt: Runtime,
    caller: Caller,
    query: str,
    *,
    top_k: int = 10,
    mode: str = "hybrid",
    document_ids: list[str] | None = None,
    with_text: bool = False,
    vector: QueryVector | None = None,
) -> list[Retrieved]:
    """The best `top_k` chunks for `query` among the documents `caller` may read (within
    `document_ids` when given). `vector`: the query's embedding begun earlier, if any."""
    started = time.perf_counter()
    index, embedder = rt.index, rt.extras.get("embedder")
    if mode != "lexical" and (index is None or not index.loaded or embedder is None):
        raise ServiceUnavailable("The vector index is still loading; try again shortly.", code="index_loading")
    pool_size = max(CANDIDATES, top_k * 2) if mode == "hybrid" else top_k
    dense: list[tuple[int, float]] = []
    lexical: list[tuple[int, float]] = []

    async def run_dense() -> None:
        # The embedding (CPU, in a thread) and the access query (I/O) overlap.
        if vector is not None and vector.serves(query, embedder):
            embedding = vector.task
        else:
            embedding = _begin_embedding(embedder, query)  # type: ignore[arg-type]
        try:
            async with rt.pool.connection() as conn:
                allowed = await readable_document_ids(conn, caller)
        except BaseException:
            embedding.cancel()
            raise
        if document_ids is not None:
            allowed &= set(document_ids)
        if not allowed:
            embedding.cancel()
            return
        query_vector = await embedding
        hits = await asyncio.to_thread(index.search, query_vector, pool_size, allowed)  # type: ignore[union-attr]
        dense.extend((h.chunk_id, h.score) for h in hits)

    async def run_lexical() -> None:
        async with rt.pool.connection() as conn:
            lexical.extend(await search_db.lexical(conn, caller.id, query, pool_size, document_ids))

    jobs = []
    if mode in ("dense", "hybrid"):
        jobs.append(run_dense())
    if mode in ("lexical", "hybrid"):
        jobs.append(run_lexical())
    await asyncio.gather(*jobs)

    if mode == "dense":
        ranked = dense
    elif mode == "lexical":
        ranked = lexical
    else:
        ranked = rrf([[c for c, _ in dense], [c for c, _ in lexical]])
    ranked = ranked[: top_k * 2]  # headroom for rows dropped as no longer readable
    if not ranked:
        metrics.SEARCH_DURATION.labels(mode).observe(time.perf_counter() - started)
        return []
    async with rt.pool.connection() as conn:
        rows = await search_db.hit_rows(conn, caller.id, [c for c, _ in ranked], query, with_text=with_text)
    dense_info = {c: (i, s) for i, (c, s) in enumerate(dense, start=1)}
    lexical_info = {c: (i, s) for i, (c, s) in enumerate(lexical, start=1)}
    out: list[Retrieved] = []
    for cid, score in ranked:
        row = rows.get(cid)
        if row is None:
            continue
        d, lx = dense_info.get(cid), lexical_info.get(cid)
        out.append(Retrieved(
            chunk_id=cid, document_id=row[1], title=row[2], filename=row[3], page_start=row[4], page_end=row[5],
            snippet=row[6], score=round(score, 6),
            dense_score=round(d[1], 6) if d else None, dense_rank=d[0] if d else None,
            lexical_score=round(lx[1], 6) if lx else None, lexical_rank=lx[0] if lx else None,
            text=row[7] if with_text else "",
        ))
        if len(out) == top_k:
            break
    metrics.SEARCH_DURATION.labels(mode).observe(time.perf_counter() - started)
    return out
