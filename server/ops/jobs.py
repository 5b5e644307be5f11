"""The ingestion queue as operators see it: depth, running jobs, failed documents."""

from __future__ import annotations

from server.db import documents as docs_db
from server.db import jobs as jobs_db
from server.runtime import Runtime
from shared.models.ops import FailedDocument, JobsOverview, RunningJob


async def overview(rt: Runtime, failed_limit: int = 50) -> JobsOverview:
    async with rt.pool.connection() as conn:
        stats = await jobs_db.stats(conn)
        by_status = await docs_db.counts_by_status(conn)
        cur = await conn.execute(
            "SELECT j.id, d.id::text, d.title, d.status, j.attempts, j.max_attempts, j.worker, d.pages_done,"
            " d.page_count, d.chunk_count, extract(epoch FROM now() - j.updated_at), j.state"
            " FROM ingest_jobs j JOIN documents d ON d.id = j.document_id"
            " WHERE j.state IN ('queued', 'running') ORDER BY j.state DESC, j.created_at LIMIT 200")
        active = [RunningJob(job_id=r[0], document_id=r[1], title=r[2], status=r[3], attempts=r[4],
                             max_attempts=r[5], worker=r[6], pages_done=r[7], page_count=r[8], chunk_count=r[9],
                             started_seconds_ago=float(r[10] or 0)) for r in await cur.fetchall()]
        cur = await conn.execute(
            "SELECT id::text, title, status, error_code, error, updated_at FROM documents"
            " WHERE status = 'failed' ORDER BY updated_at DESC LIMIT %s", (failed_limit,))
        failed = [FailedDocument(id=r[0], title=r[1], status=r[2], error_code=r[3], error=r[4],
                                 updated_at=r[5].isoformat()) for r in await cur.fetchall()]
    return JobsOverview(queued=stats.queued, running=stats.running, failed_jobs=stats.failed,
                        oldest_queued_seconds=round(stats.oldest_queued_seconds, 1),
                        documents_by_status=by_status, active=active, failed=failed)
