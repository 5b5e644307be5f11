"""SQL for `documents` and `document_pages`."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from psycopg.rows import dict_row

from server.auth.access import READABLE, scope_predicate


class DocumentRow(msgspec.Struct, kw_only=True):
    id: UUID
    owner: UUID
    title: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    storage_key: str
    status: str
    stage: str
    error: str | None
    error_code: str | None
    notes: list[str]
    page_count: int | None
    pages_done: int
    chunk_count: int
    embedding_model: str | None
    upload_date: datetime
    updated_at: datetime
    ready_at: datetime | None


_COLUMNS = (
    "id, owner, title, filename, content_type, size_bytes, sha256, storage_key, status, stage, error,"
    " error_code, notes, page_count, pages_done, chunk_count, embedding_model, upload_date, updated_at, ready_at"
)

SORTS = {
    "upload_date": "upload_date",
    "title": "lower(title)",
    "size": "size_bytes",
    "status": "status",
    "updated_at": "updated_at",
}


def _row(r: dict[str, Any] | None) -> DocumentRow | None:
    return msgspec.convert(r, DocumentRow) if r else None


async def insert(conn: psycopg.AsyncConnection, doc: dict[str, Any]) -> DocumentRow | None:
    """Insert a queued document; None when the owner already has this content (sha256)."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "INSERT INTO documents (id, owner, title, filename, content_type, size_bytes, sha256, storage_key)"
        " VALUES (%(id)s, %(owner)s, %(title)s, %(filename)s, %(content_type)s, %(size_bytes)s, %(sha256)s,"
        " %(storage_key)s) ON CONFLICT ON CONSTRAINT documents_owner_sha256_key DO NOTHING"
        f" RETURNING {_COLUMNS}",
        doc,
    )
    return _row(await cur.fetchone())


async def get(conn: psycopg.AsyncConnection, document_id: UUID | str) -> DocumentRow | None:
    """Any document by id: for workers and for checks that apply their own rule (delete, reprocess)."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {_COLUMNS} FROM documents WHERE id = %s", (document_id,))
    return _row(await cur.fetchone())


async def get_readable(conn: psycopg.AsyncConnection, document_id: UUID | str, caller: UUID) -> DocumentRow | None:
    """The document when `caller` may read it (`server.auth.access.READABLE`), else None."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {_COLUMNS} FROM documents d WHERE d.id = %(doc)s AND {READABLE}", {"doc": document_id, "caller": caller}
    )
    return _row(await cur.fetchone())


async def get_for_update(conn: psycopg.AsyncConnection, document_id: UUID | str) -> DocumentRow | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {_COLUMNS} FROM documents WHERE id = %s FOR UPDATE", (document_id,))
    return _row(await cur.fetchone())


async def find_by_sha256(conn: psycopg.AsyncConnection, owner: UUID, sha256: str) -> DocumentRow | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {_COLUMNS} FROM documents WHERE owner = %s AND sha256 = %s", (owner, sha256))
    return _row(await cur.fetchone())


async def list_for(
    conn: psycopg.AsyncConnection,
    *,
    caller: UUID,
    scope: str,
    status: str | None,
    sort: str,
    descending: bool,
    limit: int,
    offset: int,
) -> tuple[list[DocumentRow], int]:
    """One page of the documents `caller` may read within `scope` (own, shared, all), and the total."""
    where = [scope_predicate(scope)]
    params: dict[str, Any] = {"caller": caller, "limit": limit, "offset": offset}
    if status:
        where.append("d.status = %(status)s")
        params["status"] = status
    clause = " AND ".join(where)
    order = f"{SORTS[sort]} {'DESC' if descending else 'ASC'}, id"
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {_COLUMNS}, count(*) OVER () AS total FROM documents d WHERE {clause}"
        f" ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s",
        params,
    )
    rows = await cur.fetchall()
    total = rows[0]["total"] if rows else 0
    if not rows and offset:
        c2 = await conn.execute(f"SELECT count(*) FROM documents d WHERE {clause}", params)
        total = (await c2.fetchone())[0]  # type: ignore[index]
    return [msgspec.convert({k: v for k, v in r.items() if k != "total"}, DocumentRow) for r in rows], total


async def set_progress(conn: psycopg.AsyncConnection, document_id: UUID | str, **fields: Any) -> None:
    """Update status/stage/progress columns by name (names come from our code, never from input)."""
    allowed = {"status", "stage", "error", "error_code", "notes", "page_count", "pages_done", "chunk_count",
               "embedding_model", "ready_at"}
    bad = set(fields) - allowed
    if bad:
        raise ValueError(f"not updatable: {bad}")
    sets = ", ".join(f"{k} = %({k})s" for k in fields)
    await conn.execute(f"UPDATE documents SET {sets}, updated_at = now() WHERE id = %(id)s", {**fields, "id": document_id})


async def delete(conn: psycopg.AsyncConnection, document_id: UUID | str) -> None:
    await conn.execute("DELETE FROM documents WHERE id = %s", (document_id,))


async def page_text(conn: psycopg.AsyncConnection, document_id: UUID | str, page_no: int) -> str | None:
    cur = await conn.execute(
        "SELECT text FROM document_pages WHERE document_id = %s AND page_no = %s", (document_id, page_no)
    )
    row = await cur.fetchone()
    return row[0] if row else None


async def counts_by_status(conn: psycopg.AsyncConnection) -> dict[str, int]:
    cur = await conn.execute("SELECT status, count(*) FROM documents GROUP BY status")
    return {r[0]: int(r[1]) for r in await cur.fetchall()}


async def chunk_count(conn: psycopg.AsyncConnection, document_id: UUID | str) -> int:
    cur = await conn.execute("SELECT count(*) FROM document_chunks WHERE document_id = %s", (document_id,))
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def pages_in_ranges(conn: psycopg.AsyncConnection, ranges: list[tuple[str, int, int]]) -> dict[tuple[str, int], str]:
    """Extracted text of pages lo..hi of each (document id, lo, hi), keyed by (document id, page)."""
    if not ranges:
        return {}
    cur = await conn.execute(
        "SELECT p.document_id::text, p.page_no, p.text FROM document_pages p"
        " JOIN unnest(%s::uuid[], %s::int[], %s::int[]) AS r(doc, lo, hi)"
        "   ON p.document_id = r.doc AND p.page_no BETWEEN r.lo AND r.hi",
        ([r[0] for r in ranges], [r[1] for r in ranges], [r[2] for r in ranges]),
    )
    return {(str(d), int(n)): str(t) for d, n, t in await cur.fetchall()}
