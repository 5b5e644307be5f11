"""Runbooks as runnable checks. The text lives in `ops/runbooks/*.md` (the same files the docs
link to); a runbook's YAML front matter names its checks and fixes, which are implemented here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from importlib import resources

import yaml

from server import health
from server.auth.caller import Caller
from server.errors import BadRequest, NotFound
from server.ops import checks
from server.runtime import Runtime
from shared.models.ops import CheckResult, RunbookDetail, RunbookInfo, RunbookRun, RunbookStep

# What the guide says to do when a check fails, and the system's one-key fix for it.
RESOLUTIONS: dict[str, tuple[str, str | None]] = {
    "document_status": ("Verify the document was processed successfully; read its error and the processor's logs "
                        "({service=\"document_processor\"} |= \"<document_id>\" |= \"error\"); reprocess it.", "reprocess"),
    "chunk_count": ("No chunks were created: the file has no extractable text or processing stopped early; "
                    "reprocess it (a scanned PDF needs OCR first).", "reprocess"),
    "vector_count": ("Vectors are missing for this document: check the vector count; rebuild the index if the "
                     "database holds the embeddings, else reprocess the document.", "rebuild_index"),
    "index_consistency": ("The index and the database disagree (corruption, an improper shutdown or a lagging "
                          "replica): rebuild the index from PostgreSQL with a backup.", "rebuild_index"),
    "search_probe": ("The text is stored but not ranked first: try the exact wording, check the document filter "
                     "and owner, and verify the vector count.", None),
    "dependencies": ("A dependency is unhealthy: follow its section of the guide (database 3.5, LLM 3.4, "
                     "file storage 2.7, vector store 3.3).", None),
    "error_rate": ("Server errors are frequent: read ERROR logs by correlation id and check dependencies.", None),
    "latency_p95": ("Responses are slow: check database performance, long queries and resource usage.", None),
    "db_pool": ("The connection pool is exhausted: find long transactions, raise DOCMAN_DB_POOL_MAX if the "
                "database allows it.", None),
    "db_long_queries": ("Long-running queries block others: inspect them; cancel the runaway ones.", "cancel_long_queries"),
    "search_latency": ("Search is slow: check the index size and memory; consider VACUUM ANALYZE for the "
                       "full-text index.", "vacuum_analyze"),
    "llm_latency": ("The LLM answers slowly: check the provider, use a faster model, lower DOCMAN_LLM_MAX_TOKENS.", None),
    "queue_depth": ("Ingestion is backing up: add `docman worker` processes or raise DOCMAN_WORKER_CONCURRENCY.", None),
}

NEEDS = {"document_status": "document_id", "chunk_count": "document_id", "vector_count": "document_id",
         "search_probe": "text"}


@cache
def _files() -> dict[str, str]:
    return {f.name[:-3]: f.read_text(encoding="utf-8")
            for f in resources.files("ops.runbooks").iterdir() if f.name.endswith(".md")}


def _split(text: str) -> tuple[dict[str, object], str]:
    if text.startswith("---\n"):
        head, _, body = text[4:].partition("\n---\n")
        return (yaml.safe_load(head) or {}), body.lstrip()
    return {}, text


def _info(runbook_id: str, text: str) -> RunbookInfo:
    meta, body = _split(text)
    title = str(meta.get("title") or next((ln[2:] for ln in body.splitlines() if ln.startswith("# ")), runbook_id))
    found = [str(c) for c in meta.get("checks", []) or []]  # type: ignore[union-attr]
    params = sorted({NEEDS[c] for c in found if c in NEEDS})
    return RunbookInfo(id=runbook_id, title=title, checks=found,
                       fixes=[str(f) for f in meta.get("fixes", []) or []], params=params)  # type: ignore[union-attr]


def list_runbooks() -> list[RunbookInfo]:
    return sorted((_info(k, v) for k, v in _files().items()), key=lambda r: (not r.checks, r.title))


def get_runbook(runbook_id: str) -> RunbookDetail:
    text = _files().get(runbook_id)
    if text is None:
        raise NotFound(f"No runbook {runbook_id!r}.", code="runbook_not_found")
    info = _info(runbook_id, text)
    return RunbookDetail(**{f: getattr(info, f) for f in info.__struct_fields__}, markdown=_split(text)[1])


def _verdict(value: float | None, warn: float, fail: float) -> str:
    if value is None:
        return "skip"
    return "fail" if value >= fail else "warn" if value >= warn else "pass"


async def _perf_check(rt: Runtime, check: str) -> CheckResult:
    sampler = rt.extras.get("sampler")
    summary = sampler.summary() if sampler else None
    if check == "dependencies":
        deps = await health.dependencies(rt)
        bad = {k: v for k, v in deps.components.items() if v not in ("ok", "not_configured")}
        return checks._result(check, "Dependencies healthy", not bad, f"unhealthy: {bad}" if bad else "all components ok")
    if check == "db_pool":
        stats = rt.pool.get_stats()
        waiting = stats.get("requests_waiting", 0)
        full = stats.get("pool_size", 0) >= stats.get("pool_max", 1) and stats.get("pool_available", 0) == 0
        verdict = "fail" if full and waiting else "warn" if waiting else "pass"
        return CheckResult(id=check, title="Connection pool", verdict=verdict,  # type: ignore[arg-type]
                           detail=f"{stats.get('pool_size', 0)}/{stats.get('pool_max', 0)} connections, "
                                  f"{stats.get('pool_available', 0)} idle, {waiting} waiting")
    if check == "db_long_queries":
        async with rt.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT pid, now() - query_start AS duration, left(query, 120) FROM pg_stat_activity"
                " WHERE state = 'active' AND now() - query_start > interval '5 seconds' AND pid <> pg_backend_pid()"
                " ORDER BY duration DESC")
            rows = await cur.fetchall()
        return checks._result(check, "No long-running queries", not rows,
                              "; ".join(f"pid {r[0]} for {r[1]}: {r[2]}" for r in rows[:5]) or "none over 5 s")
    if check == "queue_depth":
        from server.db import jobs as jobs_db

        async with rt.pool.connection() as conn:
            q = await jobs_db.stats(conn)
        verdict = "warn" if q.queued > 100 or q.oldest_queued_seconds > 600 else "pass"
        return CheckResult(id=check, title="Ingestion queue", verdict=verdict,  # type: ignore[arg-type]
                           detail=f"{q.queued} queued, {q.running} running, oldest {q.oldest_queued_seconds:.0f}s")
    assert summary is not None
    specs = {
        "error_rate": ("Error rate", summary.error_rate * 100, 1.0, 5.0, "%"),
        "latency_p95": ("API latency p95", summary.latency_p95_ms, 500.0, 1000.0, " ms"),
        "search_latency": ("Search latency p95", summary.search_p95_ms, 300.0, 1000.0, " ms"),
        "llm_latency": ("LLM latency p50", summary.llm_p50_ms, 10_000.0, 30_000.0, " ms"),
    }
    title, value, warn, fail, unit = specs[check]
    verdict = _verdict(value, warn, fail)
    detail = "no requests in the last minute" if value is None else f"{value:.1f}{unit} over the last {summary.window_seconds:.0f}s"
    return CheckResult(id=check, title=title, verdict=verdict, detail=detail)  # type: ignore[arg-type]


async def run(rt: Runtime, caller: Caller, runbook_id: str, document_id: str | None, text: str | None) -> RunbookRun:
    info = get_runbook(runbook_id)
    if not info.checks:
        raise BadRequest(f"Runbook {runbook_id!r} has no runnable checks; read it instead.", code="not_runnable")
    if "document_id" in info.params and not document_id:
        raise BadRequest("This runbook needs a document_id.", code="document_id_required")
    steps: list[RunbookStep] = []
    doc_results: dict[str, CheckResult] = {}
    if document_id and any(c in NEEDS and NEEDS[c] == "document_id" for c in info.checks):
        doc_results = {r.id: r for r in await checks.document_checks(rt, document_id)}
    runners: dict[str, Callable[[], Awaitable[CheckResult]]] = {
        "index_consistency": lambda: checks.consistency(rt),
        "search_probe": lambda: checks.search_probe(rt, caller, document_id, text),
    }
    for check in info.checks:
        if check in doc_results:
            result = doc_results[check]
        elif check in runners:
            result = await runners[check]()
        else:
            result = await _perf_check(rt, check)
        resolution, fix = RESOLUTIONS.get(check, ("", None))
        failed = result.verdict in ("fail", "warn")
        steps.append(RunbookStep(check=result, resolution=resolution if failed else "",
                                 fix=fix if failed and fix in info.fixes else None))
    verdicts = [s.check.verdict for s in steps]
    verdict = "fail" if "fail" in verdicts else "warn" if "warn" in verdicts else "pass"
    failing = [s.check.title for s in steps if s.check.verdict in ("fail", "warn")]
    summary = ("All checks passed." if verdict == "pass" else
               f"{len(failing)} of {len(steps)} checks need attention: {', '.join(failing)}.")
    return RunbookRun(runbook=runbook_id, verdict=verdict, summary=summary, steps=steps)  # type: ignore[arg-type]
