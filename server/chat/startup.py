"""The chat feature's startup step: load and check the prompt templates once, so a broken
template stops the startup with a clear error instead of failing the first question."""

from __future__ import annotations

from loguru import logger

from server.chat import templates
from server.runtime import Runtime

TEMPLATES = ("answer", "rewrite")


async def start_chat(rt: Runtime) -> None:
    for name in TEMPLATES:
        templates.load(name)
    mode = "LLM answers" if rt.llm is not None else "extractive answers (no LLM configured)"
    logger.info("chat ready: {}; context window {} tokens", mode, rt.settings.llm.context_window)
