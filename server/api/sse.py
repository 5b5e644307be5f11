"""Server-Sent Events responses over async generators that always end.

The generator is also closed by a background task once the response is over: Litestar cancels
the sending task when the client disconnects, and a generator caught between two events would
otherwise stay open (and keep its LLM stream open) until garbage collection.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from litestar.background_tasks import BackgroundTask
from litestar.response import Stream

from server.chat.aio import closing
from shared.models.chat import CHAT_EVENT_ENCODER, ChatEvent

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse_response(body: AsyncGenerator[bytes, None]) -> Stream:
    async def close() -> None:  # a coroutine function: Litestar would run a bare `body.aclose` in a thread
        await body.aclose()

    return Stream(body, media_type="text/event-stream", headers=SSE_HEADERS, background=BackgroundTask(close))


def encode_chat_event(event: ChatEvent) -> bytes:
    tag = type(event).__struct_config__.tag
    return b"event: " + str(tag).encode() + b"\ndata: " + CHAT_EVENT_ENCODER.encode(event) + b"\n\n"


def chat_event_stream(events: AsyncGenerator[ChatEvent, None]) -> Stream:
    """`event: <type>` / `data: <ChatEvent JSON>` pairs; the stream ends after `done` or `failed`."""

    async def body() -> AsyncGenerator[bytes, None]:
        async with closing(events) as stream:
            async for event in stream:
                yield encode_chat_event(event)

    return sse_response(body())
