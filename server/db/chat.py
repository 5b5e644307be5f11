"""SQL for `conversations` and `messages`. Every conversation query is scoped to its owner, so
another user's conversation is indistinguishable from a missing one."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb


class ConversationRow(msgspec.Struct, kw_only=True):
    id: UUID
    owner: UUID
    title: str
    document_ids: list[UUID] | None
    created_at: datetime
    updated_at: datetime
    message_count: int = 0


class MessageRow(msgspec.Struct, kw_only=True):
    id: int
    conversation_id: UUID
    role: str
    content: str
    mode: str | None
    citations: list[dict[str, Any]]
    query: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    error_code: str | None
    latency_ms: float | None
    ttft_ms: float | None
    created_at: datetime


_CONVERSATION = """
SELECT c.id, c.owner, c.title, c.document_ids, c.created_at, c.updated_at,
       (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count
  FROM conversations c
"""
_MESSAGE_COLUMNS = ("id, conversation_id, role, content, mode, citations, query, prompt_tokens, completion_tokens,"
                    " error_code, latency_ms, ttft_ms, created_at")


async def create(conn: psycopg.AsyncConnection, owner: UUID, title: str, document_ids: list[str] | None) -> ConversationRow:
    cur = await conn.execute(
        "INSERT INTO conversations (owner, title, document_ids) VALUES (%s, %s, %s::uuid[]) RETURNING id",
        (owner, title, document_ids),
    )
    row = await cur.fetchone()
    assert row is not None
    found = await get(conn, row[0], owner)
    assert found is not None
    return found


async def get(conn: psycopg.AsyncConnection, conversation_id: UUID, owner: UUID) -> ConversationRow | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"{_CONVERSATION} WHERE c.id = %s AND c.owner = %s", (conversation_id, owner))
    row = await cur.fetchone()
    return msgspec.convert(row, ConversationRow) if row else None


async def list_for(conn: psycopg.AsyncConnection, owner: UUID, limit: int, offset: int) -> tuple[list[ConversationRow], int]:
    """The owner's conversations, most recently active first, and how many there are in all."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"{_CONVERSATION} WHERE c.owner = %s ORDER BY c.updated_at DESC, c.id LIMIT %s OFFSET %s",
        (owner, limit, offset),
    )
    rows = [msgspec.convert(r, ConversationRow) for r in await cur.fetchall()]
    total = await (await conn.execute("SELECT count(*) FROM conversations WHERE owner = %s", (owner,))).fetchone()
    return rows, int(total[0]) if total else 0


async def rename(conn: psycopg.AsyncConnection, conversation_id: UUID, owner: UUID, title: str) -> bool:
    cur = await conn.execute(
        "UPDATE conversations SET title = %s, updated_at = now() WHERE id = %s AND owner = %s",
        (title, conversation_id, owner),
    )
    return cur.rowcount == 1


async def delete(conn: psycopg.AsyncConnection, conversation_id: UUID, owner: UUID) -> bool:
    cur = await conn.execute("DELETE FROM conversations WHERE id = %s AND owner = %s", (conversation_id, owner))
    return cur.rowcount == 1


async def messages(conn: psycopg.AsyncConnection, conversation_id: UUID) -> list[MessageRow]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = %s ORDER BY id", (conversation_id,))
    return [msgspec.convert(r, MessageRow) for r in await cur.fetchall()]


async def recent_messages(conn: psycopg.AsyncConnection, conversation_id: UUID, limit: int) -> list[MessageRow]:
    """The last `limit` messages, oldest first."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = %s ORDER BY id DESC LIMIT %s",
        (conversation_id, limit),
    )
    return [msgspec.convert(r, MessageRow) for r in reversed(await cur.fetchall())]


async def add_message(
    conn: psycopg.AsyncConnection,
    conversation_id: UUID,
    role: str,
    content: str,
    *,
    mode: str | None = None,
    citations: list[dict[str, Any]] | None = None,
    query: str | None = None,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    error_code: str | None = None,
    latency_ms: float | None = None,
    ttft_ms: float | None = None,
) -> MessageRow:
    """Append a message and mark the conversation active; a first question also names an untitled one."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"""INSERT INTO messages (conversation_id, role, content, mode, citations, query, prompt_tokens,
                                  completion_tokens, error_code, latency_ms, ttft_ms)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_MESSAGE_COLUMNS}""",
        (conversation_id, role, content, mode, Jsonb(citations or []), query, prompt_tokens, completion_tokens,
         error_code, latency_ms, ttft_ms),
    )
    row = await cur.fetchone()
    assert row is not None
    title = " ".join(content.split())[:80] if role == "user" else ""
    await conn.execute(
        "UPDATE conversations SET updated_at = now(), title = CASE WHEN title = '' THEN %s ELSE title END WHERE id = %s",
        (title, conversation_id),
    )
    return msgspec.convert(row, MessageRow)


async def set_query(conn: psycopg.AsyncConnection, message_id: int, query: str) -> None:
    await conn.execute("UPDATE messages SET query = %s WHERE id = %s", (query, message_id))
