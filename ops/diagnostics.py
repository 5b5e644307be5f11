"""The operators' guide's scripts as `docman ops` commands, each a check against a running server.

Every command returns a `Verdict`: a human summary, the details as data (printed with `--json`),
and whether it passed; `docman ops` exits 0 on pass, 1 on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from shared import routes
from shared.models.ops import (CheckResult, IndexBenchmark, LLMTestRequest, LLMTestResult, RebuildResult, TokenEstimate,
                               TokenEstimateRequest)
from tui.client import DocmanClient
from tui.http import path


@dataclass
class Verdict:
    ok: bool
    summary: str
    lines: list[str] = field(default_factory=list)
    data: Any = None


def _mark(verdict: str) -> str:
    return {"pass": "PASS", "fail": "FAIL", "warn": "WARN", "skip": "SKIP"}.get(verdict, verdict.upper())


async def verify_faiss_index(c: DocmanClient, args: argparse.Namespace) -> Verdict:
    report = await c.verify_index()
    lines = [f"{_mark(ch.verdict)}  {ch.title}: {ch.detail}" for ch in report.checks]
    ok = report.verdict == "pass"
    return Verdict(ok, f"index {'healthy' if ok else 'NOT healthy'}: {report.vectors} vectors, "
                       f"{report.chunk_rows} stored chunk embeddings", lines, report)


async def check_vector_consistency(c: DocmanClient, args: argparse.Namespace) -> Verdict:
    report = await c.verify_index()
    check = next(ch for ch in report.checks if ch.id == "index_consistency")
    ok = check.verdict == "pass"
    lines = [f"vectors in index: {report.vectors}", f"chunk rows with embeddings: {report.chunk_rows}",
             f"missing from index: {report.missing_in_index}", f"in index without a chunk row: {report.extra_in_index}"]
    if not ok:
        lines.append("fix: docman ops rebuild-vector-index --backup")
    return Verdict(ok, f"{'consistent' if ok else 'INCONSISTENT'}: {check.detail}", lines, check)


async def verify_document_vectors(c: DocmanClient, args: argparse.Namespace) -> Verdict:
    results = await c.get(path(routes.OPS_DOCUMENT_VECTORS, document_id=args.document_id), list[CheckResult])
    ok = all(r.verdict in ("pass", "skip") for r in results) and results[0].verdict == "pass"
    lines = [f"{_mark(r.verdict)}  {r.title}: {r.detail}" for r in results]
    if not ok:
        lines.append(f"fix: docman ops reprocess-document --document-id={args.document_id}")
    return Verdict(ok, f"document {args.document_id}: vectors {'ok' if ok else 'NOT ok'}", lines, results)


async def reprocess_document(c: DocmanClient, args: argparse.Namespace) -> Verdict:
    doc = await c.reprocess(args.document_id)
    if args.no_wait:
        return Verdict(True, f"document {doc.id} queued for reprocessing", [], doc)
    deadline = time.monotonic() + args.timeout
    while doc.status not in ("ready", "failed") and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        doc = await c.document(args.document_id)
    ok = doc.status == "ready"
    detail = (f"ready: {doc.page_count} pages, {doc.chunk_count} chunks, {doc.vector_count} vectors" if ok else
              f"{doc.status}" + (f": [{doc.error_code}] {doc.error}" if doc.error else " (still processing: timed out)"))
    return Verdict(ok, f"document {doc.id} reprocessed: {detail}", [], doc)


async def test_vector_search(c: DocmanClient, args: argparse.Namespace) -> Verdict:
    result = await c.search(args.text, top_k=args.top_k, mode=args.mode)
    hits = result.results
    lines = [f"{i}. {h.score:.4f}  {h.title} p.{h.page_start}-{h.page_end}  {h.snippet[:100]!r}"
             for i, h in enumerate(hits, 1)]
    if args.document_id:
        ranks = [i for i, h in enumerate(hits, 1) if h.document_id == args.document_id]
        ok = bool(ranks)
        summary = (f"document found at rank {ranks[0]}" if ok else
                   f"document {args.document_id} NOT in the top {len(hits)}")
    else:
        ok = bool(hits)
        summary = f"{len(hits)} results in {result.took_ms:.1f} ms ({args.mode})" if ok else "NO results"
    return Verdict(ok, summary, lines, result)


async def test_llm_service(c: DocmanClient, args: argparse.Namespace) -> Verdict:
    res = await c.post(routes.OPS_LLM_TEST, LLMTestResult, LLMTestRequest(prompt=args.prompt, max_tokens=args.max_tokens))
    if not res.configured:
        return Verdict(False, "LLM not configured: the system answers extractively", [res.error or ""], res)
    if not res.ok:
        return Verdict(False, f"LLM FAILED [{res.error_code}]: {res.error}", [f"after {res.latency_ms:.0f} ms"], res)
    return Verdict(True, f"LLM ok ({res.model}) in {res.latency_ms:.0f} ms",
                   [f"tokens: {res.prompt_tokens} prompt + {res.completion_tokens} completion", f"reply: {res.text}"], res)


async def estimate_token_usage(c: DocmanClient, args: argparse.Namespace) -> Verdict:
    est = await c.post(routes.OPS_TOKEN_ESTIMATE, TokenEstimate,
                       TokenEstimateRequest(query=args.query, documents=args.documents))
    lines = [f"sources retrieved: {est.sources}, packed: {est.sources_packed}",
             f"prompt tokens (estimated): {est.prompt_tokens}",
             f"completion tokens at most: {est.max_completion_tokens}",
             f"context window: {est.context_window}"]
    total = est.prompt_tokens + est.max_completion_tokens
    return Verdict(est.fits, f"~{total} tokens per answer; {'fits' if est.fits else 'EXCEEDS'} the context window",
                   lines, est)


async def benchmark_vector_search(c: DocmanClient, args: argparse.Namespace) -> Verdict:
    b = await c.get(routes.OPS_INDEX_BENCHMARK, IndexBenchmark, {"queries": args.queries, "k": args.k})
    started = time.perf_counter()
    api_times = []
    for _ in range(args.api_queries):
        t = time.perf_counter()
        await c.search("benchmark query about the documents", top_k=args.k)
        api_times.append((time.perf_counter() - t) * 1000)
    api_times.sort()
    api_p50 = api_times[len(api_times) // 2] if api_times else 0.0
    ok = b.p95_ms <= args.max_p95_ms
    lines = [f"vectors: {b.vectors} x {b.dim} ({b.memory_mb} MB)", f"FAISS k={b.k}: p50 {b.p50_ms} ms, p95 {b.p95_ms} ms, "
             f"{b.qps} queries/s over {b.queries} queries",
             f"search API (hybrid, end to end): p50 {api_p50:.1f} ms over {len(api_times)} queries "
             f"({time.perf_counter() - started:.1f}s)"]
    return Verdict(ok, f"FAISS p95 {b.p95_ms} ms ({'within' if ok else 'OVER'} {args.max_p95_ms} ms)", lines, b)


async def rebuild_vector_index(c: DocmanClient, args: argparse.Namespace) -> Verdict:
    r = await c.rebuild_index(backup=args.backup)
    report = await c.verify_index()
    ok = report.verdict == "pass"
    lines = [f"rebuilt {r.vectors} vectors in {r.seconds}s", f"backup: {r.backup or 'none'}",
             f"verification: {report.verdict}"]
    if r.backup:
        lines.append(f"restore with: docman ops restore-vector-index --backup {Path(r.backup).name}")
    return Verdict(ok, f"index rebuilt from PostgreSQL: {r.vectors} vectors", lines, r)


async def restore_vector_index(c: DocmanClient, args: argparse.Namespace) -> Verdict:
    r = await c.post(routes.OPS_INDEX_RESTORE, RebuildResult, params={"backup": args.backup})
    report = await c.verify_index()
    return Verdict(report.verdict == "pass", f"restored {r.backup} and replayed newer changes: {r.vectors} vectors",
                   [f"verification: {report.verdict}"], r)


async def test_alerts(c: DocmanClient | None, args: argparse.Namespace) -> Verdict:
    """Fire a test alert into Alertmanager and check it arrives; optionally run the rule unit tests."""
    import httpx

    lines: list[str] = []
    ok = True
    if args.rules:
        rules_dir = Path(__file__).resolve().parent / "prometheus"
        try:
            proc = subprocess.run(["promtool", "test", "rules", str(rules_dir / "tests" / "docman_test.yml")],
                                  capture_output=True, text=True, timeout=120)
            ok &= proc.returncode == 0
            lines.append(f"{'PASS' if proc.returncode == 0 else 'FAIL'}  alert rule unit tests (promtool)")
        except FileNotFoundError:
            lines.append("SKIP  alert rule unit tests: promtool not installed (apt-get install prometheus)")
    name = f"DocmanTestAlert{int(time.time())}"
    alert = [{"labels": {"alertname": name, "severity": "info", "service": "api"},
              "annotations": {"summary": "Test alert from docman ops test-alerts"}}]
    base = args.alertmanager.rstrip("/")
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            (await http.post(f"{base}/api/v2/alerts", json=alert)).raise_for_status()
            await asyncio.sleep(1)
            active = (await http.get(f"{base}/api/v2/alerts", params={"filter": f'alertname="{name}"'})).json()
        arrived = any(a.get("labels", {}).get("alertname") == name for a in active)
        ok &= arrived
        lines.append(f"{'PASS' if arrived else 'FAIL'}  test alert {name} {'is active' if arrived else 'did not arrive'} in Alertmanager at {base}")
    except httpx.HTTPError as exc:
        ok = False
        lines.append(f"FAIL  Alertmanager at {base} unreachable: {exc} (start the stack: docker compose up -d)")
    return Verdict(ok, "alert path works" if ok else "alert path BROKEN", lines)


def as_json(verdict: Verdict) -> bytes:
    return msgspec.json.format(msgspec.json.encode({
        "ok": verdict.ok, "summary": verdict.summary, "details": verdict.lines,
        "data": msgspec.to_builtins(verdict.data) if verdict.data is not None else None,
    }))

