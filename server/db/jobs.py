"""SQL for the ingestion queue: claimed with FOR UPDATE SKIP LOCKED, held by a renewable lease.

A worker that dies stops renewing; once its lease expires the job is claimed again. Every write a
worker makes on behalf of a job is fenced by (job id, worker name, state 'running'), so a worker
that lost its lease can never finish a job another worker now holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import psycopg


@dataclass(frozen=True)
class Job:
    id: int
    document_id: UUID
    attempts: int
    max_attempts: int
    last_error: str | None


async def enqueue(conn: psycopg.AsyncConnection, document_id: UUID | str, max_attempts: int) -> bool:
    """Queue a job unless the document already has an active one; True if queued."""
    cur = await conn.execute(
        "INSERT INTO ingest_jobs (document_id, max_attempts) VALUES (%s, %s)"
        " ON CONFLICT (document_id) WHERE state IN ('queued', 'running') DO NOTHING RETURNING id",
        (document_id, max_attempts),
    )
    return await cur.fetchone() is not None


async def claim(conn: psycopg.AsyncConnection, worker: str, lease_seconds: float) -> Job | None:
    cur = await conn.execute(
        """
        UPDATE ingest_jobs SET state = 'running', attempts = attempts + 1, worker = %(worker)s,
               lease_until = now() + make_interval(secs => %(lease)s), updated_at = now()
         WHERE id = (
               SELECT id FROM ingest_jobs
                WHERE (state = 'queued' AND run_after <= now())
                   OR (state = 'running' AND lease_until < now())
                ORDER BY run_after, id
                FOR UPDATE SKIP LOCKED
                LIMIT 1)
        RETURNING id, document_id, attempts, max_attempts, last_error
        """,
        {"worker": worker, "lease": lease_seconds},
    )
    row = await cur.fetchone()
    return Job(*row) if row else None


async def renew(conn: psycopg.AsyncConnection, job_id: int, worker: str, lease_seconds: float) -> bool:
    """Extend the lease; False means it was lost (expired and taken by another worker)."""
    cur = await conn.execute(
        "UPDATE ingest_jobs SET lease_until = now() + make_interval(secs => %s), updated_at = now()"
        " WHERE id = %s AND worker = %s AND state = 'running' RETURNING id",
        (lease_seconds, job_id, worker),
    )
    return await cur.fetchone() is not None


async def finish(conn: psycopg.AsyncConnection, job_id: int, worker: str, state: str, error: str | None = None) -> bool:
    """Mark the job done or failed (fenced); False if this worker no longer holds it."""
    cur = await conn.execute(
        "UPDATE ingest_jobs SET state = %s, last_error = coalesce(%s, last_error), lease_until = NULL,"
        " updated_at = now() WHERE id = %s AND worker = %s AND state = 'running' RETURNING id",
        (state, error, job_id, worker),
    )
    return await cur.fetchone() is not None


async def retry_later(conn: psycopg.AsyncConnection, job_id: int, worker: str, error: str, delay_seconds: float) -> bool:
    cur = await conn.execute(
        "UPDATE ingest_jobs SET state = 'queued', last_error = %s, worker = NULL, lease_until = NULL,"
        " run_after = now() + make_interval(secs => %s), updated_at = now()"
        " WHERE id = %s AND worker = %s AND state = 'running' RETURNING id",
        (error, delay_seconds, job_id, worker),
    )
    return await cur.fetchone() is not None


async def cancel_for(conn: psycopg.AsyncConnection, document_id: UUID | str) -> None:
    """Retire the document's active job (before reprocessing or deleting it)."""
    await conn.execute(
        "UPDATE ingest_jobs SET state = 'failed', last_error = 'superseded', lease_until = NULL, updated_at = now()"
        " WHERE document_id = %s AND state IN ('queued', 'running')",
        (document_id,),
    )


@dataclass(frozen=True)
class QueueStats:
    queued: int
    running: int
    failed: int
    oldest_queued_seconds: float


async def stats(conn: psycopg.AsyncConnection) -> QueueStats:
    cur = await conn.execute(
        "SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE state = 'running'),"
        " count(*) FILTER (WHERE state = 'failed'),"
        " coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE state IN ('queued', 'running'))), 0)"
        " FROM ingest_jobs"
    )
    row = await cur.fetchone()
    assert row is not None
    return QueueStats(int(row[0]), int(row[1]), int(row[2]), float(row[3]))
