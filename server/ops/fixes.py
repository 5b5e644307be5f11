"""One-key fixes offered by runbooks: each does one well-understood thing and reports it."""

from __future__ import annotations

from uuid import UUID

import psycopg

from server import documents
from server.auth.caller import Caller
from server.errors import BadRequest
from server.ops import checks
from server.runtime import Runtime
from shared.models.ops import FixResult

FIXES = ("reprocess", "rebuild_index", "cancel_long_queries", "vacuum_analyze")


async def apply(rt: Runtime, caller: Caller, fix: str, document_id: str | None) -> FixResult:
    if fix == "reprocess":
        if not document_id:
            raise BadRequest("The reprocess fix needs a document_id.", code="document_id_required")
        try:
            doc_uuid = UUID(document_id)
        except ValueError:
            raise BadRequest(f"{document_id!r} is not a document id.", code="invalid_document_id") from None
        doc = await documents.reprocess(rt, caller, doc_uuid)
        return FixResult(fix=fix, ok=True, detail=f"document {doc.id} queued for reprocessing")
    if fix == "rebuild_index":
        result = await checks.rebuild(rt, backup=True)
        return FixResult(fix=fix, ok=True, detail=f"index rebuilt with {result.vectors} vectors in {result.seconds}s; "
                                                   f"backup: {result.backup or 'none (no saved index)'}")
    if fix == "cancel_long_queries":
        async with rt.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT pid, pg_cancel_backend(pid) FROM pg_stat_activity WHERE state = 'active'"
                " AND now() - query_start > interval '60 seconds' AND pid <> pg_backend_pid()"
                " AND datname = current_database()")
            rows = await cur.fetchall()
        return FixResult(fix=fix, ok=True, detail=f"cancelled {len(rows)} queries running for over 60 s")
    if fix == "vacuum_analyze":
        async with await psycopg.AsyncConnection.connect(rt.conninfo, autocommit=True) as conn:
            await conn.execute("VACUUM ANALYZE")
        return FixResult(fix=fix, ok=True, detail="VACUUM ANALYZE completed")
    raise BadRequest(f"Unknown fix {fix!r}; available: {', '.join(FIXES)}.", code="unknown_fix")
