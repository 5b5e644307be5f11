"""Asking in a conversation: the question is stored first, then answered by the pipeline; the
answer is stored when it ends — done, failed (with its error code) or cut short by a client that
went away (error code `cancelled`, with whatever text had been generated).

A conversation's first question is searched as asked (nothing to rewrite), so its embedding is
begun as soon as the conversation is found, overlapping the storing of the question."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

import anyio
import msgspec

from server.auth.caller import Caller
from server.chat import citations, pipeline
from server.chat.aio import closing
from server.chat.conversations import message_to_wire, require
from server.chat.rewrite import Turn
from server.db import chat as chat_db
from server.db.chat import ConversationRow, MessageRow
from server.errors import BadRequest
from server.rag import retrieve
from server.runtime import Runtime
from shared.models.chat import Answer, AskRequest, ChatEvent, Done, Failed, Sources

HISTORY_MESSAGES = 20  # earlier messages read as context (packing trims them further)


@dataclass
class Asked:
    conversation: ConversationRow
    user: MessageRow  # the stored question
    question: pipeline.Question
    result: pipeline.Result
    answer: MessageRow | None = None  # the stored answer, once stored


def _history(rows: list[MessageRow]) -> list[Turn]:
    """Earlier turns: every question; answers that completed."""
    return [Turn(r.role, r.content, r.query) for r in rows
            if r.content.strip() and (r.role == "user" or r.error_code is None)]


async def prepare(rt: Runtime, caller: Caller, conversation_id: UUID, data: AskRequest) -> Asked:
    """Check the conversation (404 unless the caller owns it) and store the question."""
    content = data.content.strip()
    if not content:
        raise BadRequest("The question is empty.", code="empty_question")
    vector = None
    async with rt.pool.connection() as conn:
        conversation = await require(conn, caller, conversation_id)
        if conversation.message_count:
            recent = await chat_db.recent_messages(conn, conversation_id, HISTORY_MESSAGES)
        else:
            recent, vector = [], retrieve.start_embedding(rt, content)
        user = await chat_db.add_message(conn, conversation_id, "user", content)
    docs = [str(d) for d in conversation.document_ids] if conversation.document_ids is not None else None
    question = pipeline.Question(text=content, history=_history(recent), document_ids=docs, top_k=data.top_k,
                                 vector=vector)
    return Asked(conversation, user, question, pipeline.Result(mode=pipeline.mode_of(rt)))


async def _store(rt: Runtime, asked: Asked) -> MessageRow:
    r = asked.result
    cited = [msgspec.to_builtins(c) for c in citations.cited(r.sources, r.cited)]
    async with rt.pool.connection() as conn:
        if r.query:
            await chat_db.set_query(conn, asked.user.id, r.query)
        asked.answer = await chat_db.add_message(
            conn, asked.conversation.id, "assistant", r.text, mode=r.mode, citations=cited,
            prompt_tokens=r.usage.prompt_tokens, completion_tokens=r.usage.completion_tokens,
            error_code=r.error_code, latency_ms=r.latency_ms, ttft_ms=r.ttft_ms,
        )
    return asked.answer


async def events(rt: Runtime, caller: Caller, asked: Asked) -> AsyncIterator[ChatEvent]:
    """The pipeline's events with message ids filled in; the answer stored before `done`/`failed`."""
    try:
        async with closing(pipeline.answer(rt, caller, asked.question, asked.result)) as answer:
            async for event in answer:
                if isinstance(event, Sources):
                    event = msgspec.structs.replace(event, message_id=asked.user.id,
                                                    conversation_id=str(asked.conversation.id))
                elif isinstance(event, (Done, Failed)):
                    event = msgspec.structs.replace(event, message_id=(await _store(rt, asked)).id)
                yield event
    finally:
        if asked.answer is None:  # cut short: keep what was said
            with anyio.CancelScope(shield=True):
                await _store(rt, asked)


async def ask_once(rt: Runtime, caller: Caller, asked: Asked) -> Answer:
    """The non-streaming variant: the whole stored answer, or the failure as an HTTP error."""
    async with closing(events(rt, caller, asked)) as stream:
        async for _ in stream:
            pass
    if asked.result.outcome != "ok" or asked.answer is None:
        error = pipeline.error_for(asked.result)
        error.detail = {"message_id": asked.answer.id if asked.answer else None}
        raise error
    return Answer(message=message_to_wire(asked.answer), query=asked.result.query, mode=asked.result.mode)  # type: ignore[arg-type]
