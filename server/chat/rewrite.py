"""Follow-up rewriting: turn "what about its energy?" into a standalone query before retrieval.

With an LLM: one short call (prompt `prompts/rewrite.md`, at most REWRITE_MAX_TOKENS, bounded by
REWRITE_TIMEOUT including retries), falling back to the heuristic when it fails or answers
something unusable. Without one: the heuristic — a short question, or one holding a pronoun or
deictic word, gets the key terms of the previous question (its standalone form) put in front.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass

from loguru import logger

from server.chat import templates
from server.chat.citations import strip_markers
from server.chat.packing import safety_margin
from server.chat.text import DEICTIC, key_terms, words
from server.rag.llm import LLMError
from server.rag.tokens import estimate_messages_tokens
from server.runtime import Runtime

SHORT_QUESTION_WORDS = 4
PREVIOUS_TERMS = 8
REWRITE_MAX_TOKENS = 64
REWRITE_TIMEOUT = 8.0  # seconds, retries included; never more than DOCMAN_LLM_TIMEOUT
HISTORY_MESSAGES = 6
HISTORY_CHARS = 400  # per message in the rewrite prompt

log = logger.bind(service="chat")


@dataclass(frozen=True)
class Turn:
    """One earlier message; `query` is the standalone form searched for a user question."""

    role: str  # user | assistant
    content: str
    query: str | None = None


def needs_context(question: str) -> bool:
    ws = words(question)
    return len(ws) <= SHORT_QUESTION_WORDS or any(w in DEICTIC for w in ws)


def previous_question(history: Sequence[Turn]) -> str | None:
    for turn in reversed(history):
        if turn.role == "user":
            return turn.query or turn.content
    return None


def heuristic(question: str, previous: str | None) -> str:
    """`question` with the previous question's key terms in front when it looks like a follow-up."""
    if not previous or not needs_context(question):
        return question
    own = set(words(question))
    terms = [t for t in key_terms(previous, limit=PREVIOUS_TERMS) if t not in own]
    return f"{' '.join(terms)} {question}" if terms else question


def _history_text(history: Sequence[Turn]) -> list[str]:
    out = []
    for turn in history[-HISTORY_MESSAGES:]:
        text = " ".join(strip_markers(turn.content).split())
        if len(text) > HISTORY_CHARS:
            text = text[:HISTORY_CHARS].rsplit(" ", 1)[0] + " …"
        out.append(f"{'User' if turn.role == 'user' else 'Assistant'}: {text}")
    return out


def _prompt(history: Sequence[Turn], question: str, window: int) -> list[dict[str, str]] | None:
    """The rewrite prompt, oldest turns dropped until it fits the window (None: it never fits)."""
    lines = _history_text(history)
    template = templates.load("rewrite")
    while lines:
        messages = template.render(history="\n".join(lines), question=question)
        if estimate_messages_tokens(messages) + REWRITE_MAX_TOKENS + safety_margin(window) <= window:
            return messages
        lines.pop(0)
    return None


_PREFIX = re.compile(r"^(standalone question|rewritten question|question)\s*:\s*", re.IGNORECASE)


def _clean(text: str) -> str:
    line = next((ln.strip() for ln in text.strip().splitlines() if ln.strip()), "")
    return _PREFIX.sub("", line).strip().strip('"“”').strip()


async def standalone(rt: Runtime, question: str, history: Sequence[Turn]) -> str:
    """The query to search for `question` asked after `history` (unchanged without history)."""
    previous = previous_question(history)
    if previous is None:
        return question
    if rt.llm is None:
        return heuristic(question, previous)
    cfg = rt.settings.llm
    messages = _prompt(history, question, cfg.context_window)
    if messages is not None:
        try:
            async with asyncio.timeout(min(REWRITE_TIMEOUT, cfg.timeout)):
                text, _ = await rt.llm.complete(messages, max_tokens=REWRITE_MAX_TOKENS)
            rewritten = _clean(text)
            if rewritten and len(rewritten) <= max(300, 3 * len(question)):
                return rewritten
            log.warning("the LLM's follow-up rewrite was unusable ({!r}); using the heuristic", text[:80])
        except (LLMError, TimeoutError) as exc:
            log.warning("follow-up rewriting by the LLM failed ({}); using the heuristic", str(exc) or "timed out")
    return heuristic(question, previous)
