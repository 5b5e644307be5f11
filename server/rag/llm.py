"""The LLM client: OpenAI-compatible chat completions with our own retries, timeouts and metrics.

Retries (HTTP 429, 5xx, connection errors) happen only before the first token reaches the
caller, so streamed text is never duplicated: up to `cfg.max_retries`, with full-jitter
exponential backoff (base 0.5 s, cap 20 s) that never waits less than the provider's
`Retry-After`. The openai client's own retries are off so backoff, jitter and logging are ours.

Timeouts: `cfg.timeout` bounds each attempt up to its first token (connect, headers, first text)
and then every gap between tokens, so a hung stream is abandoned; an answer that keeps coming is
never cut off. A `complete()` attempt is bounded by `cfg.timeout` as a whole. Timeouts are not
retried: the caller has already waited a full timeout.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, TypeVar

import openai
from loguru import logger
from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from server.rag import llm_metrics as metrics
from server.rag.tokens import estimate_messages_tokens, estimate_tokens
from server.settings import LLMSettings

log = logger.bind(service="llm_service")

BACKOFF_BASE = 0.5
BACKOFF_CAP = 20.0
CHECK_CACHE_SECONDS = 10.0

T = TypeVar("T")
Messages = list[dict[str, str]]

# Requests go through `client.post`, as `chat.completions.create` sends them, minus its walk of
# every message through the SDK's type transform (which only copies our plain JSON dicts; 1.5-3 ms
# per packed prompt, before the first token).
_COMPLETIONS = "/chat/completions"
_OPTIONS: Any = {"security": {"bearer_auth": True}}


class LLMError(Exception):
    """A failed LLM call. `code`: llm_unavailable | llm_timeout | context_too_long | llm_auth |
    llm_bad_request; `retryable`: the condition is transient, asking again later may work."""

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code, self.message, self.retryable = code, message, retryable


@dataclass
class Usage:
    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False  # the provider reported none: counted with server.rag.tokens


class Generation:
    """One streamed answer: iterate it for text deltas; `usage` is set and `text` complete once it
    ends. Use `async with llm.stream(...) as gen` (or `aclose()`) when you may stop early;
    cancelling the consuming task also closes the HTTP stream at once."""

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self._parts: list[str] = []
        self._agen: AsyncGenerator[str, None] | None = None

    @property
    def text(self) -> str:
        """The text streamed so far."""
        return "".join(self._parts)

    def __aiter__(self) -> Generation:
        return self

    def tokens(self) -> Generation:
        return self

    async def __anext__(self) -> str:
        assert self._agen is not None
        return await self._agen.__anext__()

    async def aclose(self) -> None:
        if self._agen is not None:
            await self._agen.aclose()

    async def __aenter__(self) -> Generation:
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()


@dataclass(frozen=True)
class _Failure:
    kind: str  # one of metrics.ERROR_KINDS
    code: str  # the LLMError code
    detail: str
    retry: bool
    retry_after: float | None = None


def _detail(exc: openai.APIError) -> str:
    body = exc.body
    return str(body["message"]) if isinstance(body, Mapping) and isinstance(body.get("message"), str) else exc.message


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds asked for by `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    try:
        if ms := headers.get("retry-after-ms"):
            return max(0.0, float(ms) / 1000)
        if not (value := headers.get("retry-after")):
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = parsedate_to_datetime(value)
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def classify(exc: BaseException) -> _Failure:
    """Map an openai/asyncio exception onto an error kind, an `LLMError` code and a retry verdict."""
    if isinstance(exc, (TimeoutError, openai.APITimeoutError)):
        return _Failure("timeout", "llm_timeout", "the LLM did not answer in time", False)
    if isinstance(exc, openai.APIConnectionError):
        return _Failure("connection", "llm_unavailable", f"cannot reach the LLM service ({exc.__cause__ or exc})", True)
    if not isinstance(exc, openai.APIStatusError):  # e.g. an error event inside a stream
        return _Failure("server_error", "llm_unavailable", _detail(exc) if isinstance(exc, openai.APIError) else repr(exc), True)
    status, detail, low = exc.status_code, _detail(exc), _detail(exc).lower()
    after = retry_after_seconds(exc.response.headers)
    if status == 429:
        quota = exc.code == "insufficient_quota"  # billing, not pacing: waiting will not help
        return _Failure("rate_limited", "llm_unavailable", f"quota exhausted: {detail}" if quota else detail, not quota, after)
    if status >= 500:
        return _Failure("server_error", "llm_unavailable", f"HTTP {status}: {detail}", True, after)
    if status in (401, 403):
        return _Failure("auth", "llm_auth", f"the LLM service refused our credentials (HTTP {status}): {detail}", False)
    if exc.code == "context_length_exceeded" or "context length" in low or "maximum context" in low:
        return _Failure("context_too_long", "context_too_long", detail, False)
    return _Failure("bad_request", "llm_bad_request", f"HTTP {status}: {detail}", False)


class _Outcome:
    """Observes `llm_request_duration_seconds`, labelled with how the wrapped block ended."""

    def __init__(self) -> None:
        self.value, self.started = "cancelled", time.monotonic()

    def __enter__(self) -> _Outcome:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        if isinstance(e, LLMError):
            self.value = e.code
        elif e is not None and not isinstance(e, (asyncio.CancelledError, GeneratorExit)):
            self.value = "error"
        metrics.REQUEST_DURATION.labels(self.value).observe(time.monotonic() - self.started)


def _delta(chunk: Any) -> str:
    delta = chunk.choices[0].delta if chunk.choices else None
    return (delta.content or "") if delta is not None else ""


def _usage(messages: Messages, text: str, reported: Any) -> Usage:
    if reported is not None and reported.prompt_tokens is not None:
        usage = Usage(reported.prompt_tokens, reported.completion_tokens or 0)
    else:
        usage = Usage(estimate_messages_tokens(messages), estimate_tokens(text), estimated=True)
    metrics.TOKENS.labels("prompt").inc(usage.prompt_tokens)
    metrics.TOKENS.labels("completion").inc(usage.completion_tokens)
    return usage


class LLMClient:
    """Chat completions against one OpenAI-compatible endpoint; one per process, shared."""

    def __init__(
        self,
        cfg: LLMSettings,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cfg, self._sleep, self._rng, self._clock = cfg, sleep, rng, clock
        self._client: AsyncOpenAI | None = None
        if cfg.configured:
            key = cfg.api_key or "not-needed"
            self._client = AsyncOpenAI(base_url=cfg.base_url, api_key=key, timeout=cfg.timeout, max_retries=0)
        self._check_lock = asyncio.Lock()
        self._check_cache: tuple[float, tuple[str, str]] | None = None

    def stream(self, messages: Messages, *, max_tokens: int | None = None) -> Generation:
        """A streamed answer; nothing is sent until it is first iterated."""
        gen = Generation()
        gen._agen = self._stream(gen, messages, max_tokens)
        return gen

    async def _stream(self, gen: Generation, messages: Messages, max_tokens: int | None) -> AsyncGenerator[str, None]:
        client = self._require()
        stream: Any = None
        with _Outcome() as outcome:
            try:
                stream, piece, reported = await self._retrying(lambda: self._open(client, messages, max_tokens))
                if piece is not None:
                    metrics.TIME_TO_FIRST_TOKEN.observe(time.monotonic() - outcome.started)
                while piece is not None:
                    if piece:
                        gen._parts.append(piece)
                        yield piece
                    if (chunk := await self._next_chunk(stream)) is None:
                        break
                    reported, piece = chunk.usage or reported, _delta(chunk)
                gen.usage = _usage(messages, gen.text, reported)
                outcome.value = "ok"
            finally:
                if stream is not None:
                    await stream.close()  # stops the provider generating for nobody
                if gen.usage is None and gen._parts:  # ended early: count what was generated
                    gen.usage = _usage(messages, gen.text, None)

    async def _open(self, client: AsyncOpenAI, messages: Messages, max_tokens: int | None) -> tuple[Any, str | None, Any]:
        """One attempt: send, then read up to the first text, within `cfg.timeout`. Returns the
        open stream, the first text (None: the answer ended without any) and any usage seen."""
        stream: Any = None
        reported = None
        try:
            async with asyncio.timeout(self._cfg.timeout):
                params = {**self._params(messages, max_tokens), "stream": True, "stream_options": {"include_usage": True}}
                stream = await client.post(_COMPLETIONS, body=params, options=_OPTIONS, cast_to=ChatCompletion,
                                           stream=True, stream_cls=AsyncStream[ChatCompletionChunk])
                while (chunk := await anext(stream, None)) is not None:
                    reported = chunk.usage or reported
                    if piece := _delta(chunk):
                        return stream, piece, reported
                return stream, None, reported
        except BaseException:
            if stream is not None:
                await stream.close()
            raise

    async def _next_chunk(self, stream: Any) -> Any:
        """The next chunk (None at the end) within the idle timeout; text has gone out, so no retry."""
        try:
            async with asyncio.timeout(self._cfg.timeout):
                return await anext(stream, None)
        except (TimeoutError, openai.APIError) as exc:
            failure = classify(exc)
            metrics.ERRORS.labels(failure.kind).inc()
            detail = f"no token for {self._cfg.timeout:g} s" if failure.kind == "timeout" else failure.detail
            log.warning("LLM stream broke off after the first token: {}", detail)
            raise LLMError(failure.code, f"the LLM stream broke off: {detail}", retryable=True) from exc

    async def complete(self, messages: Messages, *, max_tokens: int | None = None) -> tuple[str, Usage]:
        """The whole answer at once, with its usage."""
        client = self._require()

        async def once() -> Any:
            async with asyncio.timeout(self._cfg.timeout):
                return await client.post(_COMPLETIONS, body=self._params(messages, max_tokens), options=_OPTIONS,
                                         cast_to=ChatCompletion)

        with _Outcome() as outcome:
            response = await self._retrying(once)
            text = (response.choices[0].message.content or "") if response.choices else ""
            usage = _usage(messages, text, response.usage)
            outcome.value = "ok"
            return text, usage

    def _params(self, messages: Messages, max_tokens: int | None) -> dict[str, Any]:
        cfg = self._cfg
        return {"model": cfg.model, "messages": messages, "max_tokens": max_tokens or cfg.max_tokens, "temperature": cfg.temperature}

    def _require(self) -> AsyncOpenAI:
        if self._client is None:
            raise LLMError("llm_unavailable", "no LLM is configured (DOCMAN_LLM_BASE_URL is unset)")
        return self._client

    async def _retrying(self, attempt_once: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await attempt_once()
            except (TimeoutError, openai.APIError) as exc:
                failure = classify(exc)
                metrics.ERRORS.labels(failure.kind).inc()
                delay = self._delay(attempt, failure)
                if delay is None:
                    raise self._give_up(attempt, failure) from exc
            metrics.RETRIES.inc()
            await self._sleep(delay)

    def _too_long_to_wait(self, failure: _Failure) -> bool:
        return failure.retry_after is not None and failure.retry_after > max(BACKOFF_CAP, self._cfg.timeout)

    def _delay(self, attempt: int, failure: _Failure) -> float | None:
        """Seconds before the next attempt (logged), or None to give up."""
        if not failure.retry or attempt > self._cfg.max_retries or self._too_long_to_wait(failure):
            return None
        delay = max(self._rng() * min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)), failure.retry_after or 0.0)
        what = {"rate_limited": "LLM rate limit hit", "server_error": "LLM server error"}.get(failure.kind, "LLM connection failed")
        log.warning("{} ({}); retry {}/{} in {:.2f} s", what, failure.detail, attempt, self._cfg.max_retries, delay)
        return delay

    def _give_up(self, attempts: int, failure: _Failure) -> LLMError:
        tries = f"{attempts} attempt{'s' if attempts > 1 else ''}"
        if failure.kind == "rate_limited":
            message = f"LLM rate limit exceeded after {tries}"
            if self._too_long_to_wait(failure):
                message += f" (the provider asks to wait {failure.retry_after:.0f} s)"
            log.error("{}: {}", message, failure.detail)
            return LLMError(failure.code, message, retryable=failure.retry)
        if failure.retry:
            message = f"LLM service unavailable after {tries}: {failure.detail}"
            log.error("{}", message)
            return LLMError(failure.code, message, retryable=True)
        (log.warning if failure.kind in ("timeout", "context_too_long") else log.error)("LLM request failed: {}", failure.detail)
        return LLMError(failure.code, failure.detail, retryable=failure.kind == "timeout")

    async def check(self) -> tuple[str, str]:
        """(status, detail) of the endpoint from `GET /models`; cached 10 s; never raises."""
        if self._client is None:
            return "not_configured", "no LLM configured (DOCMAN_LLM_BASE_URL is unset): answers are extractive"
        async with self._check_lock:  # concurrent health polls share one probe
            cached = self._check_cache
            if cached is None or self._clock() - cached[0] >= CHECK_CACHE_SECONDS:
                cached = self._check_cache = (self._clock(), await self._probe(self._client))
            return cached[1]

    async def _probe(self, client: AsyncOpenAI) -> tuple[str, str]:
        timeout = self._cfg.check_timeout
        try:
            async with asyncio.timeout(timeout):
                page = await client.models.list(timeout=timeout)
        except (TimeoutError, openai.APITimeoutError):
            return "timeout", f"{self._cfg.base_url} did not answer within {timeout:g} s"
        except openai.APIStatusError as exc:
            status = {401: "auth_failed", 403: "auth_failed", 429: "rate_limited"}.get(exc.status_code, "error")
            return status, f"HTTP {exc.status_code}: {_detail(exc)}"
        except openai.APIConnectionError as exc:
            return "error", f"cannot reach {self._cfg.base_url}: {exc.__cause__ or exc}"
        except Exception as exc:  # a health check never raises
            return "error", f"{type(exc).__name__}: {exc}"
        ids = [model.id for model in page.data]
        if ids and self._cfg.model not in ids:
            return "ok", f"endpoint up, but model {self._cfg.model} is not among its {len(ids)} listed models"
        return "ok", f"model {self._cfg.model} available"

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
