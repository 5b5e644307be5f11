"""Chat endpoints: thin controllers over `server.chat` (conversations CRUD and asking)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from server.api.sse import chat_event_stream
from server.chat import asking, conversations
from server.deps import RT, CallerDep
from shared import routes
from shared.models.chat import (
    Answer,
    AskRequest,
    Conversation,
    ConversationCreate,
    ConversationDetail,
    ConversationList,
    ConversationRename,
)


@post(routes.CHAT_CONVERSATIONS, tags=["chat"], status_code=201)
async def create_conversation(rt: RT, caller: CallerDep, data: JSONBody[ConversationCreate]) -> Conversation:
    """Start a conversation, optionally restricted to some documents (`document_ids`)."""
    return await conversations.create(rt, caller, data)


@get(routes.CHAT_CONVERSATIONS, tags=["chat"])
async def list_conversations(
    rt: RT,
    caller: CallerDep,
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    offset: Annotated[int, QueryParameter(ge=0, le=1_000_000_000)] = 0,
) -> ConversationList:
    """The caller's conversations, most recently active first."""
    return await conversations.list_conversations(rt, caller, limit, offset)


@get(routes.CHAT_CONVERSATION, tags=["chat"])
async def get_conversation(rt: RT, caller: CallerDep, conversation_id: FromPath[UUID]) -> ConversationDetail:
    """A conversation with all its messages and their citations."""
    return await conversations.get(rt, caller, conversation_id)


@patch(routes.CHAT_CONVERSATION, tags=["chat"])
async def rename_conversation(
    rt: RT, caller: CallerDep, conversation_id: FromPath[UUID], data: JSONBody[ConversationRename]
) -> Conversation:
    return await conversations.rename(rt, caller, conversation_id, data.title)


@delete(routes.CHAT_CONVERSATION, tags=["chat"], status_code=204)
async def delete_conversation(rt: RT, caller: CallerDep, conversation_id: FromPath[UUID]) -> None:
    await conversations.delete(rt, caller, conversation_id)


@post(routes.CHAT_MESSAGES, tags=["chat"], status_code=200)
async def ask(rt: RT, caller: CallerDep, conversation_id: FromPath[UUID], data: JSONBody[AskRequest]) -> Response[Any]:
    """Ask a question. `stream: true` (default): Server-Sent Events, `event: <type>` and `data: <ChatEvent>`:
    `sources`, then `token`s, then `done` (usage, cited numbers, latency) or `failed` (error code).
    `stream: false`: the stored answer as `Answer` JSON (LLM failures: 503 llm_unavailable,
    504 llm_timeout, 422 context_too_long)."""
    asked = await asking.prepare(rt, caller, conversation_id, data)
    if data.stream:
        return chat_event_stream(asking.events(rt, caller, asked))
    answer: Answer = await asking.ask_once(rt, caller, asked)
    return Response(answer)


HANDLERS = [create_conversation, list_conversations, get_conversation, rename_conversation, delete_conversation, ask]
