"""Operator wire types: logs, jobs, index checks, metric summaries and runbooks."""

from __future__ import annotations

from typing import Literal

import msgspec

Verdict = Literal["pass", "warn", "fail", "skip"]


class LogLine(msgspec.Struct, kw_only=True):
    seq: int
    timestamp: str
    level: str
    service: str
    correlation_id: str
    document_id: str | None = None
    message: str


class LogPage(msgspec.Struct, kw_only=True):
    records: list[LogLine]
    last_seq: int  # pass as `after_seq` to get only newer lines


class FailedDocument(msgspec.Struct, kw_only=True):
    id: str
    title: str
    status: str
    error_code: str | None = None
    error: str | None = None
    updated_at: str


class RunningJob(msgspec.Struct, kw_only=True):
    job_id: int
    document_id: str
    title: str
    status: str
    attempts: int
    max_attempts: int
    worker: str | None = None
    pages_done: int = 0
    page_count: int | None = None
    chunk_count: int = 0
    started_seconds_ago: float = 0.0


class JobsOverview(msgspec.Struct, kw_only=True):
    queued: int
    running: int
    failed_jobs: int
    oldest_queued_seconds: float
    documents_by_status: dict[str, int]
    active: list[RunningJob]
    failed: list[FailedDocument]


class CheckResult(msgspec.Struct, kw_only=True):
    id: str
    title: str
    verdict: Verdict
    detail: str
    data: dict[str, object] = {}


class IndexReport(msgspec.Struct, kw_only=True):
    verdict: Verdict
    checks: list[CheckResult]
    vectors: int
    chunk_rows: int
    missing_in_index: int
    extra_in_index: int


class RebuildResult(msgspec.Struct, kw_only=True):
    vectors: int
    seconds: float
    backup: str | None = None


class MetricsSummary(msgspec.Struct, kw_only=True):
    timestamp: str
    window_seconds: float
    request_rate: float  # requests/s over the window
    error_rate: float  # share of 5xx responses over the window, 0..1
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    search_p50_ms: float | None = None
    search_p95_ms: float | None = None
    llm_p50_ms: float | None = None
    llm_errors: float = 0.0
    queue_depth: int = 0
    vectors: int = 0


class RunbookInfo(msgspec.Struct, kw_only=True):
    id: str
    title: str
    checks: list[str] = []
    fixes: list[str] = []
    params: list[str] = []  # inputs its checks need, e.g. ["document_id", "text"]


class RunbookDetail(RunbookInfo, kw_only=True):
    markdown: str


class RunbookRunRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    document_id: str | None = None
    text: str | None = None


class RunbookStep(msgspec.Struct, kw_only=True):
    check: CheckResult
    resolution: str = ""  # the guide's resolution for what failed
    fix: str | None = None  # a one-key fix the system has for it (e.g. "reprocess", "rebuild_index")


class RunbookRun(msgspec.Struct, kw_only=True):
    runbook: str
    verdict: Verdict
    summary: str
    steps: list[RunbookStep]


class FixRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    fix: str
    document_id: str | None = None


class FixResult(msgspec.Struct, kw_only=True):
    fix: str
    ok: bool
    detail: str


class LLMTestRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    prompt: str
    max_tokens: int = 64


class LLMTestResult(msgspec.Struct, kw_only=True):
    ok: bool
    configured: bool
    model: str | None = None
    text: str = ""
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error_code: str | None = None
    error: str | None = None


class TokenEstimateRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    query: str
    documents: int = 3  # how many retrieved sources to pack


class TokenEstimate(msgspec.Struct, kw_only=True):
    query: str
    sources: int  # sources retrieved
    sources_packed: int  # sources that fit the budget
    prompt_tokens: int
    max_completion_tokens: int
    context_window: int
    fits: bool
    estimated: bool = True  # counts are estimates (no provider tokenizer offline)


class IndexBenchmark(msgspec.Struct, kw_only=True):
    vectors: int
    dim: int
    queries: int
    k: int
    p50_ms: float
    p95_ms: float
    qps: float
    memory_mb: float
