"""SQL for `collections`, `collection_documents` and `collection_shares`."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from psycopg.rows import dict_row


class CollectionRow(msgspec.Struct, kw_only=True):
    id: UUID
    owner: UUID
    owner_email: str
    name: str
    description: str
    document_count: int
    share_count: int
    created_at: datetime
    updated_at: datetime


_SELECT = """
SELECT c.id, c.owner, u.email AS owner_email, c.name, c.description, c.created_at, c.updated_at,
       (SELECT count(*) FROM collection_documents cd WHERE cd.collection_id = c.id) AS document_count,
       (SELECT count(*) FROM collection_shares cs WHERE cs.collection_id = c.id) AS share_count
  FROM collections c JOIN users u ON u.id = c.owner
"""
# Visible to the caller: owned, or shared with them.
_VISIBLE = ("(c.owner = %(caller)s OR EXISTS (SELECT 1 FROM collection_shares s"
            " WHERE s.collection_id = c.id AND s.user_id = %(caller)s))")


def _rows(rows: list[dict[str, Any]]) -> list[CollectionRow]:
    return [msgspec.convert(r, CollectionRow) for r in rows]


async def create(conn: psycopg.AsyncConnection, owner: UUID, name: str, description: str) -> UUID | None:
    """The new collection's id; None when the owner already has one by that name."""
    cur = await conn.execute(
        "INSERT INTO collections (owner, name, description) VALUES (%s, %s, %s)"
        " ON CONFLICT (owner, lower(name)) DO NOTHING RETURNING id",
        (owner, name, description),
    )
    row = await cur.fetchone()
    return row[0] if row else None


async def visible(conn: psycopg.AsyncConnection, caller: UUID) -> list[CollectionRow]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"{_SELECT} WHERE {_VISIBLE} ORDER BY lower(c.name), c.id", {"caller": caller})
    return _rows(await cur.fetchall())


async def get_visible(conn: psycopg.AsyncConnection, collection_id: UUID, caller: UUID) -> CollectionRow | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"{_SELECT} WHERE c.id = %(id)s AND {_VISIBLE}", {"id": collection_id, "caller": caller})
    rows = _rows(await cur.fetchall())
    return rows[0] if rows else None


async def delete(conn: psycopg.AsyncConnection, collection_id: UUID) -> None:
    await conn.execute("DELETE FROM collections WHERE id = %s", (collection_id,))


async def documents(conn: psycopg.AsyncConnection, collection_id: UUID) -> list[tuple[str, str, str, str]]:
    """(id, title, filename, status) of the collection's documents."""
    cur = await conn.execute(
        "SELECT d.id::text, d.title, d.filename, d.status FROM collection_documents cd"
        " JOIN documents d ON d.id = cd.document_id WHERE cd.collection_id = %s ORDER BY lower(d.title), d.id",
        (collection_id,),
    )
    return [tuple(r) for r in await cur.fetchall()]  # type: ignore[misc]


async def owned_documents(conn: psycopg.AsyncConnection, owner: UUID, ids: list[UUID]) -> set[UUID]:
    """Which of `ids` belong to `owner`."""
    cur = await conn.execute("SELECT id FROM documents WHERE owner = %s AND id = ANY(%s)", (owner, ids))
    return {r[0] for r in await cur.fetchall()}


async def add_documents(conn: psycopg.AsyncConnection, collection_id: UUID, ids: list[UUID]) -> None:
    await conn.execute(
        "INSERT INTO collection_documents (collection_id, document_id) SELECT %s, unnest(%s::uuid[])"
        " ON CONFLICT DO NOTHING",
        (collection_id, ids),
    )
    await touch(conn, collection_id)


async def remove_document(conn: psycopg.AsyncConnection, collection_id: UUID, document_id: UUID) -> bool:
    cur = await conn.execute(
        "DELETE FROM collection_documents WHERE collection_id = %s AND document_id = %s", (collection_id, document_id)
    )
    await touch(conn, collection_id)
    return bool(cur.rowcount)


async def shares(conn: psycopg.AsyncConnection, collection_id: UUID) -> list[tuple[str, str, datetime]]:
    """(user id, email, shared at) of the collection's recipients."""
    cur = await conn.execute(
        "SELECT u.id::text, u.email, s.created_at FROM collection_shares s JOIN users u ON u.id = s.user_id"
        " WHERE s.collection_id = %s ORDER BY lower(u.email)",
        (collection_id,),
    )
    return [tuple(r) for r in await cur.fetchall()]  # type: ignore[misc]


async def share(conn: psycopg.AsyncConnection, collection_id: UUID, user_id: UUID) -> None:
    await conn.execute(
        "INSERT INTO collection_shares (collection_id, user_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (collection_id, user_id),
    )
    await touch(conn, collection_id)


async def unshare(conn: psycopg.AsyncConnection, collection_id: UUID, user_id: UUID) -> bool:
    cur = await conn.execute(
        "DELETE FROM collection_shares WHERE collection_id = %s AND user_id = %s", (collection_id, user_id)
    )
    await touch(conn, collection_id)
    return bool(cur.rowcount)


async def touch(conn: psycopg.AsyncConnection, collection_id: UUID) -> None:
    await conn.execute("UPDATE collections SET updated_at = now() WHERE id = %s", (collection_id,))
