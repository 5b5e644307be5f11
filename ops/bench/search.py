"""`search`: POST /api/v1/search (hybrid, top 10) latency against the raw cost of the same work.

The corpus (100,000 chunks by default) is written with COPY (ops.bench.seed). Raw cost, per
query, in this process: the query's embedding, a FAISS search of an index loaded the same way as
the server's (`VectorIndex.open`) and the full-text query (`server.db.search.lexical`), one after
the other. API: the same query over HTTP to the real server. Raw and API alternate query by query;
then 16 concurrent clients measure the API's p50/p99 under load. Target: API p50 <= 1.5 x raw p50.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from psycopg_pool import AsyncConnectionPool

from ops.bench import corpus, seed
from ops.bench.context import Context
from ops.bench.report import Check, Report, median, percentile, say
from ops.bench.services import Server, app_env, running, sign_in
from server.db import search as search_db
from server.rag.embed import Embedder, make_embedder
from server.rag.index import VectorIndex
from server.settings import load_settings
from shared import routes

TARGET = 1.5
CANDIDATES = 50  # what hybrid search asks of each retriever (server.rag.retrieve.CANDIDATES)
CONCURRENCY = 16


def run(ctx: Context) -> Report:
    report = Report("search")
    quick = ctx.args.quick
    chunks = 1_000 if quick else ctx.args.chunks
    per_doc = 50 if quick else 100
    queries_n = 10 if quick else ctx.args.queries
    conninfo = ctx.pg().database("search")
    env = app_env(ctx.workdir / "search-data", conninfo, DOCMAN_RATE_LIMIT_ENABLED="false")
    settings = load_settings(env)
    text = corpus.load()
    embedder = make_embedder(settings.embedding)

    owner = asyncio.run(seed.prepare(conninfo))
    seeded = seed.seed(conninfo, owner, text, embedder, documents=max(1, chunks // per_doc),
                       chunks_per_document=per_doc, anchors=30 if quick else 2000)
    report.figure("corpus", f"{seeded.chunks:,} chunks in {seeded.documents:,} documents, text from {text.source}, "
                            f"vectors from {seeded.anchors:,} real embeddings + noise")
    say(f"  seeding: embeddings {seeded.embed_s:.1f}s, COPY (with BM25 statistics) {seeded.copy_s:.1f}s, "
        f"full-text index {seeded.index_s:.1f}s")
    queries = [q for q in text.queries if q.strip()][:queries_n]
    if len(queries) < queries_n:
        queries = (queries * (queries_n // max(1, len(queries)) + 1))[:queries_n]

    started = time.perf_counter()
    with running("ours", ctx.workdir / "logs" / "search-ours.log", env=env) as app:
        say(f"  server ready in {time.perf_counter() - started:.1f}s (index rebuilt from the database)")
        headers = sign_in(app.url)
        asyncio.run(_measure(report, app, headers, conninfo, owner, embedder, settings.index.dir.parent / "bench-index",
                             queries, quick))
    return report


@dataclass
class Searcher:
    """One query, the raw way (in this process) or through the API; keeps timings and failures."""

    client: httpx.AsyncClient
    pool: AsyncConnectionPool
    index: VectorIndex
    embedder: Embedder
    owner: uuid.UUID
    parts: dict[str, list[float]] = field(default_factory=lambda: {"embed": [], "faiss": [], "full text": []})
    took: list[float] = field(default_factory=list)  # the server's own took_ms, in seconds
    failures: Counter[str] = field(default_factory=Counter)

    async def raw(self, q: str) -> float:
        t0 = time.perf_counter()
        vector = self.embedder.embed([q])[0]
        t1 = time.perf_counter()
        self.index.search(vector, CANDIDATES, None)
        t2 = time.perf_counter()
        async with self.pool.connection() as conn:
            await search_db.lexical(conn, self.owner, q, CANDIDATES, None)
        t3 = time.perf_counter()
        for name, seconds in zip(self.parts, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            self.parts[name].append(seconds)
        return t3 - t0

    async def api(self, q: str) -> float | None:
        """Seconds for one hybrid search over HTTP; None (counted in `failures`) if it failed."""
        t0 = time.perf_counter()
        try:
            r = await self.client.post(routes.SEARCH, json={"query": q, "top_k": 10, "mode": "hybrid"})
        except httpx.HTTPError as exc:
            self.failures[type(exc).__name__] += 1
            return None
        elapsed = time.perf_counter() - t0
        if r.status_code != 200:
            self.failures[f"HTTP {r.status_code}"] += 1
            return None
        self.took.append(float(r.json()["took_ms"]) / 1000)
        return elapsed

    def reset(self) -> None:
        for samples in self.parts.values():
            samples.clear()
        self.took.clear()
        self.failures.clear()


async def _measure(report: Report, app: Server, headers: dict[str, str], conninfo: str, owner: uuid.UUID,
                   embedder: Embedder, index_dir: Path, queries: list[str], quick: bool) -> None:
    async with AsyncConnectionPool(conninfo, min_size=1, max_size=2, open=False) as pool:
        index = VectorIndex(index_dir, embedder.dim, embedder.name)
        await index.open(pool)  # no file there: rebuilt from the database, as the server did
        async with httpx.AsyncClient(base_url=app.url, headers=headers, timeout=120,
                                     limits=httpx.Limits(max_connections=CONCURRENCY)) as client:
            searcher = Searcher(client, pool, index, embedder, owner)
            for q in queries[:10]:  # warm-up: caches, connections, first-call costs
                await searcher.raw(q)
                await searcher.api(q)
            searcher.reset()
            await _one_client(report, searcher, queries)
            searcher.reset()
            await _concurrent(report, searcher, queries, 2 if quick else max(2, len(queries) // CONCURRENCY))


async def _one_client(report: Report, searcher: Searcher, queries: list[str]) -> None:
    """Raw and API alternate, query by query."""
    raw_s: list[float] = []
    api_s: list[float] = []
    for q in queries:
        raw_s.append(await searcher.raw(q))
        if (elapsed := await searcher.api(q)) is not None:
            api_s.append(elapsed)
    if not api_s:
        raise RuntimeError(f"every API search failed: {dict(searcher.failures)}")
    raw_p50, api_p50 = median(raw_s) * 1000, median(api_s) * 1000
    report.figure("raw_p50_ms", raw_p50, "ms", f"raw p50 over {len(queries)} queries (embed + FAISS + full text)")
    report.figure("raw_p99_ms", percentile(raw_s, 99) * 1000, "ms", "raw p99")
    report.figure("raw_parts_p50_ms", {k: round(median(v) * 1000, 2) for k, v in searcher.parts.items()}, "ms",
                  "raw p50 by part")
    report.figure("api_p50_ms", api_p50, "ms", "API p50, one client")
    report.figure("api_p99_ms", percentile(api_s, 99) * 1000, "ms", "API p99, one client")
    report.figure("api_took_p50_ms", median(searcher.took) * 1000, "ms", "API p50 of the server's own took_ms")
    if searcher.failures:
        report.note(f"one client: failed searches {dict(searcher.failures)}")
    report.check(Check("search p50 latency, API vs raw", api_p50, raw_p50, "ms", "<=", TARGET))


async def _concurrent(report: Report, searcher: Searcher, queries: list[str], per_client: int) -> None:
    """CONCURRENCY clients, each sending `per_client` searches back to back."""
    latencies: list[float] = []

    async def client(i: int) -> None:
        for j in range(per_client):
            if (elapsed := await searcher.api(queries[(i * per_client + j) % len(queries)])) is not None:
                latencies.append(elapsed)

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(CONCURRENCY)))
    wall = time.perf_counter() - started
    label = f"{CONCURRENCY} concurrent clients"
    report.figure("api_c16_requests", CONCURRENCY * per_client, "", f"API searches sent, {label}")
    report.figure("api_c16_failed", sum(searcher.failures.values()), "", f"API searches failed, {label}")
    if searcher.failures:
        report.note(f"{label}: failed searches {dict(searcher.failures)} (see the server log)")
    if latencies:
        report.figure("api_c16_p50_ms", median(latencies) * 1000, "ms", f"API p50, {label}")
        report.figure("api_c16_p99_ms", percentile(latencies, 99) * 1000, "ms", f"API p99, {label}")
        report.figure("api_c16_rps", len(latencies) / wall, "req/s", f"API throughput (successes), {label}")
