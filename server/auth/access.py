"""What a caller may read. Every path that can reveal a document goes through here."""

from __future__ import annotations

from uuid import UUID

import psycopg

from server.auth.caller import Caller

# SQL predicate over a `documents` row aliased `d`; parameter: the caller's id.
READABLE = "(d.owner = %(caller)s)"


async def readable_document_ids(conn: psycopg.AsyncConnection, caller: Caller, *, ready_only: bool = True) -> set[str]:
    """Ids of the documents the caller may read (their own, and those shared with them)."""
    cur = await conn.execute(
        f"SELECT d.id::text FROM documents d WHERE {READABLE}" + (" AND d.status = 'ready'" if ready_only else ""),
        {"caller": caller.id},
    )
    return {r[0] for r in await cur.fetchall()}


async def can_read(conn: psycopg.AsyncConnection, caller: Caller, document_id: UUID | str) -> bool:
    cur = await conn.execute(
        f"SELECT 1 FROM documents d WHERE d.id = %(doc)s AND {READABLE}", {"caller": caller.id, "doc": document_id}
    )
    return await cur.fetchone() is not None
