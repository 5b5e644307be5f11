"""Document service: upload (deduplicated by content), read, delete and reprocess.

Uploads are spooled to a temporary file while their SHA-256 is computed, checked by content (not
by name), stored under a server-made key, recorded and queued in one transaction. Nothing is
processed in the request.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import tempfile
import unicodedata
import uuid
from pathlib import Path
from typing import Any

from litestar.datastructures import UploadFile
from loguru import logger

from server.auth import access
from server.auth.caller import Caller
from server.db import documents as docs_db
from server.db import jobs as jobs_db
from server.db import vectors as vdb
from server.db.documents import DocumentRow
from server.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge, UnsupportedMedia
from server.logs import document_id_var
from server.rag.extract import ExtractError, sniff_content_type
from server.runtime import Runtime
from shared.models.documents import Document, Progress

_COPY_BLOCK = 1 << 20


def clean_filename(name: str | None) -> str:
    """A display name: the last path component, printable, at most 255 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C").strip()
    return (base or "document")[:255]


def to_wire(row: DocumentRow, rt: Runtime, *, duplicate: bool = False, embedded: int | None = None) -> Document:
    vector_count = rt.index.vectors_for(str(row.id)) if rt.index is not None else 0
    return Document(
        id=str(row.id),
        title=row.title,
        filename=row.filename,
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        status=row.status,
        stage=row.stage,
        error=row.error,
        error_code=row.error_code,
        notes=row.notes,
        page_count=row.page_count,
        chunk_count=row.chunk_count,
        vector_count=vector_count,
        progress=Progress(
            pages_done=row.pages_done,
            page_count=row.page_count,
            chunks_embedded=row.chunk_count if row.status == "ready" else (embedded or 0),
            chunk_count=row.chunk_count,
        ),
        embedding_model=row.embedding_model,
        owner=str(row.owner),
        upload_date=row.upload_date,
        updated_at=row.updated_at,
        ready_at=row.ready_at,
        duplicate=duplicate,
    )


async def _spool(upload: UploadFile, directory: Path, limit: int) -> tuple[Path, str, int, bytes]:
    """Copy the upload to a temporary file; return (path, sha256, size, first bytes)."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="upload-", dir=directory)
    path = Path(name)
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        with open(fd, "wb") as out:
            while block := await upload.read(_COPY_BLOCK):
                size += len(block)
                if size > limit:
                    raise PayloadTooLarge(
                        f"The file exceeds the upload limit of {limit} bytes (DOCMAN_MAX_UPLOAD_BYTES).",
                        detail={"limit_bytes": limit, "setting": "DOCMAN_MAX_UPLOAD_BYTES"},
                    )
                if len(head) < 4096:
                    head += block[: 4096 - len(head)]
                digest.update(block)
                await asyncio.to_thread(out.write, block)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest(), size, head


async def upload(rt: Runtime, caller: Caller, file: UploadFile, title: str | None) -> tuple[Document, bool]:
    """Store and queue an upload; returns (document, duplicate)."""
    filename = clean_filename(file.filename)
    path, sha256, size, head = await _spool(file, rt.settings.data_dir / "tmp", rt.settings.ingest.max_upload_bytes)
    try:
        try:
            content_type = sniff_content_type(head, filename)
        except ExtractError as exc:
            if exc.code == "empty_file":
                raise BadRequest(exc.message, code="empty_file") from None
            raise UnsupportedMedia(exc.message, code=exc.code) from None
        async with rt.pool.connection() as conn:
            existing = await docs_db.find_by_sha256(conn, caller.id, sha256)
        if existing is not None:
            logger.info("duplicate upload of {} returned the existing document {}", filename, existing.id)
            return to_wire(existing, rt, duplicate=True), True
        doc_id = uuid.uuid4()
        key = f"documents/{doc_id}/original"
        await rt.store.put_file(key, path, content_type)
        row = {
            "id": doc_id, "owner": caller.id, "title": (title or "").strip()[:500] or Path(filename).stem or filename,
            "filename": filename, "content_type": content_type, "size_bytes": size, "sha256": sha256,
            "storage_key": key,
        }
        async with rt.pool.connection() as conn:
            inserted = await docs_db.insert(conn, row)
            if inserted is not None:
                await jobs_db.enqueue(conn, doc_id, rt.settings.ingest.max_attempts)
        if inserted is None:  # an identical upload won the race: keep theirs, drop ours
            await rt.store.delete(key)
            async with rt.pool.connection() as conn:
                winner = await docs_db.find_by_sha256(conn, caller.id, sha256)
            if winner is None:
                raise BadRequest("The upload collided with a concurrent deletion; try again.", code="conflict")
            return to_wire(winner, rt, duplicate=True), True
        token = document_id_var.set(str(doc_id))
        logger.info("stored upload {} ({} bytes, {}) as document {}", filename, size, content_type, doc_id)
        document_id_var.reset(token)
        worker = rt.extras.get("worker")
        if worker is not None:
            worker.poke()
        return to_wire(inserted, rt), False
    finally:
        path.unlink(missing_ok=True)


async def get_row(rt: Runtime, caller: Caller, document_id: uuid.UUID) -> DocumentRow:
    """The document if the caller may read it (owner or shared with them); else 404, whether or not it exists."""
    async with rt.pool.connection() as conn:
        row = await docs_db.get_readable(conn, document_id, caller.id)
    if row is None:
        raise NotFound(f"Document {document_id} not found.", code="document_not_found")
    return row


async def get(rt: Runtime, caller: Caller, document_id: uuid.UUID) -> Document:
    row = await get_row(rt, caller, document_id)
    embedded = None
    if row.status == "embedding":
        async with rt.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT count(*) FROM document_chunks WHERE document_id = %s AND embedding IS NOT NULL", (row.id,)
            )
            embedded = int((await cur.fetchone())[0])  # type: ignore[index]
    return to_wire(row, rt, embedded=embedded)


async def list_documents(rt: Runtime, caller: Caller, *, scope: str = "all", **query: Any) -> tuple[list[Document], int]:
    """The documents the caller may read within `scope`: own, shared (with them) or all."""
    async with rt.pool.connection() as conn:
        rows, total = await docs_db.list_for(conn, caller=caller.id, scope=scope, **query)
    return [to_wire(r, rt) for r in rows], total


async def page_text(rt: Runtime, caller: Caller, document_id: uuid.UUID, page: int) -> tuple[DocumentRow, str]:
    row = await get_row(rt, caller, document_id)
    if page < 1 or (row.page_count is not None and page > row.page_count):
        raise NotFound(f"Page {page} does not exist; the document has {row.page_count} pages.", code="page_not_found")
    async with rt.pool.connection() as conn:
        text = await docs_db.page_text(conn, document_id, page)
    if text is None:
        raise NotFound(f"Page {page} has not been extracted yet (document status: {row.status}).", code="page_not_found")
    return row, text


async def _retire_vectors(conn: Any, document_id: uuid.UUID) -> None:
    """Cancel the active job and log the removal of the document's vectors (same transaction)."""
    await jobs_db.cancel_for(conn, document_id)
    await vdb.append(conn, "remove", str(document_id), await vdb.chunk_ids_of(conn, str(document_id)))


async def delete(rt: Runtime, caller: Caller, document_id: uuid.UUID) -> None:
    async with rt.pool.connection() as conn:
        row = await docs_db.get_for_update(conn, document_id)
        if row is None or not access.can_delete(caller, row.owner):
            if row is not None and await access.can_read(conn, caller, document_id):
                raise Forbidden("Only the owner may delete a shared document.", code="not_owner")
            raise NotFound(f"Document {document_id} not found.", code="document_not_found")
        await _retire_vectors(conn, document_id)
        await docs_db.delete(conn, document_id)
    try:
        await rt.store.delete(row.storage_key)
    except Exception as exc:  # the rows are gone; an orphaned file is only wasted space
        logger.warning("document {} deleted but its file {} was not: {}", document_id, row.storage_key, exc)
    logger.info("deleted document {}", document_id)
    await _sync_index(rt)


async def reprocess(rt: Runtime, caller: Caller, document_id: uuid.UUID) -> Document:
    async with rt.pool.connection() as conn:
        row = await docs_db.get_for_update(conn, document_id)
        if row is None or not access.can_reprocess(caller, row.owner):
            if row is not None and await access.can_read(conn, caller, document_id):
                raise Forbidden("Only the owner or an operator may reprocess a shared document.", code="not_owner")
            raise NotFound(f"Document {document_id} not found.", code="document_not_found")
        await _retire_vectors(conn, document_id)
        await conn.execute("DELETE FROM document_chunks WHERE document_id = %s", (document_id,))
        await conn.execute("DELETE FROM document_pages WHERE document_id = %s", (document_id,))
        await docs_db.set_progress(conn, document_id, status="queued", stage="queued", error=None, error_code=None,
                                   pages_done=0, chunk_count=0, ready_at=None)
        await jobs_db.enqueue(conn, document_id, rt.settings.ingest.max_attempts)
        row = await docs_db.get(conn, document_id)
    assert row is not None
    logger.info("document {} queued for reprocessing", document_id)
    worker = rt.extras.get("worker")
    if worker is not None:
        worker.poke()
    await _sync_index(rt)
    return to_wire(row, rt)


async def _sync_index(rt: Runtime) -> None:
    if rt.index is not None and rt.index.loaded:
        try:
            await rt.index.sync(rt.pool)
        except Exception as exc:  # the background loop will catch up
            logger.warning("index sync after a change failed: {}", exc)
