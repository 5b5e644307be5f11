"""Conversations: create, list, read, rename, delete — each only by its owner. Another user's
conversation answers exactly like a missing one (404), so ids reveal nothing."""

from __future__ import annotations

from uuid import UUID

import msgspec
import psycopg

from server.auth.access import readable_document_ids
from server.auth.caller import Caller
from server.db import chat as chat_db
from server.db.chat import ConversationRow, MessageRow
from server.errors import BadRequest, NotFound
from server.runtime import Runtime
from shared.models.chat import (
    Citation,
    Conversation,
    ConversationCreate,
    ConversationDetail,
    ConversationList,
    Message,
    Usage,
)

MAX_DOCUMENT_IDS = 1000


def to_wire(row: ConversationRow) -> Conversation:
    return Conversation(
        id=str(row.id), title=row.title, created_at=row.created_at, updated_at=row.updated_at,
        message_count=row.message_count,
        document_ids=[str(d) for d in row.document_ids] if row.document_ids is not None else None,
    )


def message_to_wire(row: MessageRow) -> Message:
    usage = None
    if row.role == "assistant" and row.prompt_tokens is not None:
        usage = Usage(prompt_tokens=row.prompt_tokens, completion_tokens=row.completion_tokens or 0)
    return Message(
        id=row.id, role=row.role, content=row.content, created_at=row.created_at,  # type: ignore[arg-type]
        mode=row.mode, citations=msgspec.convert(row.citations, list[Citation]), usage=usage,
        error_code=row.error_code, query=row.query,
    )


def not_found(conversation_id: UUID) -> NotFound:
    return NotFound(f"Conversation {conversation_id} not found.", code="conversation_not_found")


async def require(conn: psycopg.AsyncConnection, caller: Caller, conversation_id: UUID) -> ConversationRow:
    row = await chat_db.get(conn, conversation_id, caller.id)
    if row is None:
        raise not_found(conversation_id)
    return row


async def _check_documents(conn: psycopg.AsyncConnection, caller: Caller, ids: list[str]) -> list[str]:
    if len(ids) > MAX_DOCUMENT_IDS:
        raise BadRequest(f"At most {MAX_DOCUMENT_IDS} documents per conversation.", code="too_many_documents")
    out: list[str] = []
    for value in ids:
        try:
            out.append(str(UUID(value)))
        except ValueError:
            raise BadRequest(f"{value!r} is not a document id.", code="invalid_document_id") from None
    unknown = sorted(set(out) - await readable_document_ids(conn, caller, ready_only=False))
    if unknown:
        raise NotFound(f"Document {unknown[0]} not found.", code="document_not_found", detail={"document_ids": unknown})
    return list(dict.fromkeys(out))


async def create(rt: Runtime, caller: Caller, data: ConversationCreate) -> Conversation:
    """A new conversation; `document_ids` restricts its answers (an empty list means no restriction)."""
    async with rt.pool.connection() as conn:
        ids = await _check_documents(conn, caller, data.document_ids) if data.document_ids else None
        row = await chat_db.create(conn, caller.id, data.title.strip(), ids)
    return to_wire(row)


async def list_conversations(rt: Runtime, caller: Caller, limit: int, offset: int) -> ConversationList:
    async with rt.pool.connection() as conn:
        rows, total = await chat_db.list_for(conn, caller.id, limit, offset)
    return ConversationList(items=[to_wire(r) for r in rows], total=total, limit=limit, offset=offset)


async def get(rt: Runtime, caller: Caller, conversation_id: UUID) -> ConversationDetail:
    async with rt.pool.connection() as conn:
        row = await require(conn, caller, conversation_id)
        messages = await chat_db.messages(conn, conversation_id)
    return ConversationDetail(**msgspec.structs.asdict(to_wire(row)), messages=[message_to_wire(m) for m in messages])


async def rename(rt: Runtime, caller: Caller, conversation_id: UUID, title: str) -> Conversation:
    title = title.strip()
    if not title:
        raise BadRequest("The title is empty.", code="empty_title")
    async with rt.pool.connection() as conn:
        if not await chat_db.rename(conn, conversation_id, caller.id, title):
            raise not_found(conversation_id)
        return to_wire(await require(conn, caller, conversation_id))


async def delete(rt: Runtime, caller: Caller, conversation_id: UUID) -> None:
    async with rt.pool.connection() as conn:
        if not await chat_db.delete(conn, conversation_id, caller.id):
            raise not_found(conversation_id)
