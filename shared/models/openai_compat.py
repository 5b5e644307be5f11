"""Wire types of the OpenAI-compatible endpoint (`/v1/chat/completions`, `/v1/models`), in
OpenAI's own shapes plus one extension: a top-level `citations` list (our `Citation`s, cited
only, with the [n] numbers used in the answer text).

Requests accept unknown fields on purpose: OpenAI clients send many optional parameters
(`top_p`, `n`, `user`, ...) that do not apply to answers from documents.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from shared.models.chat import Citation

MODEL_ID = "docman-rag"


class ContentPart(msgspec.Struct, kw_only=True):
    type: str = "text"
    text: str = ""


class ChatMessageIn(msgspec.Struct, kw_only=True):
    role: str  # system | developer | user | assistant | tool
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.content or [] if p.type == "text")


class StreamOptions(msgspec.Struct, kw_only=True):
    include_usage: bool = False


class ChatCompletionRequest(msgspec.Struct, kw_only=True):
    messages: list[ChatMessageIn]
    model: str = MODEL_ID
    stream: bool = False
    stream_options: StreamOptions | None = None


class CompletionUsage(msgspec.Struct, kw_only=True):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ResponseMessage(msgspec.Struct, kw_only=True):
    content: str
    role: Literal["assistant"] = "assistant"
    refusal: None = None


class Choice(msgspec.Struct, kw_only=True):
    message: ResponseMessage
    index: int = 0
    finish_reason: str = "stop"
    logprobs: None = None


class ChatCompletion(msgspec.Struct, kw_only=True):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage
    citations: list[Citation] = []


class Delta(msgspec.Struct, kw_only=True, omit_defaults=True):
    role: str | None = None
    content: str | None = None


class ChunkChoice(msgspec.Struct, kw_only=True):
    delta: Delta
    index: int = 0
    finish_reason: str | None = None
    logprobs: None = None


class ChatCompletionChunk(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = None
    citations: list[Citation] | None = None  # on the last chunk: what the answer cites


class Model(msgspec.Struct, kw_only=True):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(msgspec.Struct, kw_only=True):
    object: Literal["list"]
    data: list[Model]


class ErrorDetail(msgspec.Struct, kw_only=True):
    message: str
    type: str
    code: str | None = None
    param: str | None = None


class ErrorResponse(msgspec.Struct, kw_only=True):
    error: ErrorDetail
