"""Context packing: the prompt never exceeds the model's window (guide 3.4, "Token Limit Exceeded").

    room = DOCMAN_LLM_CONTEXT_WINDOW - max_tokens - safety margin
           - tokens of the instructions, the question and the template around the sources

Sources go in rank order and are numbered [1..n] as packed; one that does not fit is cut at a
sentence boundary, or dropped when not even its first sentence fits. Earlier conversation turns
get up to HISTORY_SHARE of the room up front, plus whatever the sources leave, trimmed oldest
first. Counts are `server.rag.tokens.estimate_tokens` estimates, deliberately high, and they add
up (an estimate of a whole is never above the sum of its parts' estimates).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server.chat.sources import Source
from server.chat.templates import Template
from server.errors import Unprocessable
from server.rag.tokens import MESSAGE_OVERHEAD, estimate_messages_tokens, estimate_tokens

MIN_MARGIN = 64
HISTORY_SHARE = 0.3
MIN_SOURCE_TOKENS = 24  # a cut source shorter than this is dropped instead
SEPARATOR_TOKENS = 1  # the blank line between two sources


def safety_margin(window: int) -> int:
    """Tokens kept free for the provider's own framing and for estimation error."""
    return max(MIN_MARGIN, window // 32)


@dataclass
class Packed:
    messages: list[dict[str, str]]
    sources: list[Source]  # [1] is sources[0]
    history_messages: int  # earlier turns kept
    prompt_tokens: int  # estimated


def format_source(n: int, source: Source) -> str:
    pages = (f"page {source.page_start}" if source.page_start == source.page_end
             else f"pages {source.page_start}-{source.page_end}")
    return f"[{n}] {source.hit.title} ({pages})\n{source.text}"


def _cost(n: int, source: Source) -> int:
    return estimate_tokens(format_source(n, source)) + SEPARATOR_TOKENS


def _cut(n: int, source: Source, room: int) -> Source | None:
    """The longest run of `source`'s leading sentences that fits in `room` (None: too little)."""
    kept: list[str] = []
    for sentence in source.sentences:
        trial = Source(source.hit, source.page_start, source.page_end, [*kept, sentence], whole_chunk=False)
        if _cost(n, trial) > room:
            break
        kept.append(sentence)
    cut = Source(source.hit, source.page_start, source.page_end, kept, whole_chunk=False)
    return cut if kept and _cost(n, cut) >= MIN_SOURCE_TOKENS else None


def _turn_tokens(turn: dict[str, str]) -> int:
    return MESSAGE_OVERHEAD + estimate_tokens(turn["content"])


def trim_history(history: Sequence[dict[str, str]], budget: int) -> list[dict[str, str]]:
    """The most recent turns whose tokens fit in `budget`, starting with a user turn."""
    kept: list[dict[str, str]] = []
    used = 0
    for turn in reversed(history):
        cost = _turn_tokens(turn)
        if used + cost > budget:
            break
        kept.insert(0, turn)
        used += cost
    while kept and kept[0]["role"] != "user":
        kept.pop(0)
    return kept


def too_long(message: str) -> Unprocessable:
    return Unprocessable(message, code="context_too_long")


def pack(template: Template, question: str, history: Sequence[dict[str, str]], sources: Sequence[Source], *,
         window: int, max_tokens: int) -> Packed:
    """The messages to send: instructions, trimmed history, then the question with its sources."""
    base = template.render(sources="", question=question)
    room = window - max_tokens - safety_margin(window) - estimate_messages_tokens(base)
    if room <= 0:
        raise too_long(f"The question does not fit in the model's context window of {window} tokens "
                       f"(DOCMAN_LLM_CONTEXT_WINDOW) with {max_tokens} tokens kept for the answer; shorten it.")
    reserved = min(sum(_turn_tokens(t) for t in history), int(room * HISTORY_SHARE))
    left = room - reserved
    chosen: list[Source] = []
    for source in sources:
        n = len(chosen) + 1
        cost = _cost(n, source)
        fitting = source if cost <= left else _cut(n, source, left)
        if fitting is not None:
            chosen.append(fitting)
            left -= cost if fitting is source else _cost(n, fitting)
    if sources and not chosen:
        raise too_long(f"The model's context window of {window} tokens (DOCMAN_LLM_CONTEXT_WINDOW) leaves no room "
                       "for any source next to the question and the answer; raise it or ask a shorter question.")
    kept = trim_history(history, left + reserved)
    while True:
        block = "\n\n".join(format_source(i, s) for i, s in enumerate(chosen, start=1))
        rendered = template.render(sources=block or "(no sources were found)", question=question)
        messages = [*rendered[:-1], *kept, rendered[-1]]
        tokens = estimate_messages_tokens(messages)
        if tokens + max_tokens + safety_margin(window) <= window or not (chosen or kept):
            return Packed(messages, chosen, len(kept), tokens)
        if kept:  # defensive: the sums above are upper bounds, so this should not happen
            kept.pop(0)
        else:
            chosen.pop()
