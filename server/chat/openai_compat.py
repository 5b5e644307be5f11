"""The OpenAI-compatible chat service: the last user message is the question, earlier user and
assistant messages its history (client `system` messages are ignored: our prompt governs),
answered over every document the caller may read by the same pipeline as conversations.
Nothing is stored. The answer text carries [n] markers; `citations` says what they point at."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator

import msgspec

from server.auth.caller import Caller
from server.chat import citations, pipeline
from server.chat.aio import closing
from server.chat.rewrite import Turn
from server.errors import BadRequest
from server.rag.tokens import estimate_tokens
from server.runtime import Runtime
from shared.models.chat import Done, Failed, Token
from shared.models.openai_compat import (
    MODEL_ID,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    CompletionUsage,
    Delta,
    ErrorDetail,
    ErrorResponse,
    Model,
    ModelList,
    ResponseMessage,
)

_ENCODER = msgspec.json.Encoder()
_STARTED = int(time.time())


def models() -> ModelList:
    return ModelList(object="list", data=[Model(id=MODEL_ID, object="model", created=_STARTED, owned_by="docman")])


def question_of(body: ChatCompletionRequest) -> pipeline.Question:
    turns = [Turn(m.role, m.text()) for m in body.messages if m.role in ("user", "assistant")]
    last = max((i for i, t in enumerate(turns) if t.role == "user" and t.content.strip()), default=None)
    if last is None:
        raise BadRequest("The messages hold no user message to answer.", code="no_user_message")
    if len(turns[last].content) > 8000:
        raise BadRequest("The last user message is longer than 8000 characters.", code="question_too_long")
    return pipeline.Question(text=turns[last].content.strip(), history=turns[:last])


def _usage(result: pipeline.Result) -> CompletionUsage:
    prompt, completion = result.usage.prompt_tokens, result.usage.completion_tokens
    if result.mode == "extractive" or not completion:
        completion = estimate_tokens(result.text)
    return CompletionUsage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


async def complete(rt: Runtime, caller: Caller, body: ChatCompletionRequest) -> ChatCompletion:
    result = pipeline.Result(mode=pipeline.mode_of(rt))
    async with closing(pipeline.answer(rt, caller, question_of(body), result)) as events:
        async for _ in events:
            pass
    if result.outcome != "ok":
        raise pipeline.error_for(result)
    return ChatCompletion(
        id=f"chatcmpl-{uuid.uuid4().hex}", object="chat.completion", created=int(time.time()), model=body.model,
        choices=[Choice(message=ResponseMessage(content=result.text))], usage=_usage(result),
        citations=citations.cited(result.sources, result.cited),
    )


def _data(obj: msgspec.Struct) -> bytes:
    return b"data: " + _ENCODER.encode(obj) + b"\n\n"


def chunks(rt: Runtime, caller: Caller, body: ChatCompletionRequest) -> AsyncGenerator[bytes, None]:
    """OpenAI's SSE stream: `data: <chunk>` lines, then `data: [DONE]`; a failure is a `data:
    {"error": ...}` line (what OpenAI's clients raise as an APIError) and the end of the stream."""
    question = question_of(body)  # a bad request fails before the stream starts
    result = pipeline.Result(mode=pipeline.mode_of(rt))
    chunk_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def chunk(delta: Delta, finish: str | None = None, **extra: object) -> bytes:
        return _data(ChatCompletionChunk(id=chunk_id, object="chat.completion.chunk", created=created, model=body.model,
                                         choices=[ChunkChoice(delta=delta, finish_reason=finish)], **extra))  # type: ignore[arg-type]

    async def stream() -> AsyncGenerator[bytes, None]:
        yield chunk(Delta(role="assistant", content=""))
        async with closing(pipeline.answer(rt, caller, question, result)) as events:
            async for event in events:
                if isinstance(event, Token):
                    yield chunk(Delta(content=event.text))
                elif isinstance(event, Done):
                    yield chunk(Delta(), "stop", citations=citations.cited(result.sources, result.cited))
                    if body.stream_options is not None and body.stream_options.include_usage:
                        yield _data(ChatCompletionChunk(id=chunk_id, object="chat.completion.chunk", created=created,
                                                        model=body.model, choices=[], usage=_usage(result)))
                    yield b"data: [DONE]\n\n"
                elif isinstance(event, Failed):
                    error = pipeline.error_for(result)
                    yield _data(ErrorResponse(error=ErrorDetail(message=event.message, type=error_type(error.status_code),
                                                                code=event.code)))

    return stream()


def error_type(status: int) -> str:
    """OpenAI's error `type` for an HTTP status."""
    return {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error",
            422: "invalid_request_error", 429: "rate_limit_error"}.get(status, "server_error" if status >= 500 else "invalid_request_error")
