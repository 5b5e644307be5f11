"""The answer pipeline shared by conversations and the OpenAI-compatible endpoint:

    rewrite a follow-up -> retrieve (what the caller may read) -> page-precise sources
    -> LLM: pack within the window, stream the answer | no LLM: extractive answer

`answer()` yields ChatEvents: `sources` first, then `token`s, then `done`, or `failed` at any point.
It stores nothing: the caller reads `Result` (filled in as it goes) to persist what happened.
When the consumer stops early (client gone), the LLM stream is closed at once, shielded from the
cancellation that stopped it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import anyio
from loguru import logger

from server.auth.caller import Caller
from server.chat import citations, extractive, packing, rewrite, templates
from server.chat import metrics as m
from server.chat import sources as sources_mod
from server.chat.rewrite import Turn
from server.chat.sources import Source
from server.errors import AppError
from server.rag import retrieve
from server.rag.llm import LLMError
from server.runtime import Runtime
from shared.models.chat import ChatEvent, Done, Failed, Sources, Token, Usage

NO_SOURCES = "The documents don't contain an answer to this question: the search found no passage to answer from."

log = logger.bind(service="chat")


@dataclass
class Question:
    text: str
    history: list[Turn] = field(default_factory=list)
    document_ids: list[str] | None = None  # None: every document the caller may read
    top_k: int = 6
    vector: retrieve.QueryVector | None = None  # an embedding begun early; used if it is of the query


@dataclass
class Result:
    mode: str  # llm | extractive
    query: str = ""
    pieces: list[str] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)  # numbered [1..n]
    cited: list[int] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    error: AppError | LLMError | None = None
    outcome: str = "cancelled"  # until it ends otherwise
    latency_ms: float | None = None
    ttft_ms: float | None = None

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def error_code(self) -> str | None:
        return None if self.outcome == "ok" else self.outcome


def mode_of(rt: Runtime) -> str:
    return "llm" if rt.llm is not None else "extractive"


# HTTP statuses of LLM failures, for the non-streaming variants.
LLM_STATUS = {"llm_unavailable": 503, "llm_timeout": 504, "context_too_long": 422, "llm_auth": 502,
              "llm_bad_request": 502}


def error_for(result: Result) -> AppError:
    """The failure of a finished `answer()` as an AppError (the streaming variant sent `failed`)."""
    exc = result.error
    if isinstance(exc, AppError):
        return exc
    if isinstance(exc, LLMError):
        return AppError(exc.message, code=exc.code, status_code=LLM_STATUS.get(exc.code, 502))
    return AppError("The answer was not completed.", code=result.outcome, status_code=500)


def _history(turns: list[Turn]) -> list[dict[str, str]]:
    return [{"role": t.role, "content": citations.strip_markers(t.content)} for t in turns if t.content.strip()]


class _Clock:
    def __init__(self, result: Result) -> None:
        self.result, self.started = result, time.monotonic()

    def ms(self) -> float:
        return round((time.monotonic() - self.started) * 1000, 1)

    def token(self, piece: str) -> Token:
        if self.result.ttft_ms is None:
            self.result.ttft_ms = self.ms()
            m.TIME_TO_FIRST_TOKEN.labels(self.result.mode).observe(self.result.ttft_ms / 1000)
        self.result.pieces.append(piece)
        return Token(text=piece)


async def answer(rt: Runtime, caller: Caller, question: Question, result: Result) -> AsyncIterator[ChatEvent]:
    clock = _Clock(result)
    try:
        result.query = await rewrite.standalone(rt, question.text, question.history)
        hits = await retrieve.search(rt, caller, result.query, top_k=question.top_k,
                                     document_ids=question.document_ids, with_text=True, vector=question.vector)
        found = await sources_mod.build(rt, hits, result.query)
        if result.mode == "extractive":
            extract = extractive.build(result.query, found, question.text)
            result.sources = found
            yield Sources(query=result.query, citations=citations.numbered(found))
            for piece in extract.pieces:
                yield clock.token(piece)
            result.cited = extract.cited
        elif not found:
            yield Sources(query=result.query, citations=[])
            yield clock.token(NO_SOURCES)
        else:
            cfg = rt.settings.llm
            packed = packing.pack(templates.load("answer"), question.text, _history(question.history), found,
                                  window=cfg.context_window, max_tokens=cfg.max_tokens)
            result.sources = packed.sources
            yield Sources(query=result.query, citations=citations.numbered(packed.sources))
            gen = rt.llm.stream(packed.messages, max_tokens=cfg.max_tokens)
            try:
                async for piece in gen:
                    yield clock.token(piece)
            finally:
                with anyio.CancelScope(shield=True):
                    await gen.aclose()  # the client may be gone: stop the provider generating
                if gen.usage is not None:  # also for an answer cut short: what was generated
                    result.usage = Usage(prompt_tokens=gen.usage.prompt_tokens,
                                         completion_tokens=gen.usage.completion_tokens, estimated=gen.usage.estimated)
            result.cited = citations.cited_numbers(result.text, len(packed.sources))
        result.outcome, result.latency_ms = "ok", clock.ms()
        yield Done(mode=result.mode, usage=result.usage, cited=result.cited,  # type: ignore[arg-type]
                   latency_ms=result.latency_ms, time_to_first_token_ms=result.ttft_ms)
    except (AppError, LLMError) as exc:
        result.error, result.outcome, result.latency_ms = exc, exc.code, clock.ms()
        yield Failed(code=exc.code, message=exc.message)
    except Exception as exc:  # never a broken stream without an explanation
        log.opt(exception=exc).error("answering failed: {}", exc)
        result.error = AppError("An unexpected error occurred while answering.", code="internal_error", status_code=500)
        result.outcome, result.latency_ms = "internal_error", clock.ms()
        yield Failed(code="internal_error", message=result.error.message)
    finally:
        if result.outcome == "cancelled":
            result.latency_ms = clock.ms()
        m.REQUESTS.labels(result.mode, m.outcome_label(result.outcome)).inc()
        log.info("{} answer {} in {:.0f} ms (first token {}): {} sources, cited {}, tokens {}+{}", result.mode,
                 result.outcome, result.latency_ms or 0, f"{result.ttft_ms:.0f} ms" if result.ttft_ms else "never",
                 len(result.sources), result.cited, result.usage.prompt_tokens, result.usage.completion_tokens)
