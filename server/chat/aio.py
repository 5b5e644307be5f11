"""Closing async generators promptly, even while the task is being cancelled."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio

T = TypeVar("T")


@asynccontextmanager
async def closing(agen: AsyncGenerator[T, None]) -> AsyncIterator[AsyncGenerator[T, None]]:
    """Like `contextlib.aclosing`, but the close runs shielded: when a client disconnect cancels
    the consumer, the generator's cleanup (closing an LLM stream, storing what was said) still runs."""
    try:
        yield agen
    finally:
        with anyio.CancelScope(shield=True):
            await agen.aclose()
