"""What a caller may read. Every path that can reveal a document goes through here.

A document is readable by its owner and by every user a collection holding it is shared with.
Roles do not widen this: operators and admins read only their own and shared documents (an
operator may reprocess any document, which reveals nothing of its content).
"""

from __future__ import annotations

from uuid import UUID

import psycopg

from server.auth.caller import Caller

# Shared with the caller through a collection; over a `documents` row aliased `d`.
SHARED = (
    "EXISTS (SELECT 1 FROM collection_documents cd"
    " JOIN collection_shares cs ON cs.collection_id = cd.collection_id"
    " WHERE cd.document_id = d.id AND cs.user_id = %(caller)s)"
)

# SQL predicate over a `documents` row aliased `d`; parameter: the caller's id as `%(caller)s`.
READABLE = f"(d.owner = %(caller)s OR {SHARED})"

# The `scope` of a document listing -> its predicate (same parameter).
SCOPES = {
    "own": "(d.owner = %(caller)s)",
    "shared": f"(d.owner <> %(caller)s AND {SHARED})",
    "all": READABLE,
}


def scope_predicate(scope: str) -> str:
    """The predicate for a listing scope (`own`, `shared`, `all`; `all-readable` means `all`)."""
    return SCOPES["all" if scope == "all-readable" else scope]


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


def can_delete(caller: Caller, owner: UUID) -> bool:
    """Only the owner deletes a document."""
    return caller.id == owner


def can_reprocess(caller: Caller, owner: UUID) -> bool:
    """The owner, or an operator (reprocessing reveals nothing of the content)."""
    return caller.id == owner or caller.is_operator
