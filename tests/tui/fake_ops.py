"""Canned operator data for the fake client: health, logs, jobs, runbooks, a runbook run."""

from __future__ import annotations

from shared.models.health import ComponentDetail, DependencyHealth
from shared.models.ops import (
    CheckResult,
    FailedDocument,
    JobsOverview,
    LogLine,
    RunbookInfo,
    RunbookRun,
    RunbookStep,
    RunningJob,
)

HEALTH = DependencyHealth(
    status="degraded",
    version="1.0.0",
    timestamp="2024-05-01T12:00:00Z",
    components={
        "database": "ok",
        "vector_store": "ok",
        "object_store": "ok",
        "llm": "not_configured",
        "workers": "degraded",
    },
    details={
        "database": ComponentDetail(status="ok", latency_ms=1.2),
        "workers": ComponentDetail(status="degraded", detail="1 of 2 workers idle > 60 s"),
        "llm": ComponentDetail(status="not_configured", detail="answers are extractive"),
    },
)

LOGS = [
    LogLine(
        seq=i,
        timestamp=f"2024-05-01T12:00:{i:02d}.000Z",
        level=lvl,
        service=svc,
        correlation_id=cid,
        document_id=did,
        message=msg,
    )
    for i, (lvl, svc, cid, did, msg) in enumerate(
        [
            ("INFO", "api", "cid-aaa", None, "GET /api/v1/documents/list -> 200 in 3.1 ms"),
            ("INFO", "worker", "cid-bbb", "doc-2", "extracting scanned-invoice.pdf"),
            ("ERROR", "worker", "cid-bbb", "doc-2", "ingestion failed: no_text"),
            ("WARNING", "api", "cid-ccc", None, "POST /api/v1/auth/token -> 401 in 80.2 ms"),
            ("INFO", "api", "cid-aaa", None, "POST /api/v1/search -> 200 in 18.0 ms"),
        ],
        1,
    )
]

JOBS = JobsOverview(
    queued=3,
    running=1,
    failed_jobs=1,
    oldest_queued_seconds=42.0,
    documents_by_status={"ready": 12, "failed": 1, "embedding": 1},
    active=[
        RunningJob(
            job_id=7,
            document_id="doc-3",
            title="Annual report",
            status="embedding",
            attempts=1,
            max_attempts=3,
            worker="worker-1",
            pages_done=40,
            page_count=40,
            started_seconds_ago=12,
        )
    ],
    failed=[
        FailedDocument(
            id="doc-2",
            title="Scanned invoice",
            status="failed",
            error_code="no_text",
            error="No extractable text on any page",
            updated_at="2024-05-01T11:58:00Z",
        )
    ],
)

RUNBOOKS = [
    RunbookInfo(
        id="document-not-found-in-search",
        title="Document Not Found in Search",
        checks=["document_status", "vector_count"],
        fixes=["reprocess", "rebuild_index"],
        params=["document_id", "text"],
    ),
    RunbookInfo(id="queue-backlog", title="Queue Backlog", checks=["queue_depth"]),
]


def run_result(runbook_id: str) -> RunbookRun:
    return RunbookRun(
        runbook=runbook_id,
        verdict="fail",
        summary="The document failed ingestion.",
        steps=[
            RunbookStep(
                check=CheckResult(
                    id="document_status", title="Document status", verdict="fail", detail="failed (no_text)"
                ),
                resolution="Reprocess it once the cause is fixed.",
                fix="reprocess",
            ),
            RunbookStep(check=CheckResult(id="vector_count", title="Vectors", verdict="skip", detail="no chunks")),
            RunbookStep(
                check=CheckResult(
                    id="index_consistency",
                    title="Index consistency",
                    verdict="pass",
                    detail="1234 vectors match 1234 rows",
                )
            ),
        ],
    )
