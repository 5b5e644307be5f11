"""Chat wire types: conversations, messages, citations and the streamed answer events.

A streamed answer is a sequence of Server-Sent Events whose `data` is one `ChatEvent` (a tagged
union, tag field `type`): `sources` first, then `token`s, then `done` with usage, or `failed`
with an error code. Decode with one reused `CHAT_EVENT_DECODER`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec


class Citation(msgspec.Struct, kw_only=True):
    """What [n] in an answer refers to: a chunk of a document and its page range."""

    n: int
    document_id: str
    title: str
    filename: str
    page_start: int
    page_end: int
    chunk_id: int
    snippet: str
    text: str = ""
    score: float = 0.0


class Usage(msgspec.Struct, kw_only=True):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False


# ---------------------------------------------------------------- streamed events


class Sources(msgspec.Struct, tag="sources", kw_only=True):
    message_id: int | None = None
    conversation_id: str | None = None
    query: str = ""  # the standalone question actually searched (after follow-up rewriting)
    citations: list[Citation] = []


class Token(msgspec.Struct, tag="token", kw_only=True):
    text: str


class Done(msgspec.Struct, tag="done", kw_only=True):
    message_id: int | None = None
    mode: Literal["llm", "extractive"] = "llm"
    usage: Usage = msgspec.field(default_factory=Usage)
    cited: list[int] = []  # the [n] numbers the answer actually uses
    latency_ms: float = 0.0
    time_to_first_token_ms: float | None = None


class Failed(msgspec.Struct, tag="failed", kw_only=True):
    code: str  # llm_unavailable | llm_timeout | context_too_long | internal_error | ...
    message: str
    message_id: int | None = None


ChatEvent = Sources | Token | Done | Failed
CHAT_EVENT_DECODER = msgspec.json.Decoder(ChatEvent)
CHAT_EVENT_ENCODER = msgspec.json.Encoder()


# ---------------------------------------------------------------- conversations


class ConversationCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    title: Annotated[str, msgspec.Meta(max_length=200)] = ""
    document_ids: list[str] | None = None  # restrict answers to these documents


class ConversationRename(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class Message(msgspec.Struct, kw_only=True):
    id: int
    role: Literal["user", "assistant"]
    content: str
    created_at: datetime
    mode: str | None = None  # llm | extractive for answers
    citations: list[Citation] = []
    usage: Usage | None = None
    error_code: str | None = None
    query: str | None = None  # for a question: the standalone form searched (follow-ups rewritten)


class Conversation(msgspec.Struct, kw_only=True):
    id: str
    title: str
    created_at: datetime
    updated_at: datetime
    message_count: int = 0
    document_ids: list[str] | None = None


class ConversationDetail(Conversation, kw_only=True):
    messages: list[Message] = []


class ConversationList(msgspec.Struct, kw_only=True):
    items: list[Conversation]
    total: int
    limit: int = 0
    offset: int = 0


class AskRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    content: Annotated[str, msgspec.Meta(min_length=1, max_length=8000)]
    top_k: Annotated[int, msgspec.Meta(ge=1, le=20)] = 6
    stream: bool = True


class Answer(msgspec.Struct, kw_only=True):
    """The non-streaming variant's body: the whole answer at once."""

    message: Message
    query: str
    mode: Literal["llm", "extractive"]
