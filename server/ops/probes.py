"""Probes behind `docman ops test-llm-service` and `benchmark-vector-search`."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from server.db import vectors as vectors_db
from server.ops.checks import _index
from server.runtime import Runtime
from server.auth.caller import Caller
from shared.models.ops import IndexBenchmark, LLMTestResult, TokenEstimate


async def test_llm(rt: Runtime, prompt: str, max_tokens: int) -> LLMTestResult:
    if rt.llm is None:
        return LLMTestResult(ok=False, configured=False, error_code="not_configured",
                             error="No LLM is configured (DOCMAN_LLM_BASE_URL is unset): answers are extractive.")
    from server.rag.llm import LLMError

    started = time.perf_counter()
    try:
        text, usage = await rt.llm.complete([{"role": "user", "content": prompt}], max_tokens=max_tokens)
    except LLMError as exc:
        return LLMTestResult(ok=False, configured=True, model=rt.settings.llm.model, error_code=exc.code,
                             error=exc.message, latency_ms=round((time.perf_counter() - started) * 1000, 1))
    return LLMTestResult(ok=bool(text.strip()), configured=True, model=rt.settings.llm.model, text=text,
                         latency_ms=round((time.perf_counter() - started) * 1000, 1),
                         prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens)


async def benchmark_index(rt: Runtime, queries: int, k: int) -> IndexBenchmark:
    """FAISS search latency with stored vectors as queries (each query a real document vector)."""
    index = _index(rt)
    async with rt.pool.connection() as conn:
        rows = await vectors_db.sample_embeddings(conn, queries)
    if not rows:
        vectors = np.random.default_rng(0).standard_normal((queries, index.dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    else:
        vectors = np.vstack([vectors_db.decode(blob, index.dim) for _, blob in rows])

    def run() -> list[float]:
        times = []
        for v in vectors:
            t = time.perf_counter()
            index.search(v, k)
            times.append((time.perf_counter() - t) * 1000)
        return times

    times = await asyncio.to_thread(run)
    total_s = sum(times) / 1000
    return IndexBenchmark(vectors=index.ntotal, dim=index.dim, queries=len(times), k=k,
                          p50_ms=round(float(np.percentile(times, 50)), 3), p95_ms=round(float(np.percentile(times, 95)), 3),
                          qps=round(len(times) / total_s, 1) if total_s else 0.0,
                          memory_mb=round(index.ntotal * index.dim * 4 / 2**20, 2))


async def estimate_tokens(rt: Runtime, caller: Caller, query: str, documents: int) -> TokenEstimate:
    """What one answer to `query` with `documents` sources costs, packed exactly as chat packs it."""
    from server.chat import packing, templates
    from server.chat import sources as sources_mod
    from server.errors import AppError
    from server.rag import retrieve

    cfg = rt.settings.llm
    hits = await retrieve.search(rt, caller, query, top_k=documents, with_text=True)
    found = await sources_mod.build(rt, hits, query)
    try:
        packed = packing.pack(templates.load("answer"), query, [], found, window=cfg.context_window,
                              max_tokens=cfg.max_tokens)
    except AppError:  # not even the question fits
        return TokenEstimate(query=query, sources=len(found), sources_packed=0, prompt_tokens=cfg.context_window,
                             max_completion_tokens=cfg.max_tokens, context_window=cfg.context_window, fits=False)
    return TokenEstimate(query=query, sources=len(found), sources_packed=len(packed.sources),
                         prompt_tokens=packed.prompt_tokens, max_completion_tokens=cfg.max_tokens,
                         context_window=cfg.context_window,
                         fits=packed.prompt_tokens + cfg.max_tokens <= cfg.context_window
                         and len(packed.sources) == len(found))
