"""Operator endpoints: logs (and a live stream), jobs, index verification and rebuild, a metrics
summary, runbooks and their one-key fixes. Operators only."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import ServerSentEvent

from server.auth.guards import OPERATOR
from server.deps import RT, CallerDep
from server.errors import ServiceUnavailable
from server.logs import LogRecord
from server.ops import checks, fixes, jobs, probes, runbooks
from shared import routes
from shared.models.ops import (
    CheckResult,
    FixRequest,
    FixResult,
    IndexBenchmark,
    IndexReport,
    JobsOverview,
    LogLine,
    LLMTestRequest,
    LLMTestResult,
    LogPage,
    MetricsSummary,
    RebuildResult,
    RunbookDetail,
    RunbookInfo,
    RunbookRun,
    RunbookRunRequest,
    TokenEstimate,
    TokenEstimateRequest,
)

_TAGS = ["ops"]


def _line(r: LogRecord) -> LogLine:
    return LogLine(seq=r.seq, timestamp=r.timestamp, level=r.level, service=r.service,
                   correlation_id=r.correlation_id, document_id=r.document_id, message=r.message)


@get(routes.OPS_LOGS, tags=_TAGS, opt=OPERATOR)
async def recent_logs(
    rt: RT,
    level: FromQuery[str | None] = None,
    service: FromQuery[str | None] = None,
    correlation_id: FromQuery[str | None] = None,
    document_id: FromQuery[str | None] = None,
    contains: FromQuery[str | None] = None,
    after_seq: Annotated[int | None, QueryParameter(ge=0)] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=5000)] = 200,
) -> LogPage:
    """Recent log records of this process, oldest first; poll with `after_seq` for a live tail."""
    from server.errors import BadRequest

    if level is not None and level.upper() not in ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"):
        raise BadRequest(f"Unknown level {level!r}.", code="invalid_level")
    records = rt.ring.query(limit=limit, after_seq=after_seq, level=level, service=service,
                            correlation_id=correlation_id, document_id=document_id, contains=contains)
    last = records[-1].seq if records else max(after_seq or 0, rt.ring.records[-1].seq if rt.ring.records else 0)
    return LogPage(records=[_line(r) for r in records], last_seq=last)


@get(routes.OPS_LOGS_STREAM, tags=_TAGS, opt=OPERATOR)
async def stream_logs(
    rt: RT,
    seconds: Annotated[float, QueryParameter(gt=0, le=3600)] = 60,
    level: FromQuery[str | None] = None,
    service: FromQuery[str | None] = None,
    correlation_id: FromQuery[str | None] = None,
    document_id: FromQuery[str | None] = None,
) -> ServerSentEvent:
    """New log records as Server-Sent Events (`event: log`), for `seconds`, then the stream ends."""
    from loguru import logger

    min_no = logger.level(level.upper()).no if level else 0

    async def events() -> AsyncIterator[dict[str, str]]:
        deadline = time.monotonic() + seconds
        with rt.ring.subscribe() as queue:
            while (left := deadline - time.monotonic()) > 0:
                try:
                    r = await asyncio.wait_for(queue.get(), min(left, 15))
                except TimeoutError:
                    yield {"comment": "keep-alive"}
                    continue
                if ((level and logger.level(r.level).no < min_no) or (service and r.service != service)
                        or (correlation_id and r.correlation_id != correlation_id)
                        or (document_id and r.document_id != document_id)):
                    continue
                yield {"event": "log", "data": msgspec.json.encode(_line(r)).decode()}
        yield {"event": "end", "data": "{}"}

    return ServerSentEvent(events())


@get(routes.OPS_JOBS, tags=_TAGS, opt=OPERATOR)
async def jobs_overview(rt: RT) -> JobsOverview:
    """Queue depth, running jobs and failed documents with their errors."""
    return await jobs.overview(rt)


@get(routes.OPS_INDEX_VERIFY, tags=_TAGS, opt=OPERATOR)
async def verify_index(rt: RT) -> IndexReport:
    """Index file integrity, vector count consistency with the database, basic search functionality."""
    return await checks.verify_index(rt)


@post(routes.OPS_INDEX_REBUILD, tags=_TAGS, opt=OPERATOR, status_code=200)
async def rebuild_index(rt: RT, backup: FromQuery[bool] = True) -> RebuildResult:
    """Rebuild this process's index from PostgreSQL (keeping a backup of the current files)."""
    return await checks.rebuild(rt, backup=backup)


@post(routes.OPS_INDEX_RESTORE, tags=_TAGS, opt=OPERATOR, status_code=200)
async def restore_index(rt: RT, backup: FromQuery[str]) -> RebuildResult:
    """Load a backup made by a rebuild, then replay the database's log from its position."""
    return await checks.restore(rt, backup)


@get(routes.OPS_DOCUMENT_VECTORS, tags=_TAGS, opt=OPERATOR)
async def document_vectors(rt: RT, document_id: FromPath[UUID]) -> list[CheckResult]:
    """Status, chunk count and vector count of one document (any owner)."""
    return await checks.document_checks(rt, str(document_id))


@get(routes.OPS_METRICS_SUMMARY, tags=_TAGS, opt=OPERATOR)
async def metrics_summary(rt: RT) -> MetricsSummary:
    """Request rate, error rate, latencies and queue depth over the last minute."""
    sampler = rt.extras.get("sampler")
    if sampler is None:
        raise ServiceUnavailable("Metrics are not sampled yet.", code="starting")
    return sampler.summary()  # type: ignore[no-any-return]


@get(routes.OPS_RUNBOOKS, tags=_TAGS, opt=OPERATOR)
async def list_runbooks() -> list[RunbookInfo]:
    """Runbooks from ops/runbooks; those with checks can be run."""
    return runbooks.list_runbooks()


@get(routes.OPS_RUNBOOK, tags=_TAGS, opt=OPERATOR)
async def get_runbook(runbook_id: FromPath[str]) -> RunbookDetail:
    return runbooks.get_runbook(runbook_id)


@post(routes.OPS_RUNBOOK_RUN, tags=_TAGS, opt=OPERATOR, status_code=200)
async def run_runbook(rt: RT, caller: CallerDep, runbook_id: FromPath[str],
                      data: JSONBody[RunbookRunRequest]) -> RunbookRun:
    """Run each diagnostic step; failed steps carry the guide's resolution and a fix when one exists."""
    return await runbooks.run(rt, caller, runbook_id, data.document_id, data.text)


@post(routes.OPS_FIX, tags=_TAGS, opt=OPERATOR, status_code=200)
async def apply_fix(rt: RT, caller: CallerDep, data: JSONBody[FixRequest]) -> FixResult:
    """Apply a runbook's one-key fix: reprocess, rebuild_index, cancel_long_queries, vacuum_analyze."""
    return await fixes.apply(rt, caller, data.fix, data.document_id)


@get(routes.OPS_INDEX_BENCHMARK, tags=_TAGS, opt=OPERATOR)
async def benchmark_index(
    rt: RT,
    queries: Annotated[int, QueryParameter(ge=1, le=10_000)] = 200,
    k: Annotated[int, QueryParameter(ge=1, le=1000)] = 10,
) -> IndexBenchmark:
    """FAISS search latency and throughput of this process's index."""
    return await probes.benchmark_index(rt, queries, k)


@post(routes.OPS_LLM_TEST, tags=_TAGS, opt=OPERATOR, status_code=200)
async def test_llm(rt: RT, data: JSONBody[LLMTestRequest]) -> LLMTestResult:
    """Send one prompt to the configured LLM through the server's own client."""
    return await probes.test_llm(rt, data.prompt, data.max_tokens)


@post(routes.OPS_TOKEN_ESTIMATE, tags=_TAGS, opt=OPERATOR, status_code=200)
async def estimate_tokens(rt: RT, caller: CallerDep, data: JSONBody[TokenEstimateRequest]) -> TokenEstimate:
    """Tokens one answer to `query` would use with `documents` sources, packed as chat packs them."""
    return await probes.estimate_tokens(rt, caller, data.query, data.documents)


HANDLERS = [benchmark_index, test_llm, estimate_tokens, recent_logs, stream_logs, jobs_overview, verify_index, rebuild_index, restore_index, document_vectors,
            metrics_summary, list_runbooks, get_runbook, run_runbook, apply_fix]
