"""Waiting in pilot tests, and the apps wired to a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from tui.client import DocmanClient
from tui.credentials import CredentialStore


async def until(pilot: Pilot[Any], predicate: Callable[[], object], timeout: float = 60.0, what: str = "") -> None:
    """Let the app run until `predicate()` is true (fails the test after `timeout` seconds)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached within {timeout}s: {what}")
        await pilot.pause(0.1)


def connector(store: CredentialStore | None) -> Callable[[str], DocmanClient]:
    def connect(url: str) -> DocmanClient:
        return DocmanClient(url, store=store)

    return connect


def text_of(widget: Any) -> str:
    return str(widget.render())
