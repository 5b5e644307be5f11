"""Diagnostic checks shared by the operator endpoints, the console's runbooks and `docman ops`."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import numpy as np

from server import metrics
from server.auth.caller import Caller
from server.db import documents as docs_db
from server.db import vectors as vectors_db
from server.rag import retrieve
from server.rag.index import INDEX_FILE, IndexFileError, VectorIndex
from server.runtime import Runtime
from shared.models.ops import CheckResult, IndexReport, RebuildResult

INDEX_CONSISTENT = metrics.VECTOR_INDEX_CONSISTENT


def _result(id: str, title: str, ok: bool | None, detail: str, **data: object) -> CheckResult:
    verdict = "skip" if ok is None else ("pass" if ok else "fail")
    return CheckResult(id=id, title=title, verdict=verdict, detail=detail, data=data)


def _index(rt: Runtime) -> VectorIndex:
    from server.errors import ServiceUnavailable

    if rt.index is None or not rt.index.loaded:
        raise ServiceUnavailable("The vector index is still loading.", code="index_loading")
    return rt.index


async def stored_vector_ids(rt: Runtime) -> np.ndarray:
    async with rt.pool.connection() as conn:
        return await vectors_db.indexed_ids(conn)


async def consistency(rt: Runtime) -> CheckResult:
    """Index ids against the database's ready, embedded chunks (after catching up with the log)."""
    index = _index(rt)
    for attempt in range(2):  # a change landing between the two reads settles on the second pass
        await index.sync(rt.pool)
        db_ids, idx_ids = await stored_vector_ids(rt), index.all_ids()
        missing = np.setdiff1d(db_ids, idx_ids)
        extra = np.setdiff1d(idx_ids, db_ids)
        if (missing.size == 0 and extra.size == 0) or attempt == 1:
            break
        await asyncio.sleep(0.2)
    ok = missing.size == 0 and extra.size == 0
    INDEX_CONSISTENT.set(1 if ok else 0)
    detail = (f"{idx_ids.size} vectors match {db_ids.size} stored chunk embeddings" if ok else
              f"{missing.size} stored chunks missing from the index, {extra.size} index vectors with no stored chunk")
    return _result("index_consistency", "Vector count consistency with the database", ok, detail,
                   vectors=int(idx_ids.size), chunk_rows=int(db_ids.size), missing=int(missing.size),
                   extra=int(extra.size), missing_sample=[int(x) for x in missing[:10]])


async def file_integrity(rt: Runtime) -> CheckResult:
    index = _index(rt)
    probe = VectorIndex(index.directory, index.dim, index.model)
    try:
        await asyncio.to_thread(probe.load_file)
    except IndexFileError as exc:
        ok = not (index.directory / INDEX_FILE).exists() and index.ntotal == 0
        return _result("index_file", "Index file integrity", ok,
                       "no index saved yet (empty index)" if ok else str(exc))
    return _result("index_file", "Index file integrity", True,
                   f"saved index loads: {probe.ntotal} vectors, checksum ok, log position {probe.applied_seq}",
                   saved_vectors=probe.ntotal)


async def search_works(rt: Runtime) -> CheckResult:
    """A stored embedding searched against the index must find its own chunk first."""
    index = _index(rt)
    async with rt.pool.connection() as conn:
        sample = await vectors_db.sample_embeddings(conn, 1)
    if not sample:
        return _result("search_basic", "Basic search functionality", None, "no stored vectors to probe with")
    chunk_id, blob = sample[0]
    hits = await asyncio.to_thread(index.search, vectors_db.decode(blob, index.dim), 3)
    ok = bool(hits) and hits[0].chunk_id == chunk_id
    detail = (f"chunk {chunk_id} found itself first (score {hits[0].score:.3f})" if ok
              else f"chunk {chunk_id} not found first: got {[h.chunk_id for h in hits]}")
    return _result("search_basic", "Basic search functionality", ok, detail)


async def verify_index(rt: Runtime) -> IndexReport:
    checks = [await file_integrity(rt), await consistency(rt), await search_works(rt)]
    data = checks[1].data
    verdict = "fail" if any(c.verdict == "fail" for c in checks) else "pass"
    return IndexReport(verdict=verdict, checks=checks, vectors=int(data["vectors"]),  # type: ignore[arg-type]
                       chunk_rows=int(data["chunk_rows"]), missing_in_index=int(data["missing"]),  # type: ignore[arg-type]
                       extra_in_index=int(data["extra"]))  # type: ignore[arg-type]


async def document_checks(rt: Runtime, document_id: str) -> list[CheckResult]:
    """document_status, chunk_count, vector_count for one document (operator view: any owner)."""
    async with rt.pool.connection() as conn:
        doc = await docs_db.get(conn, document_id)
        if doc is None:
            return [_result("document_status", "Document processed successfully", False,
                            f"no document {document_id}")]
        chunks = await docs_db.chunk_count(conn, document_id)
        cur = await conn.execute(
            "SELECT count(*) FROM document_chunks WHERE document_id = %s AND embedding IS NOT NULL", (document_id,))
        embedded = int((await cur.fetchone())[0])  # type: ignore[index]
    ready = doc.status == "ready"
    status_detail = f"status {doc.status}" + (f": [{doc.error_code}] {doc.error}" if doc.error else "")
    index = _index(rt)
    await index.sync(rt.pool)
    vectors = index.vectors_for(document_id)
    return [
        _result("document_status", "Document processed successfully", ready, status_detail, status=doc.status),
        _result("chunk_count", "Chunks were created", chunks > 0 if ready else None,
                f"{chunks} chunks in document_chunks", chunks=chunks),
        _result("vector_count", "Vectors are in the index", (vectors == chunks == embedded and chunks > 0) if ready else None,
                f"{vectors} vectors in this process's index, {embedded}/{chunks} chunks embedded",
                vectors=vectors, embedded=embedded),
    ]


async def search_probe(rt: Runtime, caller: Caller, document_id: str | None, text: str | None) -> CheckResult:
    if not text:
        return _result("search_probe", "Search finds the known text", None, "no text given to search for")
    hits = await retrieve.search(rt, caller, text, top_k=10, mode="hybrid")
    found = [h for h in hits if document_id is None or h.document_id == document_id]
    ok = bool(found)
    detail = (f"found at rank {hits.index(found[0]) + 1} (pages {found[0].page_start}-{found[0].page_end})" if ok
              else f"not in the top {len(hits)} results for {text!r}")
    return _result("search_probe", "Search finds the known text", ok, detail, results=len(hits))


async def rebuild(rt: Runtime, *, backup: bool) -> RebuildResult:
    index = _index(rt)
    started = time.perf_counter()
    backup_dir: Path | None = None
    if backup and (index.directory / INDEX_FILE).exists():
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        backup_dir = index.directory / "backups" / f"{stamp}-{os.urandom(3).hex()}"
        backup_dir.mkdir(parents=True, exist_ok=True)
        for f in index.directory.iterdir():
            if f.is_file():
                await asyncio.to_thread(shutil.copy2, f, backup_dir / f.name)
    await index.rebuild(rt.pool)
    await asyncio.to_thread(index.save)
    await index.sync(rt.pool)
    return RebuildResult(vectors=index.ntotal, seconds=round(time.perf_counter() - started, 3),
                         backup=str(backup_dir) if backup_dir else None)


async def restore(rt: Runtime, backup: str) -> RebuildResult:
    """Load a backup, then replay the log from its position: the result is current, not stale."""
    index = _index(rt)
    source = Path(backup)
    if not source.is_absolute():
        source = index.directory / "backups" / backup
    if source.resolve().parent != (index.directory / "backups").resolve():
        from server.errors import BadRequest

        raise BadRequest(f"{backup!r} is not a backup of this index.", code="invalid_backup")
    if not source.is_dir():
        from server.errors import NotFound

        raise NotFound(f"No backup {backup!r} under {index.directory / 'backups'}.", code="backup_not_found")
    started = time.perf_counter()
    probe = VectorIndex(source, index.dim, index.model)
    try:
        await asyncio.to_thread(probe.load_file)
    except IndexFileError as exc:
        from server.errors import Conflict

        raise Conflict(f"Backup {source.name} cannot be restored: {exc}.", code="backup_unusable") from None
    index.adopt(probe)
    await index.sync(rt.pool)
    await asyncio.to_thread(index.save)
    return RebuildResult(vectors=index.ntotal, seconds=round(time.perf_counter() - started, 3), backup=str(source))
